//! An in-memory [`Memory`] for tests: byte runs placed at chosen addresses.

use super::{MemError, MemErrorKind, Memory};
use crate::addr::Addr;

/// Target memory made of byte runs, for unit tests of everything above the
/// core reader (unwinder, goroutine walker) without a real core.
#[derive(Default, Clone, Debug)]
pub struct FakeMemory {
    runs: Vec<(Addr, Vec<u8>)>,
}

impl FakeMemory {
    /// Empty memory: every read fails as unmapped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Places `bytes` at `addr`.
    pub fn map(mut self, addr: Addr, bytes: &[u8]) -> Self {
        self.runs.push((addr, bytes.to_vec()));
        self.runs.sort_by_key(|r| r.0);
        self
    }

    /// Places little-endian 64-bit words at `addr`.
    pub fn map_words(self, addr: Addr, words: &[u64]) -> Self {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.map(addr, &bytes)
    }
}

impl Memory for FakeMemory {
    #[allow(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        reason = "the run found holds `at`, and n is bounded by what is left of both the run and the buffer"
    )]
    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<(), MemError> {
        let mut done = 0usize;
        while done < buf.len() {
            let at = addr.add(done as u64);
            let run = self.runs.iter().find(|(start, bytes)| at >= *start && at.0 - start.0 < bytes.len() as u64);
            let Some((start, bytes)) = run else {
                return Err(MemError { addr, len: buf.len() as u64, kind: MemErrorKind::Unmapped });
            };
            let off = (at.0 - start.0) as usize;
            let n = (bytes.len() - off).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&bytes[off..off + n]);
            done += n;
        }
        Ok(())
    }

    fn slice(&self, addr: Addr, len: u64) -> Option<&[u8]> {
        let (start, bytes) =
            self.runs.iter().find(|(s, b)| addr.0.checked_sub(s.0).is_some_and(|o| o < b.len() as u64))?;
        let off = addr.0.checked_sub(start.0)? as usize;
        bytes.get(off..off.checked_add(len as usize)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::ReadExt;

    #[test]
    fn reads_across_adjacent_runs_and_reports_gaps() {
        let m = FakeMemory::new().map(Addr(0x1000), &[1, 2, 3, 4]).map(Addr(0x1004), &[5, 6, 7, 8]);
        assert_eq!(m.read_u64(Addr(0x1000)).unwrap(), u64::from_le_bytes([1, 2, 3, 4, 5, 6, 7, 8]));
        let e = m.read_u64(Addr(0x1004)).unwrap_err();
        assert_eq!(e.kind, MemErrorKind::Unmapped);
        assert_eq!(e.addr, Addr(0x1004));
    }

    #[test]
    fn cstring_and_go_string() {
        let m = FakeMemory::new().map(Addr(0x2000), b"runtime.main\0junk").map_words(Addr(0x3000), &[0x2000, 7]);
        assert_eq!(m.read_cstring(Addr(0x2000), 100).unwrap(), "runtime.main");
        assert_eq!(m.read_go_string(Addr(0x3000)).unwrap(), "runtime");
        assert_eq!(m.read_cstring(Addr(0x2000), 4).unwrap_err().kind, MemErrorKind::TooLarge);
    }
}
