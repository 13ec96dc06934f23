//! Opening input files: memory-mapped, with zstd or gzip inputs decompressed
//! transparently to an unlinked temporary file first.

use crate::error::{Error, Result};
use memmap2::Mmap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

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
}

/// Memory-maps `path`, decompressing it first if it is zstd or gzip.
pub fn map_file(path: &Path) -> Result<(Mmap, Compression)> {
    let io_err = |source: io::Error| Error::Io { path: path.to_path_buf(), source };
    let mut f = File::open(path).map_err(io_err)?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut f, &mut magic).map_err(io_err)?;
    f.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let kind = if n >= 4 && magic == ZSTD_MAGIC {
        Compression::Zstd
    } else if n >= 2 && magic[..2] == GZIP_MAGIC {
        Compression::Gzip
    } else {
        Compression::None
    };
    let file = match kind {
        Compression::None => f,
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::new(f).map_err(io_err)?;
            spill(dec).map_err(|e| decompress_err(path, e))?
        }
        Compression::Gzip => spill(flate2::read::MultiGzDecoder::new(f)).map_err(|e| decompress_err(path, e))?,
    };
    // SAFETY: the map is read-only; a file truncated by another process while
    // we hold it could fault, which is the accepted hazard of every mmap reader.
    let map = unsafe { Mmap::map(&file) }.map_err(io_err)?;
    Ok((map, kind))
}

fn decompress_err(path: &Path, e: io::Error) -> Error {
    Error::Io { path: path.to_path_buf(), source: io::Error::new(e.kind(), format!("decompressing: {e}")) }
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Streams a decoder into an unlinked temporary file.
fn spill(mut r: impl Read) -> io::Result<File> {
    let mut tmp = tempfile::tempfile()?;
    io::copy(&mut r, &mut tmp)?;
    tmp.seek(SeekFrom::Start(0))?;
    Ok(tmp)
}
