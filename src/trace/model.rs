//! The public model of a read trace: goroutine states, frames, per-goroutine summaries.

use std::collections::BTreeMap;

/// A goroutine state in the trace's terms.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GoState {
    /// Not known yet (before its first event).
    #[default]
    Undetermined,
    /// Runnable.
    Runnable,
    /// Running.
    Running,
    /// In a syscall.
    Syscall,
    /// Blocked.
    Waiting,
    /// Exited.
    NotExist,
}

pub(super) const STATES: [GoState; 6] = GoState::ALL;

impl GoState {
    /// Every state, in the enum's order (`s as usize` is its index).
    pub const ALL: [GoState; 6] = [
        GoState::Undetermined,
        GoState::Runnable,
        GoState::Running,
        GoState::Syscall,
        GoState::Waiting,
        GoState::NotExist,
    ];
}

/// Index of a state in [`STATES`] (the enum's own order).
#[inline(always)]
pub(super) fn state_index(s: GoState) -> usize {
    s as usize
}

#[cfg(test)]
mod tests {
    #[test]
    fn state_index_is_the_position_in_states() {
        for (i, s) in super::STATES.iter().enumerate() {
            assert_eq!(super::state_index(*s), i);
        }
    }
}

/// A stack of the trace, innermost frame first. Stacks are interned by
/// content as a trace is read: goroutines with the same stack share one.
pub type TraceStack = std::sync::Arc<[TraceFrame]>;

/// A stack frame of the trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TraceFrame {
    /// Function.
    pub function: String,
    /// File.
    pub file: String,
    /// Line.
    pub line: u64,
    /// PC (a return address − 1 in the trace's encoding).
    pub pc: u64,
}

/// What the trace says about one goroutine.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TraceGoroutine {
    /// Goroutine id.
    pub id: u64,
    /// The function it started in (from its creation event), if created in the trace.
    pub start_function: Option<String>,
    /// The goroutine running the `go` statement, and its stack (null when it
    /// existed before the trace began).
    pub created_by: Option<CreatedBy>,
    /// Its last state.
    pub state_at_end: GoState,
    /// Stack of its last event that had one.
    pub last_stack: TraceStack,
    /// Nanoseconds spent running.
    pub running_ns: u64,
    /// Nanoseconds runnable.
    pub runnable_ns: u64,
    /// Nanoseconds blocked, total.
    pub blocked_ns: u64,
    /// Blocked time by reason.
    pub blocked_by_reason: ReasonTimes,
    /// Nanoseconds in syscalls.
    pub syscall_ns: u64,
    /// State transitions.
    pub transitions: u64,
    /// OS thread id of the M it last ran on.
    pub last_thread: Option<u64>,
    /// The P it last started running on (null when it ran without one, or unknown).
    pub last_p: Option<u64>,
    /// Its last transitions, oldest first — kept only for the goroutines a
    /// reader was asked to watch (see [`read_watching`](super::read_watching)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_events: Vec<TraceEvent>,
    /// Its states over time, oldest first — for watched goroutines only: each
    /// span is a state it entered and when; a span lasts until the next one
    /// starts (the last, until the trace's end). Only its latest
    /// [`TIMELINE_KEPT`](super::TIMELINE_KEPT) transitions are kept, so a
    /// busy goroutine's timeline may begin after the trace does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<StateSpan>,
    /// Its older transitions were dropped: the timeline begins with the
    /// first one kept, after the trace does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timeline_cut: bool,
}

/// A state a goroutine entered, and when.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StateSpan {
    /// Nanoseconds since the trace's first event.
    pub start_ns: u64,
    /// The state entered.
    pub state: GoState,
}

/// The creator of a goroutine.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CreatedBy {
    /// Parent goroutine id; null when the runtime created it outside any
    /// goroutine (timers, the runtime's own workers: Go's `G=-1`).
    pub goroutine: Option<u64>,
    /// Creation stack.
    pub stack: TraceStack,
}

/// The summary of a trace.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TraceSummary {
    /// The header's version, e.g. `go1.26`.
    pub trace_version: String,
    /// Events as Go's parser presents them (`go tool trace -d=parsed` prints one
    /// `M=…` line each): timed events, CPU samples, and a Sync event per
    /// generation plus a final one.
    pub events: u64,
    /// Timed events decoded from M batches.
    pub wire_events: u64,
    /// CPU samples.
    pub cpu_samples: u64,
    /// Generations read.
    pub generations: u64,
    /// First generation number in the file (not 1 for flight-recorder output).
    pub first_generation: u64,
    /// Nanoseconds between the first and the last event.
    pub duration_ns: u64,
    /// Goroutines, by id.
    pub goroutines: Vec<TraceGoroutine>,
    /// What could not be read (a truncated last generation, …).
    pub warnings: Vec<String>,
    /// Thread ids that wrote events: OS thread ids (`m.procid`) in the 1.22+
    /// formats, the runtime's M ids (`m.id`) in Go 1.21's (see `thread_ids`).
    pub threads: Vec<u64>,
    /// `os` or `runtime-m`: what `threads` (and `last_thread`) hold.
    pub thread_ids: &'static str,
}

/// One transition of a goroutine.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TraceEvent {
    /// Nanoseconds since the trace's first event.
    pub time_ns: u64,
    /// State left.
    pub from: GoState,
    /// State entered.
    pub to: GoState,
    /// Why it blocked (for transitions to waiting that say).
    pub reason: Option<String>,
}

/// Blocked time per reason, in nanoseconds, sorted by reason (a JSON object
/// in the report): a few entries kept in one small list, the reason names
/// shared by every goroutine, where a map per goroutine cost ~400 bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReasonTimes(Vec<(std::sync::Arc<str>, u64)>);

impl ReasonTimes {
    /// From (reason, nanoseconds) pairs in any order; a repeated reason's times add up.
    pub fn new(mut v: Vec<(std::sync::Arc<str>, u64)>) -> Self {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.dedup_by(|b, a| {
            let same = a.0 == b.0;
            if same {
                a.1 = a.1.saturating_add(b.1);
            }
            same
        });
        v.shrink_to_fit();
        ReasonTimes(v)
    }

    /// The time blocked for `reason`.
    pub fn get(&self, reason: &str) -> Option<&u64> {
        self.0.binary_search_by(|(r, _)| (**r).cmp(reason)).ok().and_then(|i| self.0.get(i)).map(|(_, ns)| ns)
    }

    /// The reasons, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(r, _)| &**r)
    }

    /// (reason, nanoseconds), sorted by reason.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &u64)> {
        self.0.iter().map(|(r, ns)| (&**r, ns))
    }

    /// How many reasons.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No time blocked.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a ReasonTimes {
    type Item = (&'a str, &'a u64);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a u64)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl serde::Serialize for ReasonTimes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> serde::Deserialize<'de> for ReasonTimes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m: BTreeMap<std::sync::Arc<str>, u64> = serde::Deserialize::deserialize(d)?;
        Ok(ReasonTimes(m.into_iter().collect()))
    }
}
