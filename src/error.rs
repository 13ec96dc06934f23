//! The library's error type: one line naming the file and what is wrong.

use crate::memory::MemError;
use std::path::PathBuf;

/// Errors that stop an analysis as a whole. Problems with single goroutines or
/// frames are not errors: they travel as reasons in partial results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{}: {}", path.display(), io_with_hint(source))]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not an ELF core dump we can read.
    #[error("{}: not a usable core file: {reason}", path.display())]
    NotACore {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file is not a Go executable we can read.
    #[error("{}: not a usable Go executable: {reason}", path.display())]
    BadExecutable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The core was not written by a process of this executable.
    #[error("{}: core does not belong to executable {}: {reason} (pass --force to analyze anyway)", core.display(), exe.display())]
    Mismatch {
        /// The core.
        core: PathBuf,
        /// The executable.
        exe: PathBuf,
        /// The evidence.
        reason: String,
    },
    /// The core and the executable are of different machines (not even `--force` reads that).
    #[error("{}: the core is linux/{core_arch} but executable {} is linux/{exe_arch}: pass the executable the crashed program ran (--exe)", core.display(), exe.display())]
    ArchMismatch {
        /// The core.
        core: PathBuf,
        /// The executable.
        exe: PathBuf,
        /// The core's `GOARCH`.
        core_arch: &'static str,
        /// The executable's `GOARCH`.
        exe_arch: &'static str,
    },
    /// No executable was given and none recorded in the core could be used.
    #[error("{}: no executable given (--exe) and {reason}", core.display())]
    NoExecutable {
        /// The core.
        core: PathBuf,
        /// Why the recorded path could not be used.
        reason: String,
    },
    /// Runtime state needed for the analysis could not be read.
    #[error("{}: {what}", path.display())]
    Runtime {
        /// The core (or executable) the state was expected in.
        path: PathBuf,
        /// What is missing or unreadable.
        what: String,
    },
    /// A read of target memory failed where it had to succeed.
    #[error("{0}")]
    Memory(#[from] MemError),
}

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An I/O error with what to do about it, where that is clear.
fn io_with_hint(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => format!("{e}: check the path"),
        ErrorKind::PermissionDenied => {
            format!("{e}: read it as its owner or with sudo (cores are often root's, mode 0600)")
        }
        ErrorKind::IsADirectory => {
            format!("{e}: name a file inside it, or triage every core and crash log in it with `gotopsy scan DIR`")
        }
        _ => e.to_string(),
    }
}
