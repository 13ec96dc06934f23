//! gotopsy: post-mortem forensics of Go programs.
//!
//! Layers, each using only the ones before it (see `docs/architecture.md`):
//! [`corefile`] → [`memory`] → [`exe`] → [`runtime`] → [`analysis`] →
//! [`model`] (the owned [`Analysis`], entry point [`analyze`]) → [`report`].

#![warn(missing_docs)]
// No panics on input-derived data (docs/security.md): no unwrap/expect, no
// unchecked indexing and no unchecked arithmetic in the library outside its
// tests; each exception says why its index or operation cannot go wrong.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

/// `as_str`, `Display` and comparison with `&str` by the name the JSON
/// report uses, for a unit enum (defined before the modules that use it).
macro_rules! json_named {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            /// The name the JSON report uses.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

pub mod addr;
pub mod analysis;
pub mod arch;
pub mod corefile;
pub mod crashlog;
pub mod error;
pub mod exe;
pub mod intern;
pub mod memory;
pub mod model;
pub mod report;
pub mod runtime;
pub mod scan;
pub mod trace;
pub mod tui;
pub mod warning;

pub use addr::Addr;
pub use error::{Error, Result};
pub use model::{analyze, Analysis, AnalyzeOptions};
