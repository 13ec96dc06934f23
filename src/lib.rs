//! gotopsy: post-mortem forensics of Go programs.
//!
//! Layers, each using only the ones before it (see `docs/architecture.md`):
//! [`corefile`] → [`memory`] → [`exe`] → [`runtime`] → [`analysis`] →
//! [`model`] (the owned [`Analysis`], entry point [`analyze`]) → [`report`].

#![warn(missing_docs)]

pub mod addr;
pub mod analysis;
pub mod corefile;
pub mod crashlog;
pub mod error;
pub mod exe;
pub mod intern;
pub mod memory;
pub mod model;
pub mod report;
pub mod runtime;
pub mod trace;
pub mod tui;
pub mod warning;

pub use addr::Addr;
pub use error::{Error, Result};
pub use model::{analyze, Analysis, AnalyzeOptions};
