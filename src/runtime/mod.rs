//! The Go runtime model: goroutines, threads, the unwinder and crash facts,
//! read from a [`process::Process`].

pub mod allgs;
pub mod crash;
pub mod decode;
pub mod flight;
pub mod goroutines;
pub mod heap;
pub mod layout;
pub mod layout_fallback;
pub mod maps;
pub mod process;
pub mod signal_dump;
pub mod stack;
pub mod strings_builtin;
pub mod stripped;
pub mod symbolize;
pub mod trace_builtin;
pub mod trace_layout;
pub mod tracebufs;
pub mod types;
pub mod unwind;
pub mod user_code;

pub use process::{OpenOptions, Process};
