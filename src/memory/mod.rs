//! Reading target memory. Everything above this layer reads the dead process
//! through [`Memory`], so tests can substitute [`FakeMemory`].

mod fake;
mod image;
mod patched;

pub use fake::FakeMemory;
pub use image::{Backing, ProcessImage, RegionSource};
pub use patched::Patched;

use crate::addr::Addr;
use std::fmt;

/// Why a read of target memory failed. Small and `Copy`, so it can travel in
/// every partial result ("stack unreadable: 0x… not in core").
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MemError {
    /// First address of the failed read.
    pub addr: Addr,
    /// Length of the read.
    pub len: u64,
    /// What went wrong.
    pub kind: MemErrorKind,
}

/// The kinds of [`MemError`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MemErrorKind {
    /// No mapping of the process covers the address.
    Unmapped,
    /// The process mapped the address but the core does not hold its bytes
    /// (filtered out by `coredump_filter`, or the core is truncated).
    NotInCore,
    /// A length or count taken from the target is implausibly large.
    TooLarge,
}

impl fmt::Display for MemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            MemErrorKind::Unmapped => "not mapped in the process",
            MemErrorKind::NotInCore => "not in core",
            MemErrorKind::TooLarge => "length too large",
        };
        write!(f, "{} ({} bytes): {}", self.addr, self.len, what)
    }
}

impl std::error::Error for MemError {}

/// Read access to the target's memory.
pub trait Memory {
    /// Fills `buf` with the bytes at `addr`, or says why it cannot.
    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<(), MemError>;

    /// Borrows `len` bytes at `addr` without copying, when they lie in one
    /// backing region. `None` does not mean unreadable: use [`Memory::read`].
    fn slice(&self, _addr: Addr, _len: u64) -> Option<&[u8]> {
        None
    }

    /// A shareable view of `len` bytes at `addr` (zero-copy where the bytes
    /// lie in one memory-mapped region), refusing lengths over `max`.
    fn view(&self, addr: Addr, len: u64, max: u64) -> Result<View, MemError> {
        if len > max {
            return Err(MemError { addr, len, kind: MemErrorKind::TooLarge });
        }
        let mut v = vec![0u8; len as usize];
        self.read(addr, &mut v)?;
        Ok(View::from_vec(v))
    }
}

/// Bytes of the target kept for repeated use (pclntab tables): a window on
/// shared backing bytes, so views into a memory map cost no copy.
#[derive(Clone)]
pub struct View {
    backing: Backing,
    off: usize,
    len: usize,
}

impl View {
    /// A view owning `v`.
    pub fn from_vec(v: Vec<u8>) -> View {
        let len = v.len();
        View { backing: std::sync::Arc::new(v), off: 0, len }
    }

    /// A window on `backing`, or `None` if it does not fit.
    pub fn window(backing: Backing, off: usize, len: usize) -> Option<View> {
        let end = off.checked_add(len)?;
        if end > backing.as_ref().as_ref().len() {
            return None;
        }
        Some(View { backing, off, len })
    }

    /// The bytes.
    #[allow(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        reason = "the view's window and the chunk lengths are checked against the backing when made"
    )]
    pub fn bytes(&self) -> &[u8] {
        &self.backing.as_ref().as_ref()[self.off..self.off + self.len]
    }
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "View({} bytes)", self.len)
    }
}

/// Largest string or byte run read from the target in one go.
pub const MAX_TARGET_STRING: u64 = 1 << 20;

/// Typed little-endian reads on top of [`Memory`] (linux/amd64 targets).
pub trait ReadExt: Memory {
    /// Reads `N` bytes.
    fn read_array<const N: usize>(&self, addr: Addr) -> Result<[u8; N], MemError> {
        if let Some(s) = self.slice(addr, N as u64) {
            if let Ok(b) = <[u8; N]>::try_from(s) {
                return Ok(b);
            }
        }
        let mut b = [0u8; N];
        self.read(addr, &mut b)?;
        Ok(b)
    }
    /// Reads a `uint8`.
    fn read_u8(&self, addr: Addr) -> Result<u8, MemError> {
        Ok(self.read_array::<1>(addr)?[0])
    }
    /// Reads a `uint16`.
    fn read_u16(&self, addr: Addr) -> Result<u16, MemError> {
        Ok(u16::from_le_bytes(self.read_array(addr)?))
    }
    /// Reads a `uint32`.
    fn read_u32(&self, addr: Addr) -> Result<u32, MemError> {
        Ok(u32::from_le_bytes(self.read_array(addr)?))
    }
    /// Reads an `int32`.
    fn read_i32(&self, addr: Addr) -> Result<i32, MemError> {
        Ok(i32::from_le_bytes(self.read_array(addr)?))
    }
    /// Reads a `uint64`.
    fn read_u64(&self, addr: Addr) -> Result<u64, MemError> {
        Ok(u64::from_le_bytes(self.read_array(addr)?))
    }
    /// Reads an `int64`.
    fn read_i64(&self, addr: Addr) -> Result<i64, MemError> {
        Ok(i64::from_le_bytes(self.read_array(addr)?))
    }
    /// Reads a pointer.
    fn read_ptr(&self, addr: Addr) -> Result<Addr, MemError> {
        Ok(Addr(self.read_u64(addr)?))
    }
    /// Reads an unsigned integer of `size` bytes (1, 2, 4 or 8).
    fn read_uint(&self, addr: Addr, size: u64) -> Result<u64, MemError> {
        Ok(match size {
            1 => self.read_u8(addr)? as u64,
            2 => self.read_u16(addr)? as u64,
            4 => self.read_u32(addr)? as u64,
            _ => self.read_u64(addr)?,
        })
    }
    /// Reads `len` bytes into a new vector, refusing lengths over `max`.
    fn read_vec(&self, addr: Addr, len: u64, max: u64) -> Result<Vec<u8>, MemError> {
        if len > max {
            return Err(MemError { addr, len, kind: MemErrorKind::TooLarge });
        }
        let mut v = vec![0u8; len as usize];
        self.read(addr, &mut v)?;
        Ok(v)
    }
    /// Reads a Go `string` header (pointer, length) at `addr` and its bytes.
    fn read_go_string(&self, addr: Addr) -> Result<String, MemError> {
        let ptr = self.read_ptr(addr)?;
        let len = self.read_u64(addr.add(8))?;
        let bytes = self.read_vec(ptr, len, MAX_TARGET_STRING)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
    /// Reads a NUL-terminated string of at most `max` bytes.
    #[allow(
        clippy::indexing_slicing,
        reason = "the view's window and the chunk lengths are checked against the backing when made"
    )]
    fn read_cstring(&self, addr: Addr, max: u64) -> Result<String, MemError> {
        let mut out = Vec::new();
        let mut chunk = [0u8; 64];
        let mut at = addr;
        while (out.len() as u64) < max {
            // Read byte by byte at the end of a region, in chunks elsewhere.
            let n = match self.read(at, &mut chunk) {
                Ok(()) => chunk.len(),
                Err(_) => {
                    self.read(at, &mut chunk[..1])?;
                    1
                }
            };
            if let Some(z) = chunk[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..z]);
                return Ok(String::from_utf8_lossy(&out).into_owned());
            }
            out.extend_from_slice(&chunk[..n]);
            at = at.add(n as u64);
        }
        Err(MemError { addr, len: max, kind: MemErrorKind::TooLarge })
    }
}

impl<M: Memory + ?Sized> ReadExt for M {}
