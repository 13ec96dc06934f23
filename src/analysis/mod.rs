//! Analyses over the runtime model, producing findings.

pub mod maps;
pub mod trace_join;

use crate::addr::Addr;

/// How bad a finding is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Likely a bug.
    Warning,
    /// The cause of the crash, or memory corruption.
    Critical,
}

/// A goroutine's part in a finding.
#[derive(Clone, Debug, serde::Serialize)]
pub struct GoroutineRole {
    /// Goroutine id.
    pub id: u64,
    /// `iterator`, `writer`, `reader`, `possible-writer`, …
    pub role: String,
    /// The frame that plays the role (function name).
    pub frame: Option<String>,
    /// Why the role is only possible, or how it was established.
    pub reason: Option<String>,
}

/// Something gotopsy concluded, with its evidence.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Finding {
    /// Stable id within the report (`F1`, `F2`, …).
    pub id: String,
    /// What kind of finding (`concurrent-map-writes`, `stale-iterator`, …).
    pub kind: String,
    /// Severity.
    pub severity: Severity,
    /// One plain sentence.
    pub summary: String,
    /// The map concerned.
    pub map: Option<Addr>,
    /// Goroutines involved and their roles.
    pub goroutines: Vec<GoroutineRole>,
    /// Facts behind the conclusion.
    pub evidence: Vec<String>,
}
