//! The runtime's own trace buffers of the generation in progress (Go 1.22+).
//!
//! While a trace runs (`trace.Start`, or a 1.25+ `FlightRecorder`), each M
//! writes events into its own `traceBuf` (`m.trace.buf[gen%2]`), strings go
//! into `trace.stringTab[gen%2].buf`, and full buffers wait on
//! `trace.full[gen%2]` until the trace reader takes them. A buffer is a batch
//! exactly as a trace file holds it, except that the batch length (a padded
//! varint at `lenPos`) is filled in only when the buffer is flushed. After a
//! fatal error nothing flushes them: the core holds the tail of the current
//! generation. What it does not hold: the generation's stack table (a hash trie
//! the runtime serializes when the generation ends) and, before Go 1.25, its
//! frequency event (written at the end too; gotopsy writes one). Layouts come
//! from DWARF, else built in ([`super::trace_layout`]).

use super::process::Process;
use super::trace_layout::TraceLayout;
use crate::addr::Addr;
use crate::memory::ReadExt;

/// The current generation's batches still in the runtime's buffers.
#[derive(Debug, Default)]
pub struct Unflushed {
    /// The generation in progress (`trace.gen`).
    pub gen: u64,
    /// Its batches, each complete with its header and length.
    pub batches: Vec<Vec<u8>>,
    /// Where they came from: full queue, per-M buffers, string buffer, CPU buffer.
    pub sources: Vec<String>,
    /// What could not be read, or was left out.
    pub warnings: Vec<String>,
}

/// A trace batch's length field is a varint padded to this many bytes.
const BYTES_PER_NUMBER: usize = 10;
const MAX_MS: usize = 1 << 14;
const MAX_QUEUE: usize = 1 << 16;

/// Reads the current generation's unflushed batches.
pub fn unflushed(p: &Process) -> Result<Unflushed, String> {
    let (l, trace) = super::trace_layout::tracer(p)?;
    let mem = p.mem();
    let gen = mem.read_u64(trace.add(l.gen)).map_err(|e| format!("runtime.trace unreadable: {e}"))?;
    if gen == 0 {
        return Err("no trace was running when the process died (runtime.trace.gen is 0)".into());
    }
    let slot = gen % 2;
    let mut out = Unflushed { gen, ..Default::default() };
    let mut seen = std::collections::HashSet::new();
    let mut take = |buf: Addr, what: &str, out: &mut Unflushed| {
        if buf.is_null() || !seen.insert(buf) {
            return;
        }
        match read_batch(p, l, buf, gen) {
            Ok(Some(b)) => {
                out.batches.push(b);
                out.sources.push(what.to_string());
            }
            Ok(None) => {}
            Err(e) => out.warnings.push(format!("{what} at {buf}: {e}")),
        }
    };
    // Full buffers the reader has not taken yet.
    let mut b = mem.read_ptr(trace.add(l.full.0.saturating_add(slot.saturating_mul(l.full.1)))).unwrap_or(Addr::NULL);
    for _ in 0..MAX_QUEUE {
        if b.is_null() {
            break;
        }
        take(b, "full queue", &mut out);
        b = mem.read_ptr(b.add(l.link)).unwrap_or(Addr::NULL);
    }
    // Each M's buffers of this generation.
    let mut m = p.global("runtime.allm").and_then(|a| mem.read_ptr(a).ok()).unwrap_or(Addr::NULL);
    let alllink = p.layout.m.alllink.ok_or("this runtime's m has no alllink")?;
    let mut ms = 0usize;
    while !m.is_null() && ms < MAX_MS {
        for i in 0..l.m_bufs_per_gen {
            let at = m.add(
                l.m_bufs.saturating_add(slot.saturating_mul(l.m_bufs_per_gen).saturating_add(i).saturating_mul(8)),
            );
            if let Ok(buf) = mem.read_ptr(at) {
                take(buf, "M buffer", &mut out);
            }
        }
        m = mem.read_ptr(m.add(alllink)).unwrap_or(Addr::NULL);
        ms = ms.saturating_add(1);
    }
    let strings = mem
        .read_ptr(
            trace.add(l.string_tab.0.saturating_add(slot.saturating_mul(l.string_tab.1)).saturating_add(l.string_buf)),
        )
        .unwrap_or(Addr::NULL);
    take(strings, "string buffer", &mut out);
    if let Some(cpu) = l.cpu_buf {
        let c = mem.read_ptr(trace.add(cpu.saturating_add(slot.saturating_mul(8)))).unwrap_or(Addr::NULL);
        take(c, "CPU sample buffer", &mut out);
    }
    // The buffer the reader is copying out may already be in the trace file: left out.
    let reading = mem.read_ptr(trace.add(l.reading)).unwrap_or(Addr::NULL);
    if !reading.is_null() && matches!(read_batch(p, l, reading, gen), Ok(Some(_))) {
        out.warnings.push(format!(
            "the buffer the trace reader was copying out ({reading}) is left out: it may already be in the trace file"
        ));
    }
    Ok(out)
}

/// One buffer as a complete batch, or `None` when it holds another generation's.
fn read_batch(p: &Process, l: &TraceLayout, buf: Addr, gen: u64) -> Result<Option<Vec<u8>>, String> {
    let mem = p.mem();
    let pos = mem.read_u64(buf.add(l.pos)).map_err(|e| e.to_string())?;
    let len_pos = mem.read_u64(buf.add(l.len_pos)).map_err(|e| e.to_string())?;
    if pos > l.arr_size || len_pos.saturating_add(BYTES_PER_NUMBER as u64) > pos {
        return Err(format!("pos {pos}, lenPos {len_pos}: not a trace buffer in use"));
    }
    let mut b = mem.read_vec(buf.add(l.arr), pos, l.arr_size).map_err(|e| e.to_string())?;
    let header = BatchHeader::read(&b).ok_or_else(|| format!("batch type {:?}: not a trace batch", b.first()))?;
    if header.gen != gen {
        return Ok(None);
    }
    let len = (pos.saturating_sub(len_pos) as usize).saturating_sub(BYTES_PER_NUMBER);
    let at = len_pos as usize;
    let mut v = len as u64;
    for (k, byte) in b.iter_mut().skip(at).take(BYTES_PER_NUMBER).enumerate() {
        *byte = if k < BYTES_PER_NUMBER - 1 { 0x80 | (v as u8 & 0x7f) } else { v as u8 & 0x7f };
        v >>= 7;
    }
    if len == 0 {
        return Ok(None); // a header with no events yet
    }
    b.truncate(pos as usize);
    Ok(Some(b))
}

/// A batch's header as a trace file holds it: type (an experimental batch
/// adds a byte), generation, M, time, length.
#[derive(Copy, Clone, Debug)]
pub(crate) struct BatchHeader {
    pub(crate) gen: u64,
    /// Where the batch's data starts, from the batch's first byte.
    pub(crate) data_start: usize,
    /// Bytes of data.
    pub(crate) len: usize,
}

impl BatchHeader {
    /// Reads the header at the start of `b`; `None` if `b` does not start with one.
    pub(crate) fn read(b: &[u8]) -> Option<BatchHeader> {
        let mut i = match b.first()? {
            0x01 => 1,
            0x31 => 2,
            _ => return None,
        };
        let mut fields = [0u64; 4];
        for f in fields.iter_mut() {
            for k in 0..10u32 {
                let c = *b.get(i)?;
                i = i.saturating_add(1);
                *f |= ((c & 0x7f) as u64) << k.saturating_mul(7);
                if c & 0x80 == 0 {
                    break;
                }
            }
        }
        Some(BatchHeader { gen: fields[0], data_start: i, len: usize::try_from(fields[3]).ok()? })
    }

    /// The batch's data, if `b` holds all of it.
    pub(crate) fn data<'b>(&self, b: &'b [u8]) -> Option<&'b [u8]> {
        b.get(self.data_start..self.data_start.checked_add(self.len)?)
    }
}

/// A batch of `data` for generation `gen`, written by no thread (as the
/// runtime writes its tables).
pub(crate) fn write_batch(gen: u64, data: &[u8]) -> Vec<u8> {
    let mut b = vec![0x01];
    put_varint(&mut b, gen);
    put_varint(&mut b, u64::MAX);
    put_varint(&mut b, 0);
    put_varint(&mut b, data.len() as u64);
    b.extend_from_slice(data);
    b
}

/// Most stacks and frames read from the stack table (the runtime keeps at most 128 frames).
const MAX_STACKS: usize = 1 << 20;
const MAX_FRAMES: usize = 128;
/// The words a stack record may hold: its frames and the leading skip count.
const MAX_FRAMES_AND_SKIP: u64 = MAX_FRAMES as u64 + 1;
/// A batch may hold at most this many bytes, header included (`tracev2.MaxBatchSize`).
const MAX_BATCH: usize = 64 << 10;

/// The generation's stack table, serialized as the runtime does when a
/// generation ends (a strings batch for the new function and file names,
/// then stacks batches), from its in-memory hash trie
/// (`trace.stackTab[gen%2].tab`). Frames are symbolized here from the
/// pclntab (inlined calls expanded); their `pc` is the call instruction's.
pub fn stack_table(p: &Process, gen: u64, warnings: &mut Vec<String>) -> Vec<Vec<u8>> {
    match stack_table_inner(p, gen) {
        Ok(b) => b,
        Err(e) => {
            warnings.push(format!("generation {gen}'s stack table: {e}"));
            Vec::new()
        }
    }
}

fn stack_table_inner(p: &Process, gen: u64) -> Result<Vec<Vec<u8>>, String> {
    let (l, trace) = super::trace_layout::tracer(p)?;
    let mem = p.mem();
    let ((stack_tab, stack_elem), (string_tab, string_elem)) = (l.stack_tab, l.string_tab);
    let trie = l
        .stack_trie
        .as_ref()
        .ok_or("this runtime's stack table is a hash table (Go 1.22), which gotopsy does not read")?;
    let (root_off, seq_off) = (trie.root, l.string_seq);
    let (children, id_off, data_off) = (trie.children, trie.id, trie.data);
    let slot = gen % 2;
    let root = mem
        .read_ptr(trace.add(stack_tab.saturating_add(slot.saturating_mul(stack_elem)).saturating_add(root_off)))
        .map_err(|e| e.to_string())?;
    let mut next_string = mem
        .read_u64(trace.add(string_tab.saturating_add(slot.saturating_mul(string_elem)).saturating_add(seq_off)))
        .map_err(|e| e.to_string())?;

    let mut strings: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut new_strings = TableWriter::new(0x04, gen);
    let mut stacks = TableWriter::new(0x02, gen);
    let mut id_of = |s: &str, new_strings: &mut TableWriter| -> u64 {
        if let Some(&id) = strings.get(s) {
            return id;
        }
        next_string = next_string.saturating_add(1);
        let mut rec = vec![0x05];
        put_varint(&mut rec, next_string);
        put_varint(&mut rec, s.len() as u64);
        rec.extend_from_slice(s.as_bytes());
        new_strings.push(&rec);
        strings.insert(s.to_string(), next_string);
        next_string
    };
    let mut todo = vec![root];
    let mut seen = std::collections::HashSet::new();
    while let Some(n) = todo.pop() {
        if n.is_null() || !seen.insert(n) || seen.len() > MAX_STACKS {
            continue;
        }
        for i in 0..4u64 {
            if let Ok(c) = mem.read_ptr(n.add(children.saturating_add(i.saturating_mul(8)))) {
                todo.push(c);
            }
        }
        let (Ok(id), Ok(ptr), Ok(len)) = (
            mem.read_u64(n.add(id_off)),
            mem.read_ptr(n.add(data_off)),
            mem.read_u64(n.add(data_off.saturating_add(8))),
        ) else {
            continue;
        };
        let words = (len / 8).min(MAX_FRAMES_AND_SKIP);
        let Ok(raw) = mem.read_vec(ptr, words.saturating_mul(8), MAX_FRAMES_AND_SKIP * 8) else { continue };
        let pcs: Vec<u64> = raw.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect();
        // Frame-pointer stacks start with how many logical frames to skip;
        // stacks from runtime.Callers start with a sentinel.
        let (skip, pcs) = match pcs.split_first() {
            Some((&u64::MAX, rest)) => (0, rest),
            Some((&skip, rest)) => (skip as usize, rest),
            None => (0, &[][..]),
        };
        // As the runtime's fpunwindExpand: inlined calls expanded, wrappers
        // (autogenerated code) elided unless a panic called them, then the
        // first `skip` logical frames dropped.
        let mut frames = Vec::new();
        let mut callee = "";
        for &ret in pcs {
            let logical = super::symbolize::Symbolizer::trace_frames(&p.pclntab, mem, Addr(ret));
            for (pc, function, file, line) in logical {
                let wrapper = file == "<autogenerated>";
                let by_panic = matches!(callee, "runtime.gopanic" | "runtime.sigpanic" | "runtime.panicwrap");
                callee = function;
                if wrapper && !by_panic {
                    continue;
                }
                frames.push((pc.0, function, file, line));
            }
        }
        let frames: Vec<_> = frames.into_iter().skip(skip).take(MAX_FRAMES).collect();
        let mut rec = vec![0x03];
        put_varint(&mut rec, id);
        put_varint(&mut rec, frames.len() as u64);
        for (pc, func, file, line) in frames {
            put_varint(&mut rec, pc);
            put_varint(&mut rec, id_of(func, &mut new_strings));
            put_varint(&mut rec, id_of(file, &mut new_strings));
            put_varint(&mut rec, line.max(0) as u64);
        }
        stacks.push(&rec);
    }
    let mut out = new_strings.finish();
    out.extend(stacks.finish());
    Ok(out)
}

/// Writes table records (strings or stacks) into batches of at most
/// [`MAX_BATCH`] bytes, each starting with the table's event type.
struct TableWriter {
    kind: u8,
    gen: u64,
    cur: Vec<u8>,
    done: Vec<Vec<u8>>,
}

impl TableWriter {
    fn new(kind: u8, gen: u64) -> Self {
        TableWriter { kind, gen, cur: Vec::new(), done: Vec::new() }
    }
    fn push(&mut self, rec: &[u8]) {
        // Header: type, gen, M, time and length, each varint at most 10 bytes.
        if !self.cur.is_empty() && self.cur.len().saturating_add(rec.len()).saturating_add(41) > MAX_BATCH {
            self.flush();
        }
        if self.cur.is_empty() {
            self.cur.push(self.kind);
        }
        self.cur.extend_from_slice(rec);
    }
    fn flush(&mut self) {
        if !self.cur.is_empty() {
            self.done.push(write_batch(self.gen, &self.cur));
            self.cur.clear();
        }
    }
    fn finish(mut self) -> Vec<Vec<u8>> {
        self.flush();
        self.done
    }
}

/// Appends `v` as an unsigned LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}
