//! Goroutines grouped by identical stacks, as panicparse buckets them: the
//! same status and the same sequence of function, file, line and inlined
//! mark (arguments, stack addresses and ids may differ).

use super::{Analysis, Goroutine};
use rustc_hash::FxHashMap;
use std::hash::{Hash, Hasher};

/// Goroutines that share a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackGroup {
    /// Indices into [`Analysis::goroutines`], in `allgs` order.
    pub members: Vec<usize>,
}

fn same_stack(a: &Goroutine, b: &Goroutine) -> bool {
    a.status == b.status
        && (a.frames.same_shape(&b.frames)
            || a.frames.len() == b.frames.len()
                && a.frames.iter().zip(&b.frames).all(|(x, y)| {
                    x.line == y.line && x.inlined == y.inlined && x.function == y.function && x.file == y.file
                }))
}

fn frames_hash(g: &Goroutine) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    for f in &g.frames {
        f.function.hash(&mut h);
        f.file.hash(&mut h);
        f.line.hash(&mut h);
        f.inlined.hash(&mut h);
    }
    h.finish()
}

/// A goroutine's stack hash, its frames' part computed once per shared shape.
fn stack_hash(g: &Goroutine, by_shape: &mut FxHashMap<usize, u64>) -> u64 {
    let frames = *by_shape.entry(g.frames.shape_key()).or_insert_with(|| frames_hash(g));
    let mut h = rustc_hash::FxHasher::default();
    g.status.hash(&mut h);
    frames.hash(&mut h);
    h.finish()
}

impl Analysis {
    /// The goroutines for which `keep` holds, grouped by identical stacks;
    /// largest group first, groups of equal size in order of first appearance.
    #[allow(clippy::indexing_slicing, reason = "group indices and members come from the groups this function builds")]
    pub fn stack_groups(&self, keep: impl Fn(&Goroutine) -> bool) -> Vec<StackGroup> {
        let mut groups: Vec<StackGroup> = Vec::new();
        let mut by_hash: FxHashMap<u64, Vec<usize>> = FxHashMap::default();
        let mut by_shape: FxHashMap<usize, u64> = FxHashMap::default();
        for (i, g) in self.goroutines.iter().enumerate().filter(|(_, g)| keep(g)) {
            let slot = by_hash.entry(stack_hash(g, &mut by_shape)).or_default();
            match slot.iter().copied().find(|&k| same_stack(&self.goroutines[groups[k].members[0]], g)) {
                Some(k) => groups[k].members.push(i),
                None => {
                    slot.push(groups.len());
                    groups.push(StackGroup { members: vec![i] });
                }
            }
        }
        groups.sort_by_key(|g| std::cmp::Reverse(g.members.len()));
        groups
    }
}
