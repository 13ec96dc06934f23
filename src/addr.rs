//! Typed target addresses. A Go process address is never a host `usize`.

use std::fmt;

/// An address in the dead process's virtual memory (the "actual" address:
/// for a PIE executable, already shifted by the load bias).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Addr(pub u64);

impl Addr {
    /// The null pointer.
    pub const NULL: Addr = Addr(0);

    /// `self + off`, wrapping as the target's pointer arithmetic does.
    /// (A method, not `ops::Add`, so the wrapping is explicit at call sites.)
    #[inline]
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, off: u64) -> Addr {
        Addr(self.0.wrapping_add(off))
    }

    /// `self + off` for a signed offset (frame-relative stack slots).
    #[inline]
    pub fn offset(self, off: i64) -> Addr {
        Addr(self.0.wrapping_add(off as u64))
    }

    /// `self - other`, or `None` when `other` is above `self`.
    #[inline]
    pub fn checked_sub(self, other: Addr) -> Option<u64> {
        self.0.checked_sub(other.0)
    }

    /// True for the null pointer.
    #[inline]
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::LowerHex for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

impl Addr {
    /// Writes `0x…` (lowercase, no leading zeros) into `buf` without allocating.
    pub fn to_hex(self, buf: &mut [u8; 18]) -> &str {
        // Only ASCII was written.
        std::str::from_utf8(self.to_hex_bytes(buf)).unwrap_or("0x?")
    }

    /// [`Addr::to_hex`] as bytes.
    #[allow(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        reason = "digits written right to left into a fixed 18-byte buffer, at most 16 of them"
    )]
    pub fn to_hex_bytes(self, buf: &mut [u8; 18]) -> &[u8] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut v = self.0;
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = DIGITS[(v & 0xf) as usize];
            v >>= 4;
            if v == 0 {
                break;
            }
        }
        buf[i - 1] = b'x';
        buf[i - 2] = b'0';
        &buf[i - 2..]
    }
}

impl serde::Serialize for Addr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 18];
        s.serialize_str(self.to_hex(&mut buf))
    }
}

impl<'de> serde::Deserialize<'de> for Addr {
    /// Reads the `0x…` form [`Serialize`](serde::Serialize) writes.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Addr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an address as a 0x… hex string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Addr, E> {
                s.strip_prefix("0x")
                    .filter(|h| !h.is_empty() && h.len() <= 16)
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                    .map(Addr)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(s), &self))
            }
        }
        d.deserialize_str(V)
    }
}

/// A half-open range of target addresses `[start, end)`.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default, serde::Serialize)]
pub struct AddrRange {
    /// First address in the range.
    pub start: Addr,
    /// First address past the range.
    pub end: Addr,
}

impl AddrRange {
    /// Builds `[start, end)`.
    pub fn new(start: Addr, end: Addr) -> Self {
        AddrRange { start, end }
    }

    /// True when `a` is inside the range.
    #[inline]
    pub fn contains(&self, a: Addr) -> bool {
        self.start <= a && a < self.end
    }

    /// Length in bytes (0 for an inverted range).
    pub fn len(&self) -> u64 {
        self.end.0.saturating_sub(self.start.0)
    }

    /// True when the range holds no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_hex_matches_format() {
        for v in [0u64, 1, 0xf, 0x10, 0xc000012345, u64::MAX] {
            let mut b = [0u8; 18];
            assert_eq!(Addr(v).to_hex(&mut b), format!("{v:#x}"));
        }
    }

    #[test]
    fn formats_as_hex() {
        assert_eq!(Addr(0xc000012345).to_string(), "0xc000012345");
        assert_eq!(format!("{:?}", Addr(0)), "0x0");
    }

    #[test]
    fn arithmetic_wraps_and_ranges_are_half_open() {
        assert_eq!(Addr(u64::MAX).add(2), Addr(1));
        assert_eq!(Addr(0x100).offset(-0x10), Addr(0xf0));
        assert_eq!(Addr(0x10).checked_sub(Addr(0x20)), None);
        let r = AddrRange::new(Addr(0x10), Addr(0x20));
        assert!(r.contains(Addr(0x10)) && !r.contains(Addr(0x20)));
        assert_eq!(r.len(), 0x10);
    }
}
