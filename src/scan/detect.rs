//! What an input is: a core (an ELF core, plain or compressed) or a
//! candidate crash log (text, plain or compressed), by content.

use std::io::Read;
use std::path::Path;

/// A scan input's kind.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// A core dump.
    Core,
    /// A crash log.
    Log,
}

/// Most bytes of a log read (a log is text about a crash, not a dump).
const MAX_LOG: u64 = 256 << 20;

/// A reader of the file's decompressed bytes.
fn open(path: &Path) -> Result<Box<dyn Read>, String> {
    crate::corefile::read_decompressed(path).map_err(|e| e.to_string())
}

/// A core, a log, or neither (`None`).
pub fn kind(path: &Path) -> Result<Option<InputKind>, String> {
    let mut head = Vec::with_capacity(1 << 16);
    open(path)?.take(1 << 16).read_to_end(&mut head).map_err(|e| format!("reading: {e}"))?;
    if let (true, Some(&[a, b])) = (head.starts_with(b"\x7fELF"), head.get(16..18)) {
        // e_type at 16: ET_CORE.
        return Ok((u16::from_le_bytes([a, b]) == 4).then_some(InputKind::Core));
    }
    // Text is a candidate log: the crashes in it are looked for when it is
    // read whole (one read); text with none is skipped then.
    Ok((!head.contains(&0)).then_some(InputKind::Log))
}

/// The log as text, at most [`MAX_LOG`] bytes of it (decompressed, for a
/// rotated `.gz`/`.zst` log: a bomb stops there too), and whether it went on.
pub fn read_text(path: &Path) -> Result<(String, bool), String> {
    read_text_capped(path, MAX_LOG)
}

fn read_text_capped(path: &Path, cap: u64) -> Result<(String, bool), String> {
    let mut b = Vec::new();
    let mut r = open(path)?;
    (&mut r).take(cap).read_to_end(&mut b).map_err(|e| format!("reading: {e}"))?;
    let more = r.read(&mut [0u8; 1]).map(|n| n > 0).unwrap_or(false);
    Ok((String::from_utf8_lossy(&b).into_owned(), more))
}

/// [`MAX_LOG`] in MiB, for messages.
pub const MAX_LOG_MIB: u64 = MAX_LOG >> 20;

#[cfg(test)]
mod tests {
    #[test]
    fn a_log_is_read_up_to_its_cap_and_says_it_went_on() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("app.log");
        std::fs::write(&plain, "panic: boom\n\ngoroutine 1 [running]:\n").unwrap();
        let (t, more) = super::read_text_capped(&plain, 11).unwrap();
        assert_eq!((t.as_str(), more), ("panic: boom", true));
        let (t, more) = super::read_text_capped(&plain, 1 << 20).unwrap();
        assert!(t.ends_with("[running]:\n") && !more);
        // A rotated .gz log: the cap counts decompressed bytes.
        let gz = dir.path().join("app.log.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, &vec![b'x'; 1 << 20]).unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
        let (t, more) = super::read_text_capped(&gz, 4096).unwrap();
        assert_eq!((t.len(), more), (4096, true));
    }
}
