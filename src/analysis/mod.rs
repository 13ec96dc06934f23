//! Analyses over the runtime model, producing findings.

pub mod likely_writer;
pub mod map_names;
pub mod maps;
pub mod signature;
pub mod trace_join;

use crate::addr::Addr;
pub use crate::runtime::user_code::UserFrame;

/// How bad a finding is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
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
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct GoroutineRole {
    /// Goroutine id.
    pub id: u64,
    /// What it did to the map.
    pub role: Role,
    /// The frame that plays the role (function name).
    pub frame: Option<String>,
    /// Why the role is only possible, or how it was established.
    pub reason: Option<String>,
    /// The frame that plays the role: its function (the same as `frame`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// That frame's index in the goroutine's `frames`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_index: Option<usize>,
    /// The goroutine's first frame in the user's code (see [`UserFrame`]).
    #[serde(default)]
    pub user_frame: Option<UserFrame>,
}

impl GoroutineRole {
    /// A role without frame facts yet (the model fills them in).
    pub fn new(id: u64, role: Role, frame: Option<String>, reason: Option<String>) -> Self {
        GoroutineRole { id, role, frame, reason, function: None, frame_index: None, user_frame: None }
    }
}

/// A goroutine's part in a finding, as the JSON names it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Ranging over the map (or inside `mapiternext`).
    Iterator,
    /// Inside a write to the map.
    Writer,
    /// Inside a read of the map.
    Reader,
    /// Inside `maps.Clone` of the map.
    Cloner,
    /// Inside a map write whose map could not be confirmed to be this one.
    PossibleWriter,
    /// Not inside a map function, but on the very source line of the user's
    /// code that wrote the map in the writer the runtime caught.
    LikelyWriter,
}

/// What kind of finding.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// `fatal error: concurrent map iteration and map write`.
    ConcurrentMapIterationAndWrite,
    /// `fatal error: concurrent map writes`.
    ConcurrentMapWrites,
    /// `fatal error: concurrent map read and map write`.
    ConcurrentMapReadAndWrite,
    /// `fatal error: concurrent map clone and map write`.
    ConcurrentMapCloneAndWrite,
    /// A live iterator whose map changed shape under it.
    StaleIterator,
    /// A live iterator pointing into freed heap memory.
    FreedBucketReference,
}

json_named!(Severity { Info => "info", Warning => "warning", Critical => "critical" });
json_named!(Role {
    Iterator => "iterator",
    Writer => "writer",
    Reader => "reader",
    Cloner => "cloner",
    PossibleWriter => "possible-writer",
    LikelyWriter => "likely-writer",
});
json_named!(FindingKind {
    ConcurrentMapIterationAndWrite => "concurrent-map-iteration-and-write",
    ConcurrentMapWrites => "concurrent-map-writes",
    ConcurrentMapReadAndWrite => "concurrent-map-read-and-write",
    ConcurrentMapCloneAndWrite => "concurrent-map-clone-and-write",
    StaleIterator => "stale-iterator",
    FreedBucketReference => "freed-bucket-reference",
});

impl FindingKind {
    /// True for the findings that explain a concurrent-map crash.
    pub fn is_map_crash(self) -> bool {
        !matches!(self, FindingKind::StaleIterator | FindingKind::FreedBucketReference)
    }
}

/// Something gotopsy concluded, with its evidence.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// Stable id within the report (`F1`, `F2`, …).
    pub id: String,
    /// What kind of finding (`concurrent-map-writes`, `stale-iterator`, …).
    pub kind: FindingKind,
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
    /// The names the program has for the map: package-level variables, and
    /// variables of the frames of the goroutines this finding names.
    #[serde(default)]
    pub map_names: Vec<crate::runtime::maps::names::MapName>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::maps::iterators::{IterState, Liveness};
    use crate::runtime::maps::names::MapNameKind;

    fn same<T: serde::Serialize + std::fmt::Display>(v: T) {
        assert_eq!(serde_json::to_value(&v).unwrap(), serde_json::Value::String(v.to_string()));
    }

    #[test]
    fn display_names_are_the_json_names() {
        for v in [Severity::Info, Severity::Warning, Severity::Critical] {
            same(v);
        }
        for v in [Role::Iterator, Role::Writer, Role::Reader, Role::Cloner, Role::PossibleWriter, Role::LikelyWriter] {
            same(v);
        }
        for v in [
            FindingKind::ConcurrentMapIterationAndWrite,
            FindingKind::ConcurrentMapWrites,
            FindingKind::ConcurrentMapReadAndWrite,
            FindingKind::ConcurrentMapCloneAndWrite,
            FindingKind::StaleIterator,
            FindingKind::FreedBucketReference,
        ] {
            same(v);
        }
        for v in [
            IterState::Current,
            IterState::StartedMidGrow,
            IterState::MapGrewSinceStart,
            IterState::Orphaned,
            IterState::Cleared,
            IterState::TableReplaced,
            IterState::DirectoryGrew,
            IterState::SmallMapGrew,
            IterState::Finished,
            IterState::Starting,
        ] {
            same(v);
        }
        for v in [Liveness::Live, Liveness::Dead, Liveness::Unknown] {
            same(v);
        }
        for v in
            [MapNameKind::Global, MapNameKind::Field, MapNameKind::Local, MapNameKind::Parameter, MapNameKind::Closure]
        {
            same(v);
        }
    }
}
