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

/// The whole log as text (at most 256 MiB).
pub fn read_text(path: &Path) -> Result<String, String> {
    let mut b = Vec::new();
    open(path)?.take(MAX_LOG).read_to_end(&mut b).map_err(|e| format!("reading: {e}"))?;
    Ok(String::from_utf8_lossy(&b).into_owned())
}
