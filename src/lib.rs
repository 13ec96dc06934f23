//! gotopsy: post-mortem forensics of Go programs.
//!
//! Layers, each using only the ones before it (see `docs/architecture.md`):
//! [`corefile`] → [`memory`] → [`exe`] → [`runtime`] → [`analysis`] →
//! [`model`] (the owned [`Analysis`], entry point [`analyze`]) → [`report`].

#![warn(missing_docs)]
// No panics on input-derived data (docs/security.md): no unwrap/expect and no
// unchecked indexing in the library outside its tests; each exception says
// why its index cannot be out of range.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

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

#[cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
pub mod addr;
pub mod analysis;
#[cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
pub mod arch;
#[cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
pub mod corefile;
#[cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
pub mod crashlog;
pub mod error;
#[cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
pub mod exe;
pub mod intern;
#[cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
pub mod memory;
pub mod model;
pub mod report;
pub mod runtime;
pub mod scan;
#[cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
pub mod trace;
pub mod tui;
pub mod warning;

pub use addr::Addr;
pub use error::{Error, Result};
pub use model::{analyze, Analysis, AnalyzeOptions};
