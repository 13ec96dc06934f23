//! The process image: the core's dumped segments overlaid on the executable's
//! file-backed segments. Text and read-only data are not in cores (the kernel
//! filters file-backed private mappings); writable and RELRO pages are, already
//! relocated, so the core always wins where both have bytes.

use super::{MemError, MemErrorKind, Memory, View};
use crate::addr::{Addr, AddrRange};
use std::sync::Arc;

/// Shared, immutable bytes that back a region (a memory map, or a vector in tests).
pub type Backing = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Where a region's bytes come from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RegionSource {
    /// A `PT_LOAD` segment of the core.
    Core,
    /// A `PT_LOAD` segment of the executable, shifted by the load bias.
    Executable,
}

#[derive(Clone)]
struct Region {
    range: AddrRange,
    backing: usize,
    offset: usize,
    source: RegionSource,
    /// A core region overlapping read-only file data the executable's bytes take precedence over.
    under_exe: bool,
}

/// Target memory of a dead process. Reads may cross region boundaries; a gap
/// is a [`MemError`], never a panic.
#[derive(Default)]
pub struct ProcessImage {
    backings: Vec<Backing>,
    /// Regions with bytes, sorted by start, core regions first in priority.
    core: Vec<Region>,
    exe: Vec<Region>,
    /// Executable regions read before the core's (read-only file data).
    exe_first: Vec<Region>,
    /// Every mapping the process had (including ones the core holds no bytes of).
    mapped: Vec<AddrRange>,
    /// Index of the core region that answered last (reads cluster).
    hint: std::sync::atomic::AtomicUsize,
}

impl Clone for ProcessImage {
    fn clone(&self) -> Self {
        ProcessImage {
            backings: self.backings.clone(),
            core: self.core.clone(),
            exe: self.exe.clone(),
            exe_first: self.exe_first.clone(),
            mapped: self.mapped.clone(),
            hint: Default::default(),
        }
    }
}

impl ProcessImage {
    /// An empty image.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a backing store and returns its handle for [`ProcessImage::add_region`].
    pub fn add_backing(&mut self, b: Backing) -> usize {
        self.backings.push(b);
        self.backings.len().saturating_sub(1)
    }

    /// Makes `len` bytes of backing `backing` at `offset` visible at `start`.
    /// Bytes past the end of the backing are clipped (a truncated core).
    pub fn add_region(&mut self, source: RegionSource, start: Addr, len: u64, backing: usize, offset: u64) {
        let Some(b) = self.backings.get(backing) else { return };
        let avail = (b.as_ref().as_ref().len() as u64).saturating_sub(offset);
        let len = len.min(avail);
        if len == 0 {
            return;
        }
        let r = Region {
            range: AddrRange::new(start, start.add(len)),
            backing,
            offset: offset as usize,
            source,
            under_exe: false,
        };
        let list = match source {
            RegionSource::Core => &mut self.core,
            RegionSource::Executable => &mut self.exe,
        };
        let pos = list.partition_point(|x| x.range.start < start);
        list.insert(pos, r);
    }

    /// Reads of `range` (read-only data of the executable's file, already
    /// added as an executable region) take the executable's bytes even where
    /// the core holds a copy (qemu-user cores dump read-only data; a damaged
    /// core's copy may differ). The core's copy stays for
    /// [`ProcessImage::read_core_only`].
    pub fn prefer_executable(&mut self, range: AddrRange) {
        let first: Vec<Region> =
            self.exe.iter().filter(|r| range.start <= r.range.start && r.range.end <= range.end).cloned().collect();
        for r in first {
            for c in &mut self.core {
                if c.range.start < r.range.end && r.range.start < c.range.end {
                    c.under_exe = true;
                }
            }
            let pos = self.exe_first.partition_point(|x| x.range.start < r.range.start);
            self.exe_first.insert(pos, r);
        }
    }

    /// Records that the process mapped `range`, whether or not its bytes are held.
    pub fn add_mapping(&mut self, range: AddrRange) {
        let pos = self.mapped.partition_point(|x| x.start < range.start);
        self.mapped.insert(pos, range);
    }

    /// True when some mapping of the process covers `a`.
    pub fn is_mapped(&self, a: Addr) -> bool {
        find(&self.mapped, a, |r| *r).is_some() || self.region_at(a).is_some()
    }

    /// Where the byte at `a` comes from, if anywhere.
    pub fn source_of(&self, a: Addr) -> Option<RegionSource> {
        self.region_at(a).map(|r| r.source)
    }

    fn region_at(&self, a: Addr) -> Option<&Region> {
        use std::sync::atomic::Ordering::Relaxed;
        let h = self.hint.load(Relaxed);
        // The region of the last read (never one under read-only file data).
        if let Some(r) = self.core.get(h) {
            if r.range.contains(a) && !r.under_exe {
                return Some(r);
            }
        }
        if let Some(r) = find(&self.exe_first, a, |r| r.range) {
            return Some(r);
        }
        let i = self.core.partition_point(|x| x.range.start <= a).checked_sub(1);
        if let Some((i, r)) = i.and_then(|i| Some((i, self.core.get(i)?))).filter(|(_, r)| r.range.contains(a)) {
            if !r.under_exe {
                self.hint.store(i, Relaxed);
            }
            return Some(r);
        }
        find(&self.exe, a, |r| r.range)
    }

    /// The bytes behind a region (empty if its backing is shorter than it says).
    fn bytes(&self, r: &Region) -> &[u8] {
        let Some(all) = self.backings.get(r.backing) else { return &[] };
        let len = r.range.len() as usize;
        all.as_ref().as_ref().get(r.offset..r.offset.saturating_add(len)).unwrap_or_default()
    }

    /// The list whose region answers reads of `at`, in `region_at`'s order.
    fn list_answering(&mut self, at: Addr) -> &mut Vec<Region> {
        if find(&self.exe_first, at, |r| r.range).is_some() {
            &mut self.exe_first
        } else if find(&self.core, at, |r| r.range).is_some() {
            &mut self.core
        } else {
            &mut self.exe
        }
    }

    /// Shows `bytes` at `at` in place of what the image held there: a damaged
    /// copy of a real process without rewriting its core (the walkers' fuzz
    /// target). Only the part inside the one region that answers reads of
    /// `at` is replaced; returns how many bytes that was (0: nothing there).
    pub fn replace(&mut self, at: Addr, bytes: &[u8]) -> usize {
        let list = self.list_answering(at);
        let Some(i) = list.partition_point(|x| x.range.start <= at).checked_sub(1) else { return 0 };
        let Some(r) = list.get(i).cloned().filter(|r| r.range.contains(at)) else { return 0 };
        let end = at.add(bytes.len() as u64).min(r.range.end);
        let (Some(n), Some(right_off)) = (
            end.checked_sub(at).and_then(|n| usize::try_from(n).ok()),
            end.checked_sub(r.range.start).and_then(|o| usize::try_from(o).ok()).and_then(|o| o.checked_add(r.offset)),
        ) else {
            return 0;
        };
        let Some(patch) = bytes.get(..n).filter(|p| !p.is_empty()) else { return 0 };
        self.backings.push(Arc::new(patch.to_vec()));
        let backing = self.backings.len().saturating_sub(1);
        let pieces = [
            Region { range: AddrRange::new(r.range.start, at), ..r.clone() },
            Region { range: AddrRange::new(at, end), backing, offset: 0, ..r.clone() },
            Region { range: AddrRange::new(end, r.range.end), offset: right_off, ..r },
        ];
        let list = self.list_answering(at);
        list.splice(i..=i, pieces.into_iter().filter(|p| p.range.start < p.range.end));
        self.hint.store(0, std::sync::atomic::Ordering::Relaxed);
        n
    }

    /// Reads only from the core's own segments (used to check that the core and
    /// the executable belong together).
    pub fn read_core_only(&self, addr: Addr, buf: &mut [u8]) -> Result<(), MemError> {
        let r = find(&self.core, addr, |r| r.range).ok_or(MemError {
            addr,
            len: buf.len() as u64,
            kind: MemErrorKind::NotInCore,
        })?;
        let off = addr.0.saturating_sub(r.range.start.0) as usize;
        let src = self.bytes(r).get(off..off.saturating_add(buf.len())).ok_or(MemError {
            addr,
            len: buf.len() as u64,
            kind: MemErrorKind::NotInCore,
        })?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// Binary search for the range containing `a` in a list sorted by start.
fn find<T>(list: &[T], a: Addr, range: impl Fn(&T) -> AddrRange) -> Option<&T> {
    let i = list.partition_point(|x| range(x).start <= a);
    let cand = list.get(i.checked_sub(1)?)?;
    range(cand).contains(a).then_some(cand)
}

impl Memory for ProcessImage {
    #[allow(
        clippy::arithmetic_side_effects,
        reason = "the region found contains `at`; n is at most what is left of the buffer (done < len)"
    )]
    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<(), MemError> {
        let mut done = 0usize;
        while done < buf.len() {
            let at = addr.add(done as u64);
            let Some(r) = self.region_at(at) else {
                let kind = if find(&self.mapped, at, |r| *r).is_some() {
                    MemErrorKind::NotInCore
                } else {
                    MemErrorKind::Unmapped
                };
                return Err(MemError { addr: at, len: (buf.len() - done) as u64, kind });
            };
            let off = (at.0 - r.range.start.0) as usize;
            let src = self.bytes(r).get(off..).unwrap_or_default();
            let n = src.len().min(buf.len() - done);
            let (Some(dst), Some(src), true) = (buf.get_mut(done..done + n), src.get(..n), n > 0) else {
                return Err(MemError { addr: at, len: (buf.len() - done) as u64, kind: MemErrorKind::NotInCore });
            };
            dst.copy_from_slice(src);
            done += n;
        }
        Ok(())
    }

    fn view(&self, addr: Addr, len: u64, max: u64) -> Result<View, MemError> {
        if len > max {
            return Err(MemError { addr, len, kind: MemErrorKind::TooLarge });
        }
        if let Some(r) = self.region_at(addr) {
            let off = addr.0.saturating_sub(r.range.start.0) as usize;
            if (off as u64).saturating_add(len) <= r.range.len() {
                let backing = self.backings.get(r.backing).cloned();
                if let Some(v) = backing.and_then(|b| View::window(b, r.offset.saturating_add(off), len as usize)) {
                    return Ok(v);
                }
            }
        }
        let mut v = vec![0u8; len as usize];
        self.read(addr, &mut v)?;
        Ok(View::from_vec(v))
    }

    fn slice(&self, addr: Addr, len: u64) -> Option<&[u8]> {
        let r = self.region_at(addr)?;
        let off = addr.0.checked_sub(r.range.start.0)? as usize;
        self.bytes(r).get(off..off.checked_add(usize::try_from(len).ok()?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::ReadExt;

    fn image() -> ProcessImage {
        let mut im = ProcessImage::new();
        let core: Backing = Arc::new((0u8..=255).collect::<Vec<u8>>());
        let exe: Backing = Arc::new(vec![0xaa; 64]);
        let c = im.add_backing(core);
        let e = im.add_backing(exe);
        // Core holds 0x1000..0x1010 (bytes 16..32 of its file).
        im.add_region(RegionSource::Core, Addr(0x1000), 16, c, 16);
        // The executable covers 0x1008..0x1048; the core wins where both have bytes.
        im.add_region(RegionSource::Executable, Addr(0x1008), 64, e, 0);
        // A mapping whose bytes are not in the core.
        im.add_mapping(AddrRange::new(Addr(0x9000), Addr(0xa000)));
        // A core segment that claims more bytes than the file holds.
        im.add_region(RegionSource::Core, Addr(0x5000), 1 << 20, c, 250);
        im
    }

    #[test]
    fn core_wins_and_reads_cross_into_the_executable() {
        let im = image();
        let mut b = [0u8; 12];
        im.read(Addr(0x100c), &mut b).unwrap();
        assert_eq!(&b[..4], &[28, 29, 30, 31]);
        assert_eq!(&b[4..], &[0xaa; 8]);
        assert_eq!(im.source_of(Addr(0x1009)), Some(RegionSource::Core));
        assert_eq!(im.source_of(Addr(0x1010)), Some(RegionSource::Executable));
    }

    #[test]
    fn gaps_are_typed_errors() {
        let im = image();
        assert_eq!(im.read_u64(Addr(0x9100)).unwrap_err().kind, MemErrorKind::NotInCore);
        assert_eq!(im.read_u64(Addr(0x20)).unwrap_err().kind, MemErrorKind::Unmapped);
        // Past the end of the executable's bytes.
        let e = im.read_u64(Addr(0x1044)).unwrap_err();
        assert_eq!(e.addr, Addr(0x1048));
    }

    #[test]
    fn replaced_bytes_are_read_and_the_rest_stays() {
        let mut im = image();
        assert_eq!(im.replace(Addr(0x1004), &[1, 2, 3]), 3);
        let mut b = [0u8; 8];
        im.read(Addr(0x1002), &mut b).unwrap();
        assert_eq!(b, [18, 19, 1, 2, 3, 23, 24, 25]);
        // Clipped at the region's end; reads still cross into the executable.
        assert_eq!(im.replace(Addr(0x100e), &[9; 8]), 2);
        let mut b = [0u8; 4];
        im.read(Addr(0x100d), &mut b).unwrap();
        assert_eq!(b, [29, 9, 9, 0xaa]);
        // Nothing there.
        assert_eq!(im.replace(Addr(0x20), &[1]), 0);
        assert_eq!(im.read_u8(Addr(0x100c)).unwrap(), 28);
    }

    #[test]
    fn truncated_segments_are_clipped() {
        let im = image();
        assert_eq!(im.read_u8(Addr(0x5005)).unwrap(), 255);
        assert!(im.read_u8(Addr(0x5006)).is_err());
        assert!(im.slice(Addr(0x5000), 6).is_some());
        assert!(im.slice(Addr(0x5000), 7).is_none());
    }
}
