//! Parsed executables shared by the cores of a scan: a fleet's dumps come
//! from a few builds, and each is parsed (and its DWARF indexed) once, not
//! once per core. Bounded: the least recently used is dropped past
//! [`MAX_CACHED`] (its pages are file-backed; what the cache holds is the
//! parsed tables).

use crate::exe::Executable;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Most executables kept.
pub const MAX_CACHED: usize = 16;

/// The cache (one per scan).
#[derive(Default)]
pub struct ExeCache {
    /// Most recently used last.
    entries: Mutex<Vec<(PathBuf, Arc<Executable>)>>,
}

impl ExeCache {
    /// The executable at `path`, parsed by `open` the first time (outside
    /// the lock: two workers may both parse it; one copy is kept).
    pub fn get(
        &self,
        path: &Path,
        open: impl FnOnce() -> Result<Executable, String>,
    ) -> Result<Arc<Executable>, String> {
        if let Some(e) = self.take(path) {
            return Ok(e);
        }
        let e = Arc::new(open()?);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = entries.iter().position(|(p, _)| p == path) {
            // Another worker parsed it meanwhile: keep that one.
            let hit = entries.remove(i);
            let kept = Arc::clone(&hit.1);
            entries.push(hit);
            return Ok(kept);
        }
        entries.push((path.to_path_buf(), Arc::clone(&e)));
        if entries.len() > MAX_CACHED {
            entries.remove(0);
        }
        Ok(e)
    }

    /// A cached executable, moved to the most recently used end.
    fn take(&self, path: &Path) -> Option<Arc<Executable>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let i = entries.iter().position(|(p, _)| p == path)?;
        let hit = entries.remove(i);
        let e = Arc::clone(&hit.1);
        entries.push(hit);
        Some(e)
    }

    /// How many executables are held.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// True when none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn each_executable_is_parsed_once_and_the_cache_stays_bounded() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/go1.27.3/crashzoo.zst");
        assert!(fixture.exists(), "the fixture {} is missing", fixture.display());
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..=MAX_CACHED)
            .map(|i| {
                let p = dir.path().join(format!("exe{i}.zst"));
                std::os::unix::fs::symlink(&fixture, &p).unwrap();
                p
            })
            .collect();
        let cache = ExeCache::default();
        let opened = AtomicUsize::new(0);
        let get = |p: &Path| {
            cache
                .get(p, || {
                    opened.fetch_add(1, Ordering::Relaxed);
                    Executable::open(p).map_err(|e| e.to_string())
                })
                .unwrap()
        };
        let a = get(&paths[0]);
        let b = get(&paths[0]);
        assert!(Arc::ptr_eq(&a, &b), "the second core of a build shares the first's parse");
        assert_eq!(opened.load(Ordering::Relaxed), 1);
        for p in &paths[1..] {
            get(p);
        }
        assert_eq!(cache.len(), MAX_CACHED, "bounded");
        assert_eq!(opened.load(Ordering::Relaxed), MAX_CACHED + 1);
        // The least recently used (paths[0]) was dropped; the latest is still held.
        get(&paths[MAX_CACHED]);
        assert_eq!(opened.load(Ordering::Relaxed), MAX_CACHED + 1);
        get(&paths[0]);
        assert_eq!(opened.load(Ordering::Relaxed), MAX_CACHED + 2);
        // A file that is no executable is an error, and nothing is kept.
        let bad = dir.path().join("bad");
        std::fs::write(&bad, b"no").unwrap();
        assert!(cache.get(&bad, || Executable::open(&bad).map_err(|e| e.to_string())).is_err());
        assert!(!cache.is_empty() && cache.len() == MAX_CACHED);
    }
}
