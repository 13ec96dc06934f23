//! Go build information from `.go.buildinfo` (Go 1.18+ inline-string format).

/// What `go version -m` shows.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BuildInfo {
    /// Toolchain version as recorded, e.g. `go1.24.11` or `go1.24.11 X:noswissmap`.
    pub go_version: String,
    /// Main package path.
    pub path: Option<String>,
    /// Main module path.
    pub module: Option<String>,
    /// `GOEXPERIMENT` setting, if any.
    pub goexperiment: Option<String>,
    /// Every `build` setting as key, value.
    pub settings: Vec<(String, String)>,
}

impl BuildInfo {
    /// The plain version (`go1.24.11`), without experiment suffixes.
    pub fn version(&self) -> &str {
        self.go_version.split_whitespace().next().unwrap_or("")
    }

    /// (major, minor) of the toolchain, e.g. (1, 24).
    pub fn major_minor(&self) -> Option<(u32, u32)> {
        parse_major_minor(self.version())
    }
}

/// Parses `go1.N[.P]` into (1, N).
pub fn parse_major_minor(v: &str) -> Option<(u32, u32)> {
    let rest = v.strip_prefix("go")?;
    let mut it = rest.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

const MAGIC: &[u8] = b"\xff Go buildinf:";

#[allow(
    clippy::arithmetic_side_effects,
    reason = "i < 10: the shift is below 70 bits' worth, done on at most 10 bytes"
)]
fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x = 0u64;
    for (i, &c) in b.iter().enumerate().take(10) {
        x |= ((c & 0x7f) as u64) << (7 * i);
        if c & 0x80 == 0 {
            return Some((x, i + 1));
        }
    }
    None
}

fn varint_string(b: &[u8]) -> Option<(&[u8], usize)> {
    let (n, k) = uvarint(b)?;
    let end = k.checked_add(usize::try_from(n).ok()?)?;
    Some((b.get(k..end)?, end))
}

/// Parses the contents of `.go.buildinfo`. Only the inline-string format of
/// Go 1.18+ is supported (every version gotopsy targets writes it).
pub fn parse(section: &[u8]) -> Option<BuildInfo> {
    if section.len() < 32 || !section.starts_with(MAGIC) {
        return None;
    }
    let flags = *section.get(15)?;
    if flags & 2 == 0 {
        return None;
    }
    let (vers, n) = varint_string(section.get(32..)?)?;
    let (modinfo, _) = section.get(n.saturating_add(32)..).and_then(varint_string).unwrap_or((&[], 0));
    let mut info = BuildInfo { go_version: String::from_utf8_lossy(vers).into_owned(), ..Default::default() };
    // modinfo is framed by 16-byte sentinels.
    let text = modinfo.get(16..modinfo.len().saturating_sub(16)).filter(|_| modinfo.len() >= 33).unwrap_or(modinfo);
    for line in String::from_utf8_lossy(text).lines() {
        let mut f = line.split('\t');
        match (f.next(), f.next(), f.next()) {
            (Some("path"), Some(p), _) => info.path = Some(p.to_string()),
            (Some("mod"), Some(m), _) => info.module = Some(m.to_string()),
            (Some("build"), Some(kv), _) => {
                if let Some((k, v)) = kv.split_once('=') {
                    if k == "GOEXPERIMENT" {
                        info.goexperiment = Some(v.to_string());
                    }
                    info.settings.push((k.to_string(), v.to_string()));
                }
            }
            _ => {}
        }
    }
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_inline_buildinfo() {
        let mut s = MAGIC.to_vec();
        s.push(8);
        s.push(2);
        s.resize(32, 0);
        let v = b"go1.24.11 X:noswissmap";
        s.push(v.len() as u8);
        s.extend_from_slice(v);
        let mut m = vec![0u8; 16];
        m.extend_from_slice(
            b"path\tcrashzoo\nmod\tcrashzoo\t(devel)\t\nbuild\tGOEXPERIMENT=noswissmap\nbuild\t-buildmode=exe\n",
        );
        m.extend_from_slice(&[0u8; 16]);
        s.push((m.len() & 0x7f) as u8 | 0x80);
        s.push((m.len() >> 7) as u8);
        s.extend_from_slice(&m);
        let bi = parse(&s).unwrap();
        assert_eq!(bi.version(), "go1.24.11");
        assert_eq!(bi.major_minor(), Some((1, 24)));
        assert_eq!(bi.path.as_deref(), Some("crashzoo"));
        assert_eq!(bi.goexperiment.as_deref(), Some("noswissmap"));
        assert!(parse(&s[..20]).is_none());
    }
}
