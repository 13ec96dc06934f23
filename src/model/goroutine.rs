//! Goroutines and frames as the analysis owns them: no borrow of the core or
//! the executable, names interned (`Arc<str>`), the JSON report's shape.

use crate::addr::Addr;
use crate::intern::Interner;
pub use crate::runtime::goroutines::CreatedBy;
use crate::runtime::goroutines::{self as rt, UnwindSource};
pub use crate::runtime::symbolize::Frame;
use std::sync::Arc;

/// A goroutine of the dead process.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Goroutine {
    /// `g.goid`.
    pub id: u64,
    /// Status without suffixes (`chan receive`, `running`, `select (no cases)`).
    #[serde(deserialize_with = "crate::intern::de")]
    pub status: Arc<str>,
    /// Wait reason for waiting goroutines.
    #[serde(deserialize_with = "crate::intern::de_opt")]
    pub wait_reason: Option<Arc<str>>,
    /// Estimated minutes waited (against the report's `clock_ns`).
    pub wait_minutes: Option<i64>,
    /// Locked to its OS thread.
    pub locked_to_thread: bool,
    /// Where it was created.
    pub created_by: Option<CreatedBy>,
    /// Address of the `g`.
    pub address: Addr,
    /// The `_Gscan` bit.
    pub scan: bool,
    /// M id, if on an M.
    pub m: Option<i64>,
    /// OS thread id, for running (or syscall) goroutines.
    pub thread: Option<u64>,
    /// Where unwinding started.
    pub unwound_from: UnwindSource,
    /// Why the stack is incomplete, if it is.
    pub stack_error: Option<String>,
    /// Remarks.
    pub notes: Vec<String>,
    /// Address of its M (`mp=` in the runtime's header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mp: Option<Addr>,
    /// A leaked goroutine (Go 1.26+'s `_Gleaked`): the runtime prints `(leaked)`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub leaked: bool,
    /// Synctest bubble id (Go 1.25+), if in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bubble: Option<u64>,
    /// All frames, innermost first, never elided (written by the report's
    /// own frame writer, read by serde).
    #[serde(skip_serializing, default)]
    pub frames: Vec<Frame>,
}

impl Goroutine {
    /// Takes over a goroutine of the runtime model (its frames are moved, not copied).
    pub fn from_runtime(g: rt::Goroutine, leaked_status: Option<u32>, names: &mut Interner) -> Goroutine {
        Goroutine {
            id: g.id,
            status: names.name(&g.status),
            wait_reason: g.wait_reason.as_deref().map(|r| names.name(r)),
            wait_minutes: g.wait_minutes,
            locked_to_thread: g.locked_to_thread,
            created_by: g.created_by,
            address: g.address,
            scan: g.scan,
            m: g.m.as_ref().map(|m| m.id),
            thread: g.thread,
            unwound_from: g.unwound_from,
            stack_error: g.stack_error,
            notes: g.notes,
            mp: g.m.as_ref().map(|m| m.address),
            leaked: Some(g.status_raw) == leaked_status,
            bubble: g.bubble,
            frames: g.frames,
        }
    }

    /// The first frame in the user's code (see [`crate::runtime::user_code`]).
    pub fn user_frame(&self, go_minor: Option<u32>) -> Option<crate::runtime::user_code::UserFrame> {
        crate::runtime::user_code::user_frame(&self.frames, go_minor)
    }
}
