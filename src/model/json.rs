//! The report JSON of an [`Analysis`]: written in parallel chunks (frames by
//! hand: they are nearly all of the output), read back with serde. Writing
//! what was read gives the same bytes.

use super::{Analysis, FrameRef, Goroutine, SCHEMA_VERSION};
use crate::addr::Addr;
use rayon::prelude::*;
use serde::Serialize;
use std::io::{self, Write};

/// Goroutines serialized per parallel task.
const JSON_CHUNK: usize = 1024;
/// Chunks serialized before they are written (bounds the buffered output).
const JSON_WINDOW: usize = 16;
/// Largest saved report read (a report is text about a core, not the core).
pub const MAX_REPORT_BYTES: u64 = 8 << 30;

/// Why a saved report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Not JSON, or JSON that is not a gotopsy report.
    #[error("not a gotopsy report ({0}); make one with `gotopsy analyze CORE --format json`")]
    NotAReport(String),
    /// A report of a newer, incompatible schema.
    #[error("report schema {found} is newer than this gotopsy reads ({SCHEMA_VERSION}); use a newer gotopsy")]
    NewerSchema {
        /// The report's `schema_version`.
        found: String,
    },
}

impl Analysis {
    /// Writes the report as compact JSON, one line. Goroutines, maps and
    /// iterators are serialized in parallel, a bounded window at a time, and
    /// written in order: the output does not depend on the number of threads.
    pub fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(b"{")?;
        field(w, true, "schema_version", &self.schema_version)?;
        field(w, false, "tool_version", &self.tool_version)?;
        field(w, false, "target", &self.target)?;
        field(w, false, "crash", &self.crash)?;
        field(w, false, "clock_ns", &self.clock_ns)?;
        w.write_all(b",\"goroutines\":[")?;
        write_items(w, &self.goroutines, write_goroutine)?;
        w.write_all(b"]")?;
        // Derived from the goroutines; written from schema 1.5 on, so that a
        // report of an earlier schema reads back to the same bytes.
        if schema_at_least(&self.schema_version, 1, 5) {
            field(w, false, "stack_groups", &self.stack_groups_json())?;
        }
        field(w, false, "maps_analysis", &self.maps_analysis)?;
        array(w, "maps", &self.maps)?;
        array(w, "iterators", &self.iterators)?;
        field(w, false, "findings", &self.findings)?;
        field(w, false, "dead_iterator_slots", &self.dead_iterator_slots)?;
        if let Some(t) = &self.trace {
            field(w, false, "trace", t)?;
        }
        if !self.signal_handlers.is_empty() {
            w.write_all(b",\"signal_handlers\":[")?;
            for (i, h) in self.signal_handlers.iter().enumerate() {
                let mut b = Vec::new();
                if i > 0 {
                    b.push(b',');
                }
                // Its fields through serde (which skips the goroutine), then the goroutine as every goroutine is written.
                serde_json::to_writer(&mut b, h)?;
                if b.pop() != Some(b'}') {
                    return Err(io::Error::other("unexpected signal handler JSON shape"));
                }
                b.extend_from_slice(b",\"goroutine\":");
                write_goroutine(&mut b, &h.goroutine)?;
                b.push(b'}');
                w.write_all(&b)?;
            }
            w.write_all(b"]")?;
        }
        field(w, false, "warnings", &self.warnings)?;
        let kinds: Vec<crate::warning::WarningKind> = self.warnings.iter().map(|w| w.kind).collect();
        field(w, false, "warning_kinds", &kinds)?;
        if let Some(c) = &self.core_alone {
            field(w, false, "core_alone", c)?;
        }
        w.write_all(b"}\n")
    }

    /// The report's `stack_groups`: every goroutine in a group of identical
    /// stacks, largest group first.
    fn stack_groups_json(&self) -> Vec<StackGroupJson<'_>> {
        let minor = self.target.go_minor();
        self.stack_groups(|_| true)
            .into_iter()
            .filter_map(|grp| {
                let first = self.goroutines.get(*grp.members.first()?)?;
                Some(StackGroupJson {
                    count: grp.members.len(),
                    status: &first.status,
                    goroutines: grp.members.iter().filter_map(|&i| self.goroutines.get(i).map(|g| g.id)).collect(),
                    user_frame: first.user_frame(minor),
                })
            })
            .collect()
    }

    /// Writes `{"schema_version", "goroutines": [...]}`: the goroutines `filter`
    /// keeps, in the report's goroutine shape (`goroutines --format json`).
    pub fn write_goroutines_json(&self, w: &mut dyn Write, filter: &super::GoroutineFilter) -> io::Result<()> {
        w.write_all(b"{")?;
        field(w, true, "schema_version", &self.schema_version)?;
        w.write_all(b",\"goroutines\":[")?;
        if filter.is_empty() {
            write_items(w, &self.goroutines, write_goroutine)?;
        } else {
            let kept: Vec<&Goroutine> = self.goroutines.iter().filter(|g| filter.matches(g)).collect();
            write_items(w, &kept, |b, g| write_goroutine(b, g))?;
        }
        w.write_all(b"]}\n")
    }

    /// Reads a saved report (what [`write_json`](Self::write_json) wrote, of
    /// this schema major version or an older minor).
    pub fn from_json(bytes: &[u8]) -> Result<Analysis, ReportError> {
        #[derive(serde::Deserialize)]
        struct Head {
            schema_version: Option<String>,
            tool_version: Option<String>,
            target: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            warning_kinds: Vec<crate::warning::WarningKind>,
        }
        let head: Head = serde_json::from_slice(bytes).map_err(|e| ReportError::NotAReport(e.to_string()))?;
        let kinds = head.warning_kinds;
        let (Some(version), Some(_), Some(_)) = (head.schema_version, head.tool_version, head.target) else {
            return Err(ReportError::NotAReport("no schema_version, tool_version and target".into()));
        };
        match (version_part(&version, 0), version_part(SCHEMA_VERSION, 0)) {
            (Some(f), Some(ours)) if f > ours => return Err(ReportError::NewerSchema { found: version }),
            (None, _) => return Err(ReportError::NotAReport(format!("schema_version {version:?}"))),
            _ => {}
        }
        let r = serde_json::from_slice::<Analysis>(bytes).map_err(|e| ReportError::NotAReport(e.to_string())).map(
            |mut a| {
                if kinds.len() == a.warnings.len() {
                    for (w, k) in a.warnings.iter_mut().zip(kinds) {
                        w.kind = k;
                    }
                }
                a
            },
        );
        crate::intern::forget_shared();
        crate::runtime::symbolize::forget_shared_sites();
        crate::runtime::stack::forget_shared_stacks();
        r
    }
}

fn field(w: &mut dyn Write, first: bool, name: &str, v: &impl Serialize) -> io::Result<()> {
    if !first {
        w.write_all(b",")?;
    }
    serde_json::to_writer(&mut *w, name)?;
    w.write_all(b":")?;
    serde_json::to_writer(&mut *w, v)?;
    Ok(())
}

/// Writes `,"name":[…]` with serde, the items serialized in parallel.
fn array<T: Serialize + Sync>(w: &mut dyn Write, name: &str, items: &[T]) -> io::Result<()> {
    w.write_all(b",")?;
    serde_json::to_writer(&mut *w, name)?;
    w.write_all(b":[")?;
    write_items(w, items, |b, item| Ok(serde_json::to_writer(b, item)?))?;
    w.write_all(b"]")
}

/// Writes the items comma-separated: chunks are serialized in parallel, a
/// bounded window at a time, and written in order.
fn write_items<T: Sync>(
    w: &mut dyn Write,
    items: &[T],
    one: impl Fn(&mut Vec<u8>, &T) -> io::Result<()> + Sync,
) -> io::Result<()> {
    let mut first = true;
    for window in items.chunks(JSON_CHUNK * JSON_WINDOW) {
        let bufs: Vec<io::Result<Vec<u8>>> = window
            .par_chunks(JSON_CHUNK)
            .map(|chunk| {
                let mut b = Vec::with_capacity(chunk.len().saturating_mul(512));
                for (i, item) in chunk.iter().enumerate() {
                    if i > 0 {
                        b.push(b',');
                    }
                    one(&mut b, item)?;
                }
                Ok(b)
            })
            .collect();
        for b in bufs {
            let b = b?;
            if b.is_empty() {
                continue;
            }
            if !first {
                w.write_all(b",")?;
            }
            first = false;
            w.write_all(&b)?;
        }
    }
    Ok(())
}

/// A group of goroutines with identical stacks, as the report writes it.
#[derive(Serialize)]
struct StackGroupJson<'a> {
    count: usize,
    status: &'a str,
    goroutines: Vec<u64>,
    user_frame: Option<crate::runtime::user_code::UserFrame>,
}

/// True when `version` (`1.5.0`) is `major.minor` or later.
fn schema_at_least(version: &str, major: u64, minor: u64) -> bool {
    match (version_part(version, 0), version_part(version, 1)) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}

/// Part `i` of a `major.minor.patch` version, when it is a number.
fn version_part(version: &str, i: usize) -> Option<u64> {
    version.split('.').nth(i).and_then(|p| p.parse().ok())
}

/// Writes one goroutine: its fields through serde (which skips `frames`),
/// then its frames by hand.
fn write_goroutine(b: &mut Vec<u8>, g: &Goroutine) -> io::Result<()> {
    serde_json::to_writer(&mut *b, g)?;
    if b.last() != Some(&b'}') {
        return Err(io::Error::other("unexpected goroutine JSON shape"));
    }
    b.pop();
    b.extend_from_slice(b",\"frames\":[");
    for (i, f) in g.frames.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        write_frame(b, f);
    }
    b.extend_from_slice(b"]}");
    Ok(())
}

/// Appends a JSON string, escaping only where needed.
fn json_str(b: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|c| c >= 0x20 && c != b'"' && c != b'\\') {
        b.push(b'"');
        b.extend_from_slice(s.as_bytes());
        b.push(b'"');
    } else {
        // Rare: let serde_json escape it (writing to a Vec cannot fail).
        let _ = serde_json::to_writer(&mut *b, s);
    }
}

fn json_addr(b: &mut Vec<u8>, a: Addr) {
    let mut buf = [0u8; 18];
    b.push(b'"');
    b.extend_from_slice(a.to_hex_bytes(&mut buf));
    b.push(b'"');
}

#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "at most 20 decimal digits of a u64, written into a 20-byte buffer from its end"
)]
fn json_u64(b: &mut Vec<u8>, v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut u = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    b.extend_from_slice(&buf[i..]);
}

/// A frame: `function`, `print_name` where it differs, `file`, `line`, `pc`,
/// `sp`, `fp`, `offset` (`pc − entry`; not for inlined frames, which print
/// none), `inlined`, `args`, `system_stack` where true.
fn write_frame(b: &mut Vec<u8>, f: FrameRef<'_>) {
    b.extend_from_slice(b"{\"function\":");
    json_str(b, &f.function);
    let pn = f.print_name();
    if *pn != *f.function {
        b.extend_from_slice(b",\"print_name\":");
        json_str(b, &pn);
    }
    b.extend_from_slice(b",\"file\":");
    json_str(b, &f.file);
    b.extend_from_slice(b",\"line\":");
    if f.line < 0 {
        b.push(b'-');
    }
    json_u64(b, u64::from(f.line.unsigned_abs()));
    b.extend_from_slice(b",\"pc\":");
    json_addr(b, f.pc);
    b.extend_from_slice(b",\"sp\":");
    json_addr(b, f.sp);
    b.extend_from_slice(b",\"fp\":");
    json_addr(b, f.fp);
    if f.inlined {
        b.extend_from_slice(b",\"inlined\":true,\"args\":");
    } else {
        b.extend_from_slice(b",\"offset\":");
        json_u64(b, f.offset());
        b.extend_from_slice(b",\"inlined\":false,\"args\":");
    }
    json_str(b, f.args);
    if f.system_stack {
        b.extend_from_slice(b",\"system_stack\":true");
    }
    b.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Frame;

    #[test]
    fn frames_read_back_as_written() {
        for (function, file, args, line) in [
            ("main.main", "crashzoo/main.go", "0x1, {0x2, 0x3}", 42),
            ("runtime.gopanic", "runtime/panic.go", "...", 0),
            ("main.F[go.shape.int]", "we\"ird\\path\n.go", "", -1),
        ] {
            let site = crate::runtime::symbolize::FrameSite {
                function: function.into(),
                file: file.into(),
                line,
                pc: Addr(0x401010),
                entry: Addr(0x400ff0),
                inlined: args == "...",
                system_stack: function == "runtime.gopanic",
                start_line: 0,
            };
            let f = Frame { site: site.into(), sp: Addr(0xc000010000), fp: Addr(0xc000010040), args: args.into() };
            let mut b = Vec::new();
            let stack = crate::runtime::stack::Stack::from_frames(std::slice::from_ref(&f));
            write_frame(&mut b, stack.first().expect("one frame"));
            let v: serde_json::Value = serde_json::from_slice(&b).expect("valid JSON");
            assert_eq!(v["line"], line);
            let back: Frame = serde_json::from_slice(&b).expect("reads back");
            if f.inlined {
                assert!(v.get("offset").is_none());
                let site = crate::runtime::symbolize::FrameSite { entry: f.pc, ..(*f.site).clone() };
                assert_eq!(back, Frame { site: site.into(), ..f });
            } else {
                assert_eq!(v["offset"], 0x20);
                assert_eq!(back, f);
            }
        }
    }

    #[test]
    fn other_documents_are_refused_in_one_line() {
        for doc in
            [&b"not json"[..], b"{}", b"[1,2]", b"{\"schema_version\":\"x\",\"tool_version\":\"1\",\"target\":{}}"]
        {
            let e = Analysis::from_json(doc).expect_err("refused");
            assert!(matches!(e, ReportError::NotAReport(_)), "{e}");
            assert_eq!(e.to_string().lines().count(), 1);
        }
        let newer = b"{\"schema_version\":\"99.0.0\",\"tool_version\":\"9\",\"target\":{}}";
        assert!(matches!(Analysis::from_json(newer), Err(ReportError::NewerSchema { .. })));
    }
}
