//! The wire format shared by both readers: varints, argument counts of the
//! generation format's event types, and the per-generation string and stack tables.

use super::model::{TraceFrame, TraceStack};
use super::TraceError;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

pub(super) struct Cursor<'a> {
    pub(super) b: &'a [u8],
    pub(super) pos: usize,
    pub(super) base: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn err(&self, what: impl Into<String>) -> TraceError {
        TraceError::Malformed { offset: self.base.saturating_add(self.pos), what: what.into() }
    }
    pub(super) fn eof(&self) -> bool {
        self.pos >= self.b.len()
    }
    pub(super) fn byte(&mut self) -> Result<u8, TraceError> {
        let v = *self.b.get(self.pos).ok_or_else(|| self.err("unexpected end"))?;
        self.pos = self.pos.saturating_add(1);
        Ok(v)
    }
    #[inline]
    #[allow(clippy::arithmetic_side_effects, reason = "len is 1 to 8 (a stop bit was found in the word)")]
    pub(super) fn uvarint(&mut self) -> Result<u64, TraceError> {
        if let Some(&c) = self.b.get(self.pos) {
            if c < 0x80 {
                self.pos = self.pos.saturating_add(1);
                return Ok(c as u64);
            }
        }
        // Eight bytes available: find the last byte of the varint and gather
        // its 7-bit groups with a few shifts (varints of up to 56 bits).
        if let Some(w) = self.b.get(self.pos..self.pos.saturating_add(8)).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
            let v = u64::from_le_bytes(w);
            let stops = !v & 0x8080_8080_8080_8080;
            if stops != 0 {
                let len = (stops.trailing_zeros() / 8 + 1) as usize;
                let keep = if len == 8 { u64::MAX } else { (1u64 << (len * 8)) - 1 };
                let x = v & keep & 0x7f7f_7f7f_7f7f_7f7f;
                let x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
                let x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
                let x = (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4);
                self.pos = self.pos.saturating_add(len);
                return Ok(x);
            }
        }
        self.uvarint_slow()
    }

    #[allow(clippy::arithmetic_side_effects, reason = "i < 10: shifts below 70 bits, the 10th byte checked")]
    fn uvarint_slow(&mut self) -> Result<u64, TraceError> {
        let mut x = 0u64;
        for i in 0..10 {
            let c = self.byte()?;
            if i == 9 && c > 1 {
                return Err(self.err("varint overflows 64 bits"));
            }
            x |= ((c & 0x7f) as u64) << (7 * i);
            if c & 0x80 == 0 {
                return Ok(x);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }
    pub(super) fn bytes(&mut self, n: u64) -> Result<&'a [u8], TraceError> {
        let n = usize::try_from(n).map_err(|_| self.err("length too large"))?;
        let end =
            self.pos.checked_add(n).filter(|&e| e <= self.b.len()).ok_or_else(|| self.err("data runs past the end"))?;
        let s = self.b.get(self.pos..end).ok_or_else(|| self.err("data runs past the end"))?;
        self.pos = end;
        Ok(s)
    }
}

/// Number of arguments of each event type of `minor`'s format; `None` for types
/// the format does not have.
/// [`arg_count`] of every event type of one format version, as a table.
pub(super) struct ArgCounts([u8; 256]);

impl ArgCounts {
    pub(super) fn new(minor: u32) -> Self {
        let mut t = [u8::MAX; 256];
        for (ev, n) in t.iter_mut().enumerate() {
            if let Some(k) = arg_count(minor, ev as u8) {
                *n = k as u8;
            }
        }
        ArgCounts(t)
    }
    /// The number of arguments of event type `ev`; `None` when the format has no such type.
    #[inline(always)]
    pub(super) fn get(&self, ev: u8) -> Option<usize> {
        let n = *self.0.get(ev as usize)?;
        (n != u8::MAX).then_some(n as usize)
    }
}

pub(super) fn arg_count(minor: u32, ev: u8) -> Option<usize> {
    let n = match ev {
        0x09 => 3,                                     // ProcsChange dt procs stack
        0x0a => 3,                                     // ProcStart dt p p_seq
        0x0b => 1,                                     // ProcStop
        0x0c => 4,                                     // ProcSteal dt p p_seq m
        0x0d => 3,                                     // ProcStatus dt p status
        0x0e => 4,                                     // GoCreate dt new_g new_stack stack
        0x0f => 2,                                     // GoCreateSyscall dt new_g
        0x10 => 3,                                     // GoStart dt g g_seq
        0x11 | 0x12 => 1,                              // GoDestroy, GoDestroySyscall
        0x13 | 0x14 => 3,                              // GoStop, GoBlock dt reason stack
        0x15 => 4,                                     // GoUnblock dt g g_seq stack
        0x16 => 3,                                     // GoSyscallBegin dt p_seq stack
        0x17 | 0x18 => 1,                              // GoSyscallEnd, GoSyscallEndBlocked
        0x19 => 4,                                     // GoStatus dt g m status
        0x1a => 3,                                     // STWBegin dt kind stack
        0x1b => 1,                                     // STWEnd
        0x1c => 2,                                     // GCActive dt seq
        0x1d => 3,                                     // GCBegin dt seq stack
        0x1e => 2,                                     // GCEnd dt seq
        0x1f => 2,                                     // GCSweepActive dt p
        0x20 => 2,                                     // GCSweepBegin dt stack
        0x21 => 3,                                     // GCSweepEnd dt swept reclaimed
        0x22 => 2,                                     // GCMarkAssistActive dt g
        0x23 => 2,                                     // GCMarkAssistBegin dt stack
        0x24 => 1,                                     // GCMarkAssistEnd
        0x25 | 0x26 => 2,                              // HeapAlloc, HeapGoal
        0x27 => 2,                                     // GoLabel dt label
        0x28 => 5,                                     // UserTaskBegin dt task parent name stack
        0x29 => 3,                                     // UserTaskEnd dt task stack
        0x2a | 0x2b => 4,                              // UserRegionBegin/End dt task name stack
        0x2c => 5,                                     // UserLog dt task key value stack
        0x2d | 0x2e if minor >= 23 => 3,               // GoSwitch, GoSwitchDestroy dt g g_seq
        0x2f if minor >= 23 => 4,                      // GoCreateBlocked
        0x30 if minor >= 23 => 5,                      // GoStatusStack dt g m status stack
        0x80 | 0x81 if minor >= 23 => 4,               // Span, SpanAlloc dt id npages kindclass
        0x82 | 0x85 | 0x88 if minor >= 23 => 2,        // SpanFree, HeapObjectFree, GoroutineStackFree dt id
        0x83 | 0x84 | 0x86 | 0x87 if minor >= 23 => 3, // HeapObject(Alloc), GoroutineStack(Alloc) dt id x
        _ => return None,
    };
    Some(n)
}

/// String and stack tables (a generation's, or a whole v1 trace's).
#[derive(Default)]
pub(super) struct Tables<'a> {
    pub(super) cpu_samples: u64,
    pub(super) strings: HashMap<u64, &'a [u8]>,
    /// Stack id → frames (pc, function string id, file string id, line).
    pub(super) stacks: HashMap<u64, Vec<(u64, u64, u64, u64)>>,
    pub(super) freq: Option<u64>,
    /// The stacks resolved so far, of every generation.
    pub(super) interned: std::sync::Arc<Interned>,
    /// This table's stacks already resolved, by id: a stack named by many
    /// events (every goroutine a loop creates) is hashed once.
    pub(super) by_id: std::sync::Mutex<rustc_hash::FxHashMap<u64, TraceStack>>,
}

/// Most stacks kept under one hash in [`Interned`].
const MAX_SAME_HASH: usize = 8;

/// Resolved stacks by content, shared by every generation of a trace: a
/// stack that many goroutines share, or that each generation's table names
/// again under a new id, is one allocation.
#[derive(Default)]
pub(super) struct Interned(std::sync::Mutex<rustc_hash::FxHashMap<u64, Vec<TraceStack>>>);

impl Tables<'_> {
    fn bytes(&self, id: u64) -> &[u8] {
        self.strings.get(&id).copied().unwrap_or_default()
    }

    pub(super) fn string(&self, id: u64) -> String {
        String::from_utf8_lossy(self.bytes(id)).into_owned()
    }

    /// The function of a stack's innermost frame.
    pub(super) fn first_function(&self, id: u64) -> Option<String> {
        let &(_, func, _, _) = self.stacks.get(&id)?.first()?;
        Some(self.string(func))
    }

    /// The frames of stack `id` (none when the table lacks it), interned.
    pub(super) fn stack(&self, id: u64) -> TraceStack {
        if let Some(s) = self.by_id.lock().ok().and_then(|m| m.get(&id).cloned()) {
            return s;
        }
        let s = self.resolve(id);
        // A miss is not kept: the table may yet gain the id.
        if let (false, Ok(mut m)) = (s.is_empty(), self.by_id.lock()) {
            m.insert(id, std::sync::Arc::clone(&s));
        }
        s
    }

    fn resolve(&self, id: u64) -> TraceStack {
        let Some(raw) = self.stacks.get(&id).filter(|fs| !fs.is_empty()) else { return TraceStack::default() };
        let mut h = rustc_hash::FxHasher::default();
        for &(pc, func, file, line) in raw {
            (pc, self.bytes(func), self.bytes(file), line).hash(&mut h);
        }
        let key = h.finish();
        let same = |s: &TraceStack| {
            s.len() == raw.len()
                && s.iter().zip(raw).all(|(f, &(pc, func, file, line))| {
                    f.pc == pc
                        && f.line == line
                        && String::from_utf8_lossy(self.bytes(func)) == f.function.as_str()
                        && String::from_utf8_lossy(self.bytes(file)) == f.file.as_str()
                })
        };
        let build = || -> TraceStack {
            raw.iter()
                .map(|&(pc, func, file, line)| TraceFrame {
                    function: self.string(func),
                    file: self.string(file),
                    line,
                    pc,
                })
                .collect()
        };
        // A poisoned lock (a panic elsewhere) only costs the sharing.
        let Ok(mut m) = self.interned.0.lock() else { return build() };
        let candidates = m.entry(key).or_default();
        if let Some(s) = candidates.iter().find(|s| same(s)) {
            return std::sync::Arc::clone(s);
        }
        let s = build();
        // A crafted trace could give many stacks one hash: past a few, they
        // are not shared, so a lookup stays a few comparisons.
        if candidates.len() < MAX_SAME_HASH {
            candidates.push(std::sync::Arc::clone(&s));
        }
        s
    }
}

pub(super) fn read_tables<'a>(batch: &Batch<'a>, t: &mut Tables<'a>) -> Result<(), TraceError> {
    let mut c = Cursor { b: batch.data, pos: 0, base: batch.offset };
    match batch.data.first() {
        Some(0x04) => {
            c.byte()?;
            while !c.eof() {
                if c.byte()? != 0x05 {
                    return Err(c.err("expected a string in the strings batch"));
                }
                let id = c.uvarint()?;
                let len = c.uvarint()?;
                if len > 1 << 16 {
                    return Err(c.err("string too long"));
                }
                let s = c.bytes(len)?;
                t.strings.insert(id, s);
            }
        }
        Some(0x02) => {
            c.byte()?;
            while !c.eof() {
                if c.byte()? != 0x03 {
                    return Err(c.err("expected a stack in the stacks batch"));
                }
                let id = c.uvarint()?;
                let n = c.uvarint()?;
                if n > 1024 {
                    return Err(c.err("stack too deep"));
                }
                let mut frames = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    frames.push((c.uvarint()?, c.uvarint()?, c.uvarint()?, c.uvarint()?));
                }
                t.stacks.insert(id, frames);
            }
        }
        Some(0x08) => {
            c.byte()?;
            t.freq = Some(c.uvarint()?);
        }
        Some(0x06) => {
            c.byte()?;
            while !c.eof() {
                if c.byte()? != 0x07 {
                    return Err(c.err("expected a CPU sample"));
                }
                for _ in 0..5 {
                    c.uvarint()?;
                }
                t.cpu_samples = t.cpu_samples.saturating_add(1);
            }
        }
        Some(0x32) => {
            c.byte()?;
            while !c.eof() {
                match c.byte()? {
                    0x08 => t.freq = Some(c.uvarint()?),
                    0x33 => {
                        for _ in 0..4 {
                            c.uvarint()?;
                        }
                    }
                    x => return Err(c.err(format!("unexpected event {x:#x} in a sync batch"))),
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// A batch: where its data is in the file.
pub(super) struct Batch<'a> {
    pub(super) gen: u64,
    /// The thread that wrote it.
    pub(super) m: u64,
    /// Its base timestamp.
    pub(super) ts: u64,
    pub(super) data: &'a [u8],
    /// File offset of `data`.
    pub(super) offset: usize,
    pub(super) experimental: bool,
}

/// Whether a batch holds timed events (not a table, a frequency or CPU samples).
pub(super) fn is_event_batch(b: &Batch<'_>) -> bool {
    !matches!(b.data.first(), Some(0x02 | 0x04 | 0x06 | 0x08 | 0x32) | None)
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    fn encode(mut x: u64, pad: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (x & 0x7f) as u8;
            x >>= 7;
            if x == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
        out.extend(std::iter::repeat_n(0xffu8, pad));
        out
    }

    proptest::proptest! {
        #[test]
        fn varints_decode_whatever_follows(x in proptest::num::u64::ANY, shift in 0u32..64, pad in 0usize..12) {
            let x = x >> shift;
            let b = encode(x, pad);
            let n = b.len() - pad;
            let mut c = Cursor { b: &b, pos: 0, base: 0 };
            proptest::prop_assert_eq!(c.uvarint().ok(), Some(x));
            proptest::prop_assert_eq!(c.pos, n);
        }
    }
}
