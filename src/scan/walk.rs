//! Walking the scan's paths: folders recursively, following symlinks, each
//! folder once however it is reached; files sorted, as walked (not resolved).

use std::collections::HashSet;
use std::path::PathBuf;

/// Most entries walked (bounds a hostile tree).
const MAX_FILES: usize = 10_000_000;

/// The files under `paths`, sorted.
pub fn walk(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut todo: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = todo.pop() {
        if out.len() >= MAX_FILES {
            break;
        }
        let Ok(meta) = std::fs::metadata(&p) else {
            // A dangling link or an unreadable entry is still an input (its record says why).
            out.push(p);
            continue;
        };
        if meta.is_dir() {
            let key = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
            if !seen.insert(key) {
                continue;
            }
            if let Ok(rd) = std::fs::read_dir(&p) {
                todo.extend(rd.filter_map(|e| e.ok()).map(|e| e.path()));
            }
        } else if meta.is_file() {
            out.push(p);
        }
    }
    out.sort();
    out.dedup();
    out
}
