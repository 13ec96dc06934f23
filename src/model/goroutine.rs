//! Goroutines and frames as the analysis owns them: no borrow of the core or
//! the executable, names interned (`Arc<str>`), the JSON report's shape.

use super::intern::Interner;
use crate::addr::Addr;
use crate::runtime::goroutines::{self as rt, UnwindSource};
use crate::runtime::symbolize;
use crate::runtime::user_code::FrameName;
use std::sync::Arc;

/// A frame as the runtime prints it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "FrameJson")]
pub struct Frame {
    /// Symbol name (`runtime.gopanic`, `main.F[go.shape.int]`).
    pub function: Arc<str>,
    /// Source file as recorded in the binary.
    pub file: Arc<str>,
    /// Line number.
    pub line: i32,
    /// Program counter of the physical frame.
    pub pc: Addr,
    /// Stack pointer.
    pub sp: Addr,
    /// Caller's stack pointer.
    pub fp: Addr,
    /// Function entry of the physical frame (`pc − entry` is the `+0x…` the runtime prints).
    pub entry: Addr,
    /// True for a call inlined into the next frame.
    pub inlined: bool,
    /// Argument words as the runtime prints them, without parentheses; `...` for inlined frames.
    pub args: String,
    /// True when the frame is on a system stack (g0 or gsignal), not the goroutine's.
    pub system_stack: bool,
}

impl Frame {
    /// The runtime's print name: `panic` for `runtime.gopanic`, `F[...]` for generics.
    pub fn print_name(&self) -> std::borrow::Cow<'_, str> {
        symbolize::print_name(&self.function)
    }

    /// `pc − entry`, the offset the runtime prints as `+0x…`.
    pub fn offset(&self) -> u64 {
        self.pc.checked_sub(self.entry).unwrap_or(0)
    }
}

/// A frame as the report's JSON holds it (`print_name` is derived, not read).
#[derive(serde::Deserialize)]
struct FrameJson {
    function: String,
    file: String,
    line: i32,
    pc: Addr,
    sp: Addr,
    fp: Addr,
    #[serde(default)]
    offset: u64,
    inlined: bool,
    args: String,
    #[serde(default)]
    system_stack: bool,
}

impl From<FrameJson> for Frame {
    fn from(j: FrameJson) -> Frame {
        Frame {
            function: super::intern::shared(&j.function),
            file: super::intern::shared(&j.file),
            line: j.line,
            pc: j.pc,
            sp: j.sp,
            fp: j.fp,
            entry: Addr(j.pc.0.wrapping_sub(j.offset)),
            inlined: j.inlined,
            args: j.args,
            system_stack: j.system_stack,
        }
    }
}

impl FrameName for Frame {
    fn function(&self) -> &str {
        &self.function
    }
    fn file(&self) -> &str {
        &self.file
    }
    fn line(&self) -> i32 {
        self.line
    }
}

/// Where a goroutine was created (`g.gopc`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreatedBy {
    /// Function containing the `go` statement.
    #[serde(deserialize_with = "super::intern::de")]
    pub function: Arc<str>,
    /// Its file.
    #[serde(deserialize_with = "super::intern::de")]
    pub file: Arc<str>,
    /// Its line.
    pub line: i32,
    /// The `go` statement's pc.
    pub pc: Addr,
    /// Offset of that pc from the function's entry.
    #[serde(default)]
    pub offset: u64,
    /// Id of the goroutine that ran the `go` statement (0: unknown).
    pub goroutine: u64,
}

/// A goroutine of the dead process.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Goroutine {
    /// `g.goid`.
    pub id: u64,
    /// Status without suffixes (`chan receive`, `running`, `select (no cases)`).
    #[serde(deserialize_with = "super::intern::de")]
    pub status: Arc<str>,
    /// Wait reason for waiting goroutines.
    #[serde(deserialize_with = "super::intern::de_opt")]
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
    /// Takes over a goroutine of the runtime model, interning its names.
    pub fn from_runtime(g: rt::Goroutine<'_>, leaked_status: Option<u32>, names: &mut Interner) -> Goroutine {
        let frames = g
            .frames
            .into_iter()
            .map(|f| Frame {
                function: names.name(f.function),
                file: names.name(f.file),
                line: f.line,
                pc: f.pc,
                sp: f.sp,
                fp: f.fp,
                entry: f.entry,
                inlined: f.inlined,
                args: f.args,
                system_stack: f.system_stack,
            })
            .collect();
        Goroutine {
            id: g.id,
            status: names.name(&g.status),
            wait_reason: g.wait_reason.as_deref().map(|r| names.name(r)),
            wait_minutes: g.wait_minutes,
            locked_to_thread: g.locked_to_thread,
            created_by: g.created_by.map(|c| CreatedBy {
                function: names.name(c.function),
                file: names.name(c.file),
                line: c.line,
                pc: c.pc,
                offset: c.offset,
                goroutine: c.goroutine,
            }),
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
            frames,
        }
    }

    /// The first frame in the user's code (see [`crate::runtime::user_code`]).
    pub fn user_frame(&self, go_minor: Option<u32>) -> Option<crate::runtime::user_code::UserFrame> {
        crate::runtime::user_code::user_frame(&self.frames, go_minor)
    }
}
