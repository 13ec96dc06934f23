//! Opening input files: memory-mapped, with zstd, gzip, xz or lz4 inputs
//! (systemd-coredump writes zstd, xz or lz4) decompressed to an unlinked
//! temporary file first; `-` is standard input.

use crate::error::{Error, Result};
use memmap2::Mmap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];
const LZ4_MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];

/// How an input file was stored.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Plain bytes.
    None,
    /// zstd (systemd-coredump's `.zst`).
    Zstd,
    /// gzip.
    Gzip,
    /// xz (systemd-coredump's `.xz`).
    Xz,
    /// The lz4 frame format (systemd-coredump's `.lz4`).
    Lz4,
}

/// An opened input.
pub struct Input {
    /// Its bytes (decompressed).
    pub map: Mmap,
    /// How it was stored.
    pub compression: Compression,
    /// Why it is shorter than it was meant to be: a compressed stream that
    /// ended early decompresses as far as it goes.
    pub cut: Option<String>,
}

impl Compression {
    fn sniff(magic: &[u8]) -> Compression {
        if magic.starts_with(&ZSTD_MAGIC) {
            Compression::Zstd
        } else if magic.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if magic.starts_with(&XZ_MAGIC) {
            Compression::Xz
        } else if magic.starts_with(&LZ4_MAGIC) {
            Compression::Lz4
        } else {
            Compression::None
        }
    }
}

/// Memory-maps `path`, decompressing it first if it is compressed; a cut
/// compressed stream is an error (see [`open_input`] to read what there is).
pub fn map_file(path: &Path) -> Result<(Mmap, Compression)> {
    let i = open_input(path)?;
    match i.cut {
        Some(why) => Err(Error::Io { path: path.to_path_buf(), source: io::Error::other(why) }),
        None => Ok((i.map, i.compression)),
    }
}

/// Opens `path` (`-`: standard input), decompressing it when compressed.
pub fn open_input(path: &Path) -> Result<Input> {
    let io_err = |source: io::Error| Error::Io { path: path.to_path_buf(), source };
    if path == Path::new("-") {
        let mut r = BufReader::with_capacity(1 << 20, io::stdin().lock());
        let magic = r.fill_buf().map_err(io_err)?;
        let kind = Compression::sniff(magic);
        let (file, cut) = decode(kind, r).map_err(|e| temp_err(path, e))?;
        return finish(path, file, kind, cut);
    }
    let mut f = File::open(path).map_err(io_err)?;
    let meta = f.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(io_err(io::Error::new(io::ErrorKind::IsADirectory, "is a directory, not a file")));
    }
    if !meta.is_file() {
        // A pipe or FIFO (`--exe <(zstd -dc exe.zst)`): it cannot be mapped or
        // rewound, so it is read once into a temporary file, as standard input is.
        let mut r = BufReader::with_capacity(1 << 20, f);
        let magic = r.fill_buf().map_err(io_err)?;
        let kind = Compression::sniff(magic);
        let (file, cut) = decode(kind, r).map_err(|e| temp_err(path, e))?;
        return finish(path, file, kind, cut);
    }
    let mut magic = [0u8; 6];
    let n = read_up_to(&mut f, &mut magic).map_err(io_err)?;
    f.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let kind = Compression::sniff(magic.get(..n).unwrap_or_default());
    if kind == Compression::None {
        return finish(path, f, kind, None);
    }
    let (file, cut) = decode(kind, BufReader::new(f)).map_err(|e| temp_err(path, e))?;
    finish(path, file, kind, cut)
}

fn finish(path: &Path, file: File, compression: Compression, cut: Option<String>) -> Result<Input> {
    // SAFETY: the map is read-only; a file truncated by another process while
    // we hold it could fault, which is the accepted hazard of every mmap reader.
    let map = unsafe { Mmap::map(&file) }.map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    if map.is_empty() {
        if let Some(why) = cut {
            return Err(Error::Io { path: path.to_path_buf(), source: io::Error::other(why) });
        }
    }
    Ok(Input { map, compression, cut })
}

/// A reader of `r`'s decompressed bytes.
fn decoder<'a>(kind: Compression, r: impl BufRead + 'a) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match kind {
        Compression::None => Box::new(r),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(r)?),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(r)),
        Compression::Xz => Box::new(xz2::bufread::XzDecoder::new_multi_decoder(r)),
        Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(r)),
    })
}

/// Decompresses (or copies, for plain standard input) into a temporary file.
fn decode(kind: Compression, r: impl BufRead) -> io::Result<(File, Option<String>)> {
    spill(decoder(kind, r)?)
}

/// A stream of `path`'s bytes, decompressed as they are read (for a look at
/// the content without spilling it to a temporary file).
pub fn read_decompressed(path: &Path) -> io::Result<Box<dyn Read>> {
    let mut f = File::open(path)?;
    let mut magic = [0u8; 6];
    let n = read_up_to(&mut f, &mut magic)?;
    f.seek(SeekFrom::Start(0))?;
    decoder(Compression::sniff(magic.get(..n).unwrap_or_default()), BufReader::new(f))
}

/// An error writing the temporary file, naming `TMPDIR` when that is where it went wrong.
fn temp_err(path: &Path, e: io::Error) -> Error {
    let dir = std::env::temp_dir();
    let source = if !dir.is_dir() {
        io::Error::new(
            e.kind(),
            format!(
                "the temporary directory {} (TMPDIR) does not exist; set TMPDIR to a directory with room for the decompressed input",
                dir.display()
            ),
        )
    } else {
        io::Error::new(e.kind(), format!("decompressing into {}: {e}", dir.display()))
    };
    Error::Io { path: path.to_path_buf(), source }
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..).filter(|r| !r.is_empty()) {
        match f.read(rest)? {
            0 => break,
            k => n = n.saturating_add(k),
        }
    }
    Ok(n)
}

/// The most bytes one input may decompress to (`--max-decompressed`);
/// 0: the temporary directory's free space less 1 GiB, as it is when the
/// decompression starts.
static MAX_DECOMPRESSED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Sets the most bytes one input may decompress to (0: the temporary
/// directory's free space less 1 GiB). A process-wide limit, set once by the
/// command line.
pub fn set_max_decompressed(bytes: u64) {
    MAX_DECOMPRESSED.store(bytes, std::sync::atomic::Ordering::Relaxed);
}

/// Bytes decompressed so far by the decompressions under way, and the bytes
/// their cores' headers say they hold (0 until known), for a progress line.
static DECOMPRESSED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static DECOMPRESSING_TO: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Decompressions under way.
static DECOMPRESSING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// While inputs are being decompressed: the bytes written so far and, when
/// their headers say, how many they will be (summed over the decompressions
/// under way); `None` when none is.
pub fn decompression_progress() -> Option<(u64, Option<u64>)> {
    use std::sync::atomic::Ordering::Relaxed;
    if DECOMPRESSING.load(Relaxed) == 0 {
        return None;
    }
    let to = DECOMPRESSING_TO.load(Relaxed);
    Some((DECOMPRESSED.load(Relaxed), (to > 0).then_some(to)))
}

/// Counts one decompression under way while it lives.
struct Decompressing {
    done: u64,
    to: u64,
}

impl Decompressing {
    fn start() -> Decompressing {
        DECOMPRESSING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Decompressing { done: 0, to: 0 }
    }

    fn wrote(&mut self, n: u64) {
        self.done = self.done.saturating_add(n);
        DECOMPRESSED.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    fn ends_at(&mut self, to: u64) {
        if self.to == 0 {
            self.to = to;
            DECOMPRESSING_TO.fetch_add(to, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl Drop for Decompressing {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::Relaxed;
        DECOMPRESSED.fetch_sub(self.done, Relaxed);
        DECOMPRESSING_TO.fetch_sub(self.to, Relaxed);
        DECOMPRESSING.fetch_sub(1, Relaxed);
    }
}

/// Free bytes in the temporary directory (`statvfs`), if it can be asked.
fn temp_free_space() -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let dir = std::ffi::CString::new(std::env::temp_dir().as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `dir` is a NUL-terminated path and `st` a buffer statvfs fills on success.
    let rc = unsafe { libc::statvfs(dir.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it initialized `st`.
    let st = unsafe { st.assume_init() };
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

/// The limit in force: `--max-decompressed`, else free space less 1 GiB.
fn max_decompressed() -> u64 {
    match MAX_DECOMPRESSED.load(std::sync::atomic::Ordering::Relaxed) {
        0 => temp_free_space().map_or(u64::MAX, |free| free.saturating_sub(1 << 30)),
        n => n,
    }
}

/// Where a core ends by its own headers: the end of its last segment's file
/// data or of its section header table, whichever is later (`None` until the
/// headers are in `head`, and for anything but a 64-bit little-endian ELF
/// core: an executable's non-allocated sections may lie anywhere).
fn elf_end(head: &[u8]) -> Option<u64> {
    // e_type at 16: ET_CORE.
    if !head.starts_with(b"\x7fELF\x02\x01") || head.get(16..18) != Some(&[4, 0]) {
        return None;
    }
    let u16_at = |o: usize| {
        head.get(o..o.checked_add(2)?).and_then(|b| b.try_into().ok()).map(|b| u64::from(u16::from_le_bytes(b)))
    };
    let u64_at = |o: u64| {
        let o = usize::try_from(o).ok()?;
        head.get(o..o.checked_add(8)?).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes)
    };
    let (phoff, shoff) = (u64_at(0x20)?, u64_at(0x28)?);
    let (phentsize, phnum, shentsize, shnum) = (u16_at(0x36)?, u16_at(0x38)?, u16_at(0x3a)?, u16_at(0x3c)?);
    let mut end = shoff.saturating_add(shentsize.saturating_mul(shnum));
    for i in 0..phnum {
        let ph = phoff.checked_add(i.checked_mul(phentsize)?)?;
        let (offset, filesz) = (u64_at(ph.checked_add(8)?)?, u64_at(ph.checked_add(32)?)?);
        end = end.max(offset.saturating_add(filesz));
    }
    Some(end)
}

/// Bytes of the decompressed stream kept to read an ELF file's headers from.
const HEAD: usize = 1 << 20;

/// Streams a decoder into an unlinked temporary file. A stream that breaks
/// off (cut short, or damaged further on) keeps what came before, and says why.
fn spill(mut r: impl Read) -> io::Result<(File, Option<String>)> {
    let mut counted = Decompressing::start();
    let limit = max_decompressed();
    let mut tmp = tempfile::tempfile()?;
    let mut buf = vec![0u8; 1 << 20];
    let mut head: Vec<u8> = Vec::new();
    let mut end: Option<u64> = None;
    let mut total: u64 = 0;
    let mut cut = None;
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let chunk = buf.get(..n).unwrap_or_default();
                if end.is_none() && head.len() < HEAD {
                    head.extend_from_slice(
                        chunk.get(..chunk.len().min(HEAD.saturating_sub(head.len()))).unwrap_or_default(),
                    );
                    end = elf_end(&head);
                    if let Some(e) = end {
                        counted.ends_at(e);
                    }
                }
                // An ELF file ends where its headers say: bytes past that (a
                // bomb appended to a core) are not written.
                let keep = end.map_or(n as u64, |e| e.saturating_sub(total).min(n as u64));
                if total.saturating_add(keep) > limit {
                    cut = Some(format!(
                        "decompression stopped at {limit} bytes (--max-decompressed; by default the temporary directory's free space less 1 GiB)"
                    ));
                    let room = usize::try_from(limit.saturating_sub(total)).unwrap_or(0);
                    io::Write::write_all(&mut tmp, chunk.get(..room.min(n)).unwrap_or_default())?;
                    break;
                }
                io::Write::write_all(&mut tmp, chunk.get(..keep as usize).unwrap_or_default())?;
                total = total.saturating_add(keep);
                counted.wrote(keep);
                if end.is_some_and(|e| total >= e) {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                cut = Some(format!("the compressed stream breaks off after {total} bytes ({e})"));
                break;
            }
        }
    }
    tmp.seek(SeekFrom::Start(0))?;
    Ok((tmp, cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decompression_under_way_says_how_far_it_is() {
        /// Gives 1 MiB a read; on its fourth, notes what the progress says.
        struct Slow {
            reads: usize,
            seen: Option<Option<(u64, Option<u64>)>>,
        }
        impl Read for Slow {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.reads += 1;
                if self.reads == 4 {
                    self.seen = Some(decompression_progress());
                }
                if self.reads > 8 {
                    return Ok(0);
                }
                let n = buf.len().min(1 << 20);
                buf.get_mut(..n).unwrap_or_default().fill(1);
                Ok(n)
            }
        }
        let mut r = Slow { reads: 0, seen: None };
        let (f, cut) = spill(&mut r).unwrap();
        assert_eq!((f.metadata().unwrap().len(), cut), (8 << 20, None));
        let (done, _) = r.seen.flatten().expect("under way");
        assert!(done >= 3 << 20, "{done} bytes counted after three reads");
    }

    #[test]
    fn every_format_decompresses_and_a_cut_stream_keeps_its_start() {
        let data: Vec<u8> = (0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let zst = zstd::encode_all(&data[..], 3).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        io::Write::write_all(&mut gz, &data).unwrap();
        let gz = gz.finish().unwrap();
        let mut xz = xz2::write::XzEncoder::new(Vec::new(), 6);
        io::Write::write_all(&mut xz, &data).unwrap();
        let xz = xz.finish().unwrap();
        let mut lz = lz4_flex::frame::FrameEncoder::new(Vec::new());
        io::Write::write_all(&mut lz, &data).unwrap();
        let lz = lz.finish().unwrap();
        for (kind, bytes) in
            [(Compression::Zstd, zst), (Compression::Gzip, gz), (Compression::Xz, xz), (Compression::Lz4, lz)]
        {
            assert_eq!(Compression::sniff(&bytes), kind);
            let (mut f, cut) = decode(kind, &bytes[..]).unwrap();
            let mut out = Vec::new();
            f.read_to_end(&mut out).unwrap();
            assert!(cut.is_none(), "{kind:?}");
            assert!(out == data, "{kind:?}");
            let half = &bytes[..bytes.len() / 2];
            let (mut f, cut) = decode(kind, half).unwrap();
            let mut out = Vec::new();
            f.read_to_end(&mut out).unwrap();
            assert!(cut.is_some(), "{kind:?}: a cut stream says so");
            assert!(data.starts_with(&out), "{kind:?}: what came before the cut is kept");
        }
    }
}
