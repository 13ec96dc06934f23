//! A goroutine's trace timeline folded into a row of cells: each cell is the
//! state the goroutine spent most of that slice of the trace in.

use crate::trace::{GoState, StateSpan};

/// The state of each of `width` equal slices of `[0, duration_ns)`: the one
/// the spans give the most time in it; `None` where no span covers it
/// (before the first kept transition). A span lasts until the next begins,
/// the last until `duration_ns`; spans must be oldest first (later spans
/// that start earlier are taken as starting where the one before does).
#[allow(
    clippy::arithmetic_side_effects,
    reason = "nanoseconds below 2^64 times a width below 2^64 fit u128; end >= 1 and w >= 1 divide; c < width and t < b <= end bound the rest"
)]
pub fn cells(spans: &[StateSpan], duration_ns: u64, width: usize) -> Vec<Option<GoState>> {
    let mut time = vec![[0u64; 6]; width];
    if width == 0 {
        return Vec::new();
    }
    let end = duration_ns.max(spans.last().map_or(0, |s| s.start_ns.saturating_add(1))).max(1);
    let w = width as u128;
    // The slice holding nanosecond t, and the nanosecond slice i begins at.
    let slice_of = |t: u64| ((t as u128 * w / end as u128) as usize).min(width - 1);
    let start_of = |i: usize| (i as u128 * end as u128).div_ceil(w) as u64;
    let mut from = 0u64;
    for (i, s) in spans.iter().enumerate() {
        let a = s.start_ns.max(from).min(end);
        let b = spans.get(i + 1).map_or(end, |n| n.start_ns).clamp(a, end);
        from = a;
        if a == b {
            continue;
        }
        let state = s.state as usize;
        let mut t = a;
        let mut c = slice_of(a);
        while t < b {
            let next = if c + 1 < width { start_of(c + 1).clamp(t + 1, b) } else { b };
            if let Some(cell) = time.get_mut(c).and_then(|x| x.get_mut(state)) {
                *cell += next - t;
            }
            t = next;
            c += 1;
        }
    }
    time.iter()
        .map(|per| {
            let (i, most) = per.iter().enumerate().max_by_key(|&(i, t)| (*t, std::cmp::Reverse(i)))?;
            (*most > 0).then(|| GoState::ALL.get(i).copied()).flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use GoState::*;

    fn span(start_ns: u64, state: GoState) -> StateSpan {
        StateSpan { start_ns, state }
    }

    #[test]
    fn each_cell_takes_the_state_it_spent_most_time_in() {
        // 0–100 ns in 10 cells of 10 ns: runnable 0–25, running 25–60, waiting 60–100.
        let spans = [span(0, Runnable), span(25, Running), span(60, Waiting)];
        let c = cells(&spans, 100, 10);
        assert_eq!(
            c,
            [Runnable, Runnable, Runnable, Running, Running, Running, Waiting, Waiting, Waiting, Waiting]
                .map(Some)
                .to_vec()
        );
    }

    #[test]
    fn time_before_the_first_span_is_unknown_and_a_short_burst_still_shows_where_it_dominates() {
        let spans = [span(50, Waiting), span(70, Running), span(71, Waiting)];
        let c = cells(&spans, 100, 4);
        assert_eq!(c, vec![None, None, Some(Waiting), Some(Waiting)]);
        let c = cells(&spans, 100, 100);
        assert_eq!(c.get(70), Some(&Some(Running)));
        assert_eq!(c.get(49), Some(&None));
        assert_eq!(c.get(99), Some(&Some(Waiting)));
    }

    #[test]
    fn odd_inputs_give_cells_and_no_panic() {
        assert!(cells(&[], 100, 0).is_empty());
        assert_eq!(cells(&[], 0, 3), vec![None; 3]);
        // A span past the trace's end, spans out of order, a zero duration.
        assert_eq!(cells(&[span(500, Running)], 100, 2), vec![None, Some(Running)]);
        let c = cells(&[span(40, Running), span(10, Waiting)], 100, 5);
        assert_eq!(c.len(), 5);
        assert_eq!(cells(&[span(0, Syscall)], 0, 2), vec![Some(Syscall), None]);
        assert_eq!(cells(&[span(u64::MAX, Running)], u64::MAX, 3).len(), 3);
    }
}
