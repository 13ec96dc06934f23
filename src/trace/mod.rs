//! Go execution traces (Go 1.22–1.27 generation format), standing alone beside
//! the core layers: header, batches, generations, per-generation string and
//! stack tables, every event type with its exact argument list, and a
//! per-goroutine summary (start function, creation, states, time per state,
//! last stack) accounted as events stream, without sorting them.

mod account;
mod model;
mod v1;
mod v2;
mod wire;

pub use account::TIMELINE_KEPT;
pub use model::{CreatedBy, GoState, StateSpan, TraceEvent, TraceFrame, TraceGoroutine, TraceStack, TraceSummary};
pub use v2::{read, read_releasing, read_watching, read_watching_keeping};

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The header is not a Go trace header.
    #[error("not a Go execution trace (header {0:?})")]
    NotATrace(String),
    /// A trace version this reader does not know.
    #[error("unsupported trace version go 1.{0} (supported: go 1.21, 1.22, 1.23, 1.25, 1.26)")]
    Unsupported(u32),
    /// The bytes do not follow the format.
    #[error("malformed trace at byte {offset}: {what}")]
    Malformed {
        /// File offset.
        offset: usize,
        /// What is wrong.
        what: String,
    },
}

/// Parses the 16-byte header `go 1.N trace\0\0\0`; returns N.
pub fn header_version(b: &[u8]) -> Result<u32, TraceError> {
    let h = b.get(..16).ok_or_else(|| TraceError::NotATrace(String::from_utf8_lossy(b).into_owned()))?;
    let text = String::from_utf8_lossy(h);
    let minor = text
        .strip_prefix("go 1.")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|_| text.trim_end_matches('\0').ends_with(" trace"));
    minor.ok_or_else(|| TraceError::NotATrace(text.trim_end_matches('\0').to_string()))
}
