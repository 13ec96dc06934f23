//! Names the maps of an analysis as the program names them: every map gets
//! the package-level variables that hold it; each finding gets those plus the
//! variables of the frames of the goroutines it names that hold its map.

use super::maps::MapAnalysis;
use crate::runtime::goroutines::Goroutines;
use crate::runtime::maps::names::{frame_names, global_names};
use crate::runtime::Process;
use rustc_hash::FxHashMap;

/// Fills `maps[].names` and `findings[].map_names`.
pub fn attach(p: &Process, gs: &Goroutines, m: &mut MapAnalysis) {
    if m.maps.is_empty() && m.findings.is_empty() {
        return;
    }
    let globals = global_names(p);
    let by_id: FxHashMap<u64, usize> = gs.list.iter().enumerate().map(|(i, g)| (g.id, i)).collect();
    for f in &mut m.findings {
        let Some(map) = f.map else { continue };
        let mut names = globals.get(&map).cloned().unwrap_or_default();
        let mut seen = Vec::new();
        for r in &f.goroutines {
            if seen.contains(&r.id) {
                continue;
            }
            seen.push(r.id);
            if let Some(g) = by_id.get(&r.id).and_then(|&i| gs.list.get(i)) {
                names.extend(frame_names(p, g, map));
            }
        }
        f.map_names = names;
    }
    for h in &mut m.maps {
        let mut names = globals.get(&h.address).cloned().unwrap_or_default();
        for f in m.findings.iter().filter(|f| f.map == Some(h.address)) {
            names.extend(
                f.map_names.iter().filter(|n| !globals.contains_key(&h.address) || n.goroutine.is_some()).cloned(),
            );
        }
        names.dedup();
        h.names = names;
    }
}
