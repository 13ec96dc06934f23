//! Which goroutines a listing shows: `--id`, `--state`, `--match`. Filters
//! restrict what is listed, never what the analysis concluded.

use super::Goroutine;

/// A goroutine filter; an empty one keeps every goroutine.
#[derive(Clone, Debug, Default)]
pub struct GoroutineFilter {
    /// Keep only these ids (none: any id).
    pub ids: Vec<u64>,
    /// Keep only goroutines whose status (`chan receive`, `running`, …)
    /// contains this text, ignoring case.
    pub state: Option<String>,
    /// Keep only goroutines with a frame whose function matches.
    pub function: Option<regex::Regex>,
}

impl GoroutineFilter {
    /// True when the filter keeps every goroutine.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.state.is_none() && self.function.is_none()
    }

    /// True when `g` passes.
    pub fn matches(&self, g: &Goroutine) -> bool {
        (self.ids.is_empty() || self.ids.contains(&g.id))
            && self.state.as_ref().is_none_or(|s| g.status.to_lowercase().contains(&s.to_lowercase()))
            && self.function.as_ref().is_none_or(|re| g.frames.iter().any(|f| re.is_match(&f.function)))
    }
}
