//! A [`Memory`] with one range's bytes replaced: the core's memory, with the
//! executable's initial copy of a structure the runtime never writes after
//! start-up standing in for the core's (which a damaged core may have lost).

use super::{MemError, Memory, View};
use crate::addr::{Addr, AddrRange};

/// `base`, except that `bytes` are seen at `at`.
pub struct Patched<'a> {
    base: &'a dyn Memory,
    range: AddrRange,
    bytes: Vec<u8>,
}

impl<'a> Patched<'a> {
    /// `base` with `bytes` at `at`.
    pub fn new(base: &'a dyn Memory, at: Addr, bytes: Vec<u8>) -> Self {
        let range = AddrRange::new(at, at.add(bytes.len() as u64));
        Patched { base, range, bytes }
    }

    fn overlaps(&self, addr: Addr, len: u64) -> bool {
        addr < self.range.end && self.range.start < addr.add(len)
    }
}

impl Memory for Patched<'_> {
    #[allow(clippy::arithmetic_side_effects, reason = "it overlaps: lo is at or above both starts, hi at or above lo")]
    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<(), MemError> {
        let len = buf.len() as u64;
        if !self.overlaps(addr, len) {
            return self.base.read(addr, buf);
        }
        // The bytes outside the patch must come from the base.
        let inside = addr >= self.range.start && addr.add(len) <= self.range.end;
        if !inside {
            self.base.read(addr, buf)?;
        }
        let lo = addr.max(self.range.start);
        let hi = addr.add(len).min(self.range.end);
        let (src, dst) = ((lo.0 - self.range.start.0) as usize, (lo.0 - addr.0) as usize);
        let n = (hi.0 - lo.0) as usize;
        if let (Some(s), Some(d)) = (self.bytes.get(src..src + n), buf.get_mut(dst..dst + n)) {
            d.copy_from_slice(s);
        }
        Ok(())
    }

    fn slice(&self, addr: Addr, len: u64) -> Option<&[u8]> {
        if self.overlaps(addr, len) {
            let off = usize::try_from(addr.checked_sub(self.range.start)?).ok()?;
            return self.bytes.get(off..off.checked_add(usize::try_from(len).ok()?)?);
        }
        self.base.slice(addr, len)
    }

    fn view(&self, addr: Addr, len: u64, max: u64) -> Result<View, MemError> {
        if self.overlaps(addr, len) && len <= max {
            let mut v = vec![0u8; len as usize];
            self.read(addr, &mut v)?;
            return Ok(View::from_vec(v));
        }
        self.base.view(addr, len, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{FakeMemory, ReadExt};

    #[test]
    fn the_patch_wins_and_the_rest_reads_through() {
        let base = FakeMemory::new().map_words(Addr(0x1000), &[1, 2, 3, 4]);
        let p = Patched::new(&base, Addr(0x1008), 9u64.to_le_bytes().to_vec());
        assert_eq!(p.read_u64(Addr(0x1000)).unwrap(), 1);
        assert_eq!(p.read_u64(Addr(0x1008)).unwrap(), 9);
        assert_eq!(p.read_u64(Addr(0x1010)).unwrap(), 3);
        // A read straddling the patch takes each byte from where it lives.
        let mut b = [0u8; 24];
        p.read(Addr(0x1000), &mut b).unwrap();
        assert_eq!(&b[8..16], &9u64.to_le_bytes());
        assert_eq!(&b[16..24], &3u64.to_le_bytes());
        // A patch over memory the base lacks still reads.
        let p = Patched::new(&base, Addr(0x9000), vec![7; 8]);
        assert_eq!(p.read_u64(Addr(0x9000)).unwrap(), u64::from_le_bytes([7; 8]));
        assert!(p.read_u64(Addr(0x9004)).is_err());
    }
}
