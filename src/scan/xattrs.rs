//! What systemd-coredump records about a core in the file's extended
//! attributes (`user.coredump.pid`, `.uid`, `.signal`, `.timestamp`,
//! `.comm`, `.exe`, `.hostname`; each a value without a trailing NUL), when
//! the file system kept them. Read with bounded buffers; a value that is not
//! text or not a number where one is due is left out, never guessed.

use std::path::Path;

/// Longest attribute value read (a path).
const MAX_VALUE: usize = 4096;

/// systemd-coredump's metadata of one core.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Coredump {
    /// The crashed process' id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Its user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// The signal that dumped it (`SIGABRT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// When it crashed (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Its command name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    /// Its executable's path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// The host it ran on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The timestamp in seconds since the epoch (for the record's time).
    #[serde(skip)]
    pub unix_seconds: Option<i64>,
}

/// One attribute's value as text, if present and text.
fn value(path: &Path, name: &str) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let n = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0u8; MAX_VALUE];
    // SAFETY: both names are NUL-terminated C strings; the buffer is
    // writable for its length, which is what is passed.
    let len = unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let len = usize::try_from(len).ok()?;
    buf.truncate(len);
    let s = String::from_utf8(buf).ok()?;
    let s = s.trim_end_matches('\0').trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The metadata systemd-coredump left on `path`, or `None` when it left none.
pub fn read(path: &Path) -> Option<Coredump> {
    let get = |k: &str| value(path, &format!("user.coredump.{k}"));
    let usec: Option<i64> = get("timestamp").and_then(|t| t.parse().ok());
    let secs = usec.map(|u| u.div_euclid(1_000_000));
    let c = Coredump {
        pid: get("pid").and_then(|v| v.parse().ok()),
        uid: get("uid").and_then(|v| v.parse().ok()),
        signal: get("signal").and_then(|v| v.parse::<u32>().ok()).map(crate::runtime::crash::signal_name),
        timestamp: secs.map(super::when::rfc3339),
        comm: get("comm"),
        exe: get("exe"),
        hostname: get("hostname"),
        unix_seconds: secs,
    };
    (c != Coredump::default()).then_some(c)
}
