//! Crash signatures, `gosig/1` (`docs/signatures.md`): one string per bug,
//! the same across Go versions, map implementations and rebuilds, and the
//! same for a core and the crash log the runtime printed as it died — so a
//! fleet's crashes cluster by cause. Only names are used: a crash log has no
//! build information.

use crate::runtime::symbolize::print_name;
use crate::runtime::user_code::{is_std_package, package_of, FrameName};

/// The rule's version, part of every signature's documentation.
pub const VERSION: &str = "gosig/1";
/// Frames a signature names.
const FRAMES: usize = 3;
/// Longest signature.
const MAX_LEN: usize = 255;
/// Longest panic text kept in a class.
const MAX_PANIC: usize = 80;

/// Standard-library wrappers that never count as a signature frame.
const WRAPPERS: &[&str] = &[
    "sync.(*Once).doSlow",
    "sync.(*Once).Do",
    "sync.OnceFunc.func*",
    "net/http.HandlerFunc.ServeHTTP",
    "net/http.(*ServeMux).ServeHTTP",
    "net/http.serverHandler.ServeHTTP",
    "net/http.(*conn).serve",
    "testing.tRunner",
    "reflect.Value.call",
    "reflect.Value.Call",
];

/// A crash's signature.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Signature {
    /// `class | frame | frame | frame` (≤ 255 characters).
    pub signature: String,
    /// A short stable hash of `signature` (FNV-1a, 64 bits, hex).
    pub signature_hash: String,
    /// The class and the first frame.
    pub signature_top: String,
    /// The class alone.
    pub class: String,
    /// The frames, normalised.
    pub frames: Vec<String>,
    /// `class | frame:+N | ...`: the frames with their lines counted from
    /// their function's `func` line, and for a map race the other side's
    /// user frame (`|| other: frame:+N`); `None` when a line is unknown (a
    /// crash log gives no function's start line). Never clustered on.
    #[serde(default)]
    pub lines: Option<String>,
}

/// What kind of crash, as the signature's class sees it.
pub enum CrashText<'a> {
    /// `fatal error: TEXT`.
    Fatal(&'a str),
    /// `panic: TEXT`.
    Panic(&'a str),
    /// A signal the runtime raised neither for (`SIGSEGV`).
    Signal(&'a str),
    /// A `SIGQUIT` (or other signal) from outside made the runtime dump
    /// every goroutine and die: no goroutine crashed.
    SigquitDump,
    /// A core of a live process (`gcore`): nothing crashed.
    Snapshot,
    /// Nothing known.
    Unknown,
}

/// Numbers, hex addresses and ids masked; lowercased; every run of other
/// characters than letters, digits and `*` turned into one `-`.
fn slug(s: &str) -> String {
    let masked = mask_numbers(s).to_lowercase();
    let mut out = String::with_capacity(masked.len());
    for c in masked.chars() {
        if c.is_ascii_alphanumeric() || c == '*' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Hex addresses and decimal numbers become `N`.
#[allow(clippy::indexing_slicing, reason = "i < b.len() is the loop condition")]
fn mask_numbers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'0' && b.get(i.saturating_add(1)).is_some_and(|c| *c == b'x' || *c == b'X') {
            i = i.saturating_add(2);
            while b.get(i).is_some_and(u8::is_ascii_hexdigit) {
                i = i.saturating_add(1);
            }
            out.push('N');
        } else if b[i].is_ascii_digit() {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i = i.saturating_add(1);
            }
            out.push('N');
        } else {
            let c = s[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i = i.saturating_add(c.len_utf8());
        }
    }
    out
}

/// The class of a crash (see `docs/signatures.md`).
pub fn class(t: CrashText<'_>) -> String {
    match t {
        CrashText::Fatal(m) => match m.trim() {
            "concurrent map iteration and map write" => "concurrent-map-iteration-and-write".into(),
            "concurrent map writes" => "concurrent-map-writes".into(),
            "concurrent map read and map write" => "concurrent-map-read-and-write".into(),
            "concurrent map clone and map write" => "concurrent-map-clone-and-write".into(),
            "all goroutines are asleep - deadlock!" => "deadlock".into(),
            m if m.starts_with("runtime: out of memory") || m == "out of memory" => "oom".into(),
            m => slug(m),
        },
        CrashText::Panic(m) => {
            let first = m.lines().next().unwrap_or("").trim();
            let first = first.strip_suffix(" [recovered]").unwrap_or(first);
            let rt = first.strip_prefix("runtime error: ").unwrap_or("");
            if rt.starts_with("invalid memory address or nil pointer dereference") {
                return "nil-deref".into();
            }
            for (prefix, kind) in [
                ("index out of range", "index-out-of-range"),
                ("slice bounds out of range", "slice-out-of-range"),
                ("integer divide by zero", "divide-by-zero"),
                ("hash of unhashable type", "unhashable-map-key"),
                ("makeslice: len out of range", "makeslice-out-of-range"),
            ] {
                if rt.starts_with(prefix) {
                    return kind.into();
                }
            }
            let mut p = format!("panic:{}", slug(first));
            if p.len() > MAX_PANIC {
                let mut cut = MAX_PANIC;
                while !p.is_char_boundary(cut) {
                    cut = cut.saturating_sub(1);
                }
                p.truncate(cut);
            }
            p
        }
        CrashText::Signal(s) => format!("signal:{s}"),
        CrashText::SigquitDump => "sigquit-dump".into(),
        CrashText::Snapshot => "snapshot".into(),
        CrashText::Unknown => "unknown".into(),
    }
}

/// A function name as a signature names it: the runtime's print name,
/// closures `.funcN`, `.gowrapN`, `-rangeN` (and their nested `.N`) as `.func*`.
pub fn normalize_function(name: &str) -> String {
    let name = print_name(name).into_owned();
    let mut out = String::with_capacity(name.len());
    let mut rest = name.as_str();
    while !rest.is_empty() {
        let hit = [".func", ".gowrap", "-range"]
            .iter()
            .filter_map(|m| rest.find(m).map(|i| (i, m.len())))
            .min_by_key(|(i, _)| *i);
        let Some((i, len)) = hit else {
            out.push_str(rest);
            break;
        };
        let after = &rest[i.saturating_add(len)..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            out.push_str(&rest[..i.saturating_add(len)]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..i]);
        out.push_str(".func*");
        let mut tail = &after[digits..];
        // Nested closures: `.func1.2`, `-range1.3`.
        while let Some(t) = tail.strip_prefix('.') {
            let d = t.bytes().take_while(u8::is_ascii_digit).count();
            if d == 0 {
                break;
            }
            tail = &t[d..];
        }
        rest = tail;
    }
    out
}

fn is_runtime(function: &str) -> bool {
    package_of(function).is_none_or(|p| p == "runtime" || p.starts_with("runtime/") || p.starts_with("internal/"))
}

/// The frames a signature names, from a crashing goroutine's stack
/// (innermost first, inlined frames expanded): below the runtime's crash
/// machinery, adjacent equal names (a closure and its `go` wrapper) once, the
/// first three outside the standard library, filled with other frames outside
/// the runtime when there are fewer; wrappers never count.
pub fn frames<F: FrameName>(stack: impl IntoIterator<Item = F>) -> Vec<String> {
    picked(stack).into_iter().map(|(n, _)| n).collect()
}

/// [`frames`], each with its line counted from its function's start line when known.
fn picked<F: FrameName>(stack: impl IntoIterator<Item = F>) -> Vec<(String, Option<i64>)> {
    let mut below: Vec<(String, Option<i64>)> = stack
        .into_iter()
        .skip_while(|f| is_runtime(f.function()))
        .map(|f| (normalize_function(f.function()), line_offset(&f)))
        .collect();
    // A closure and the compiler's `go` wrapper around it (`.func1`, `.gowrap1`)
    // read the same once normalised: one frame (the first, the closure).
    below.dedup_by(|later, first| later.0 == first.0);
    let counts = |n: &String| !WRAPPERS.contains(&n.as_str()) && !is_runtime(n);
    let user = |n: &String| package_of(n).is_some_and(|p| !is_std_package(p, None));
    let mut picked: Vec<usize> =
        below.iter().enumerate().filter(|(_, (n, _))| counts(n) && user(n)).map(|(i, _)| i).take(FRAMES).collect();
    if picked.len() < FRAMES {
        for (i, _) in below.iter().enumerate().filter(|(_, (n, _))| counts(n) && !user(n)) {
            if picked.len() == FRAMES {
                break;
            }
            picked.push(i);
        }
        picked.sort_unstable();
    }
    picked.into_iter().filter_map(|i| below.get(i).cloned()).collect()
}

/// A frame's line counted from its function's `func` line, when that is known.
fn line_offset<F: FrameName>(f: &F) -> Option<i64> {
    f.start_line().filter(|&s| s > 0).map(|s| i64::from(f.line()).saturating_sub(i64::from(s)))
}

impl Signature {
    /// Adds the other side of a map race to [`lines`](Self::lines): its user
    /// frame's function and line counted from the function's start.
    pub fn with_other_side<F: FrameName>(mut self, user_frame: &F) -> Signature {
        if let (Some(lines), Some(off)) = (self.lines.as_mut(), line_offset(user_frame)) {
            lines.push_str(&format!(" || other: {}:{off:+}", normalize_function(user_frame.function())));
        }
        self
    }
}

/// Cuts a signature to [`MAX_LEN`] bytes, at a character boundary.
fn cut_to_max(s: &mut String) {
    if s.len() > MAX_LEN {
        let mut cut = MAX_LEN;
        while !s.is_char_boundary(cut) {
            cut = cut.saturating_sub(1);
        }
        s.truncate(cut);
    }
}

/// FNV-1a, 64 bits: stable across platforms and releases.
fn fnv1a(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The signature of a crash from its text and its crashing goroutine's stack.
pub fn signature<F: FrameName>(t: CrashText<'_>, stack: impl IntoIterator<Item = F>) -> Signature {
    let class = class(t);
    let picked = picked(stack);
    let lines = picked
        .iter()
        .map(|(n, off)| off.map(|o| format!(" | {n}:{o:+}")))
        .collect::<Option<String>>()
        .map(|l| format!("{class}{l}"));
    let frames: Vec<String> = picked.into_iter().map(|(n, _)| n).collect();
    let mut s = class.clone();
    for f in &frames {
        s.push_str(" | ");
        s.push_str(f);
    }
    cut_to_max(&mut s);
    let top = match frames.first() {
        Some(f) => format!("{class} | {f}"),
        None => class.clone(),
    };
    Signature { signature_hash: fnv1a(&s), signature: s, signature_top: top, class, frames, lines }
}

/// The program, as a dump's or snapshot's signature names it: the directory
/// of `main.main`'s source file as the binary records it (`-trimpath`: the
/// main package's import path) — the same in a core and in its crash log.
pub fn program_of<F: FrameName>(frames: impl IntoIterator<Item = F>) -> Option<String> {
    let f = frames.into_iter().find(|f| f.function() == "main.main")?;
    Some(f.file().rsplit_once('/').map_or(f.file(), |(dir, _)| dir).to_string())
}

/// The signature of a dump or snapshot, where nothing crashed: its class and
/// the program ([`program_of`], when known), no frames.
pub fn of_program(t: CrashText<'_>, program: Option<&str>) -> Signature {
    let class = class(t);
    let mut s = match program {
        Some(p) => format!("{class} | {p}"),
        None => class.clone(),
    };
    cut_to_max(&mut s);
    Signature {
        signature_hash: fnv1a(&s),
        signature_top: s.clone(),
        lines: Some(s.clone()),
        signature: s,
        class,
        frames: Vec::new(),
    }
}

/// The signature of a crash log: its `fatal error:` or `panic:` text and its
/// first goroutine with frames (the runtime prints the crashing one first).
pub fn of_crash_log(t: &crate::crashlog::PrintedTraceback) -> Signature {
    let text = match (&t.fatal_error, &t.panic, &t.signal) {
        (Some(f), _, _) => CrashText::Fatal(f),
        (None, Some(p), _) => CrashText::Panic(p),
        // A signal reported without a panic or a throw names no crashing goroutine.
        // `SIGQUIT: quit` and every goroutine: a dump asked for from outside.
        (None, None, Some(s)) if s == "SIGQUIT" => {
            let program = program_of(t.goroutines.iter().flat_map(|g| g.frames.iter()));
            return of_program(CrashText::SigquitDump, program.as_deref());
        }
        (None, None, Some(s)) => return signature(CrashText::Signal(s), &[] as &[crate::crashlog::PrintedFrame]),
        (None, None, None) => CrashText::Unknown,
    };
    let stack: &[crate::crashlog::PrintedFrame] =
        t.goroutines.iter().find(|g| !g.frames.is_empty()).map(|g| g.frames.as_slice()).unwrap_or_default();
    signature(text, stack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closures_and_generics_are_normalised() {
        for (a, b) in [
            ("main.worker.func3", "main.worker.func*"),
            ("main.worker.gowrap2", "main.worker.func*"),
            ("main.f-range1", "main.f.func*"),
            ("main.f.func1.2", "main.f.func*"),
            ("main.F[go.shape.int]", "main.F[...]"),
            ("main.functional", "main.functional"),
            ("main.(*T).M.func1", "main.(*T).M.func*"),
        ] {
            assert_eq!(normalize_function(a), b, "{a}");
        }
    }

    #[test]
    fn classes_follow_the_rule() {
        assert_eq!(class(CrashText::Fatal("concurrent map writes")), "concurrent-map-writes");
        assert_eq!(class(CrashText::Fatal("all goroutines are asleep - deadlock!")), "deadlock");
        assert_eq!(
            class(CrashText::Fatal("stack overflow at 0xc000123456 after 10 frames")),
            "stack-overflow-at-n-after-n-frames"
        );
        assert_eq!(
            class(CrashText::Panic("runtime error: invalid memory address or nil pointer dereference")),
            "nil-deref"
        );
        assert_eq!(
            class(CrashText::Panic("runtime error: index out of range [5] with length 3")),
            "index-out-of-range"
        );
        assert_eq!(class(CrashText::Panic("boom at depth 0 [recovered]")), "panic:boom-at-depth-n");
        assert_eq!(class(CrashText::Signal("SIGSEGV")), "signal:SIGSEGV");
        assert!(class(CrashText::Panic(&"x".repeat(300))).len() <= MAX_PANIC);
    }
}
