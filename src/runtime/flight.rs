//! The trace still held inside a crash core. A Go 1.25+ `runtime/trace.FlightRecorder`
//! keeps its last generations in memory (`ring []rawGeneration`, each a list of
//! raw batches exactly as a trace file holds them); after a fatal error no user
//! code runs to write them out, but the core has them. The active recorder is
//! reachable from the package's `tracing` multiplexer
//! (`tracing.flightRecorder.r`). Layouts come from DWARF, else built in
//! ([`super::trace_layout`]).
//!
//! The generation in progress is added from the recorder's `active` batches
//! plus the runtime's own unflushed buffers ([`super::tracebufs`]); without a
//! recorder (`trace.Start` only) those buffers are all the core holds.

use super::process::Process;
use super::trace_layout::BatchLayout;
use super::tracebufs::{put_varint, write_batch, BatchHeader};
use crate::addr::Addr;
use crate::memory::ReadExt;

/// A trace recovered from a core.
#[derive(Debug)]
pub struct RecoveredTrace {
    /// The trace file: header, then the ring's generations in order.
    pub bytes: Vec<u8>,
    /// Generation numbers recovered.
    pub generations: Vec<u64>,
    /// Batches of the generation in progress taken from the recorder's `active` list.
    pub active_batches: u64,
    /// The generation in progress, if recovered (the last of `generations`).
    pub in_progress: Option<InProgress>,
    /// Problems (unreadable batches, …).
    pub warnings: Vec<String>,
}

/// The generation that was in progress when the process died.
#[derive(Debug, Clone, Copy)]
pub struct InProgress {
    /// Its number.
    pub gen: u64,
    /// Batches found in the runtime's unflushed buffers (the rest came from the recorder).
    pub from_runtime: usize,
    /// Where it starts in `bytes`.
    pub offset: usize,
}

/// Warnings about the recovered trace on its own, void once it completes the
/// file the process wrote ([`complete_file`]).
const ALONE_TAIL: &str = "only the runtime's unflushed buffers of generation";
const ALONE_NO_SYNC: &str = "its sync batch (frequency and clock snapshot) is not in the core; Go's parser needs it";

const MAX_GENERATIONS: u64 = 4096;
const MAX_BATCHES: u64 = 1 << 20;
const MAX_BATCH_BYTES: u64 = 1 << 22;
const MAX_TOTAL: usize = 1 << 32;

/// Recovers the trace the core holds: a flight recorder's generations, then
/// the generation in progress.
pub fn recover(p: &Process) -> Result<RecoveredTrace, String> {
    let tail = super::tracebufs::unflushed(p);
    let (mut out, active) = match recorder(p) {
        Ok(r) => r,
        Err(no_recorder) => {
            let t = tail.as_ref().map_err(|e| format!("{no_recorder}; and {e}"))?;
            let minor = format_minor(p)?;
            let out = RecoveredTrace {
                bytes: format!("go 1.{minor} trace\0\0\0").into_bytes(),
                generations: Vec::new(),
                active_batches: 0,
                in_progress: None,
                warnings: vec![format!(
                    "{no_recorder}: {ALONE_TAIL} {} are recovered; the batches the trace reader had already taken \
                     are in the file trace.Start wrote",
                    t.gen
                )],
            };
            (out, None)
        }
    };
    match tail {
        Ok(t) if out.generations.last().is_none_or(|&last| t.gen > last) => {
            let mut batches = match active {
                Some((g, b)) if g == t.gen => b,
                _ => Vec::new(),
            };
            let from_runtime = t.batches.len();
            batches.extend(t.batches);
            out.warnings.extend(t.warnings);
            if !batches.is_empty() {
                let offset = out.bytes.len();
                append_in_progress(p, &mut out, t.gen, &batches);
                out.in_progress = Some(InProgress { gen: t.gen, from_runtime, offset });
            }
        }
        Ok(_) => {}
        Err(e) => out.warnings.push(format!("the runtime's unflushed trace buffers: {e}")),
    }
    Ok(out)
}

/// The trace format version a Go release writes (`go 1.N trace`).
fn format_minor(p: &Process) -> Result<u32, String> {
    match p.go_major_minor() {
        (1, 22) => Ok(22),
        (1, 23 | 24) => Ok(23),
        (1, 25) => Ok(25),
        (1, m) if m >= 26 => Ok(26),
        (a, b) => Err(format!("Go {a}.{b} writes no generation-format trace (Go 1.22+)")),
    }
}

/// Appends the generation in progress: its batches, a frequency event if
/// none is among them (before Go 1.25 the runtime writes it when the
/// generation ends), and for the `go 1.26` format the end-of-generation marker.
fn append_in_progress(p: &Process, out: &mut RecoveredTrace, gen: u64, batches: &[Vec<u8>]) {
    let minor = out.bytes.get(5..7).and_then(|m| std::str::from_utf8(m).ok()).and_then(|m| m.parse::<u32>().ok());
    for b in batches {
        out.bytes.extend_from_slice(b);
    }
    let mut warnings = Vec::new();
    let tables = super::tracebufs::stack_table(p, gen, &mut warnings);
    let have_stacks = !tables.is_empty() || warnings.is_empty();
    for b in &tables {
        out.bytes.extend_from_slice(b);
    }
    out.warnings.extend(warnings);
    let has_freq = batches.iter().any(|b| match BatchHeader::read(b).and_then(|h| h.data(b)) {
        Some([0x08, ..]) => true,
        Some([0x32, rest @ ..]) => rest.contains(&0x08),
        _ => false,
    });
    if !has_freq {
        if minor.is_some_and(|m| m >= 25) {
            out.warnings.push(format!("generation {gen}: {ALONE_NO_SYNC}"));
        } else {
            // Linux's clock is nanotime: 1e9 / traceTimeDiv units per second.
            // traceTimeDiv is 64 wherever the OS clock is fine-grained (Linux).
            let div = p.dwarf().ok().and_then(|d| d.constant("runtime.traceTimeDiv")).filter(|&d| d > 0).unwrap_or(64);
            let mut data = vec![0x08];
            put_varint(&mut data, 1_000_000_000u64.checked_div(div as u64).unwrap_or(0));
            out.bytes.extend_from_slice(&write_batch(gen, &data));
        }
    }
    if minor.is_some_and(|m| m >= 26) {
        out.bytes.push(0x34);
    }
    out.generations.push(gen);
    if have_stacks {
        out.warnings.push(format!(
            "generation {gen} was in progress: its stack table was rebuilt from the runtime's in-memory table \
             (frames symbolized by gotopsy)"
        ));
    }
}

/// The flight recorder's ring as a trace, and its active generation's batches.
#[allow(clippy::type_complexity)]
fn recorder(p: &Process) -> Result<(RecoveredTrace, Option<(u64, Vec<Vec<u8>>)>), String> {
    let mem = p.mem();
    let l = super::trace_layout::flight_layout(p)?;
    let tracing = super::trace_layout::tracing_global(p, &l)?;
    let rec = mem.read_ptr(tracing.add(l.flight_recorder)).map_err(|e| format!("tracing unreadable: {e}"))?;
    if rec.is_null() {
        return Err("no flight recorder was running when the process died".into());
    }
    let fr = mem.read_ptr(rec.add(l.recorder_r)).map_err(|e| format!("recorder unreadable: {e}"))?;
    let header: [u8; 16] = mem.read_array(fr.add(l.header)).map_err(|e| format!("FlightRecorder unreadable: {e}"))?;
    if !header.starts_with(b"go 1.") {
        return Err(format!(
            "the flight recorder's header is {:?}, not a trace header (nothing recorded yet?)",
            String::from_utf8_lossy(&header)
        ));
    }
    let (gen_size, gen_off, batches_off, layout) = (l.generation_size, l.generation_gen, l.generation_batches, l.batch);
    let ring = fr.add(l.ring);
    let (ring_ptr, ring_len) =
        (mem.read_ptr(ring).map_err(|e| e.to_string())?, mem.read_u64(ring.add(8)).map_err(|e| e.to_string())?);
    if ring_len > MAX_GENERATIONS {
        return Err(format!("the flight recorder's ring claims {ring_len} generations: damaged"));
    }
    let mut out = RecoveredTrace {
        bytes: header.to_vec(),
        generations: Vec::new(),
        active_batches: 0,
        in_progress: None,
        warnings: Vec::new(),
    };
    for i in 0..ring_len {
        let g = ring_ptr.add(i.saturating_mul(gen_size));
        let gen = mem.read_u64(g.add(gen_off)).unwrap_or(0);
        match read_batches(p, g.add(batches_off), layout, &mut out.bytes) {
            Ok(()) => out.generations.push(gen),
            Err(e) => {
                out.warnings.push(format!("generation {gen}: {e}; it and later generations are left out"));
                break;
            }
        }
    }
    let active = fr.add(l.active);
    let active_gen = mem.read_u64(active.add(gen_off)).unwrap_or(0);
    let mut bytes = Vec::new();
    let batches = match read_batches(p, active.add(batches_off), layout, &mut bytes) {
        Ok(()) => split_batches(&bytes),
        Err(e) => {
            out.warnings.push(format!("the recorder's generation in progress: {e}"));
            Vec::new()
        }
    };
    out.active_batches = batches.len() as u64;
    Ok((out, Some((active_gen, batches))))
}

/// Splits concatenated batches (each header, then its length's worth of data).
fn split_batches(b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = b;
    while let Some(h) = BatchHeader::read(rest) {
        let Some(end) = h.data(rest).map(|d| h.data_start.saturating_add(d.len())) else { break };
        let (Some(batch), Some(after)) = (rest.get(..end), rest.get(end..)) else { break };
        out.push(batch.to_vec());
        rest = after;
    }
    out
}

/// Appends every batch of the `batches` slice at `slice`; all or nothing.
fn read_batches(p: &Process, slice: Addr, layout: BatchLayout, out: &mut Vec<u8>) -> Result<(), String> {
    let mem = p.mem();
    let ptr = mem.read_ptr(slice).map_err(|e| e.to_string())?;
    let n = mem.read_u64(slice.add(8)).map_err(|e| e.to_string())?;
    if n > MAX_BATCHES {
        return Err(format!("{n} batches: damaged"));
    }
    let mark = out.len();
    for j in 0..n {
        let b = ptr.add(j.saturating_mul(layout.elem_size).saturating_add(layout.data));
        let (bp, bl) =
            (mem.read_ptr(b).map_err(|e| e.to_string())?, mem.read_u64(b.add(8)).map_err(|e| e.to_string())?);
        let bytes = match mem.read_vec(bp, bl, MAX_BATCH_BYTES) {
            Ok(v) => v,
            Err(e) => {
                out.truncate(mark);
                return Err(format!("batch {j}: {e}"));
            }
        };
        if out.len().saturating_add(bytes.len()) > MAX_TOTAL {
            out.truncate(mark);
            return Err("more than 4 GiB".into());
        }
        out.extend_from_slice(&bytes);
    }
    Ok(())
}

/// The trace file a process wrote with `trace.Start`, completed with the
/// generation that was in progress when it died (recovered from its core):
/// the file's bytes, then that generation's batches. The file may end with
/// the first batches of that generation (those the trace reader had taken);
/// the recovered ones are the rest.
pub fn complete_file(file: &[u8], rec: &RecoveredTrace) -> Result<Vec<u8>, String> {
    let ip = rec.in_progress.ok_or("the core holds no generation in progress to add")?;
    let (fh, rh) = (file.get(..16).unwrap_or(file), rec.bytes.get(..16).unwrap_or(&rec.bytes));
    if fh != rh {
        return Err(format!(
            "the trace file's header is {:?}, the core's runtime writes {:?}",
            String::from_utf8_lossy(fh).trim_end_matches('\0'),
            String::from_utf8_lossy(rh).trim_end_matches('\0')
        ));
    }
    let last = last_generation(file).ok_or("the trace file holds no batch")?;
    if last > ip.gen {
        return Err(format!(
            "the trace file reaches generation {last}, past the core's generation in progress ({}): not this process's trace?",
            ip.gen
        ));
    }
    if last.saturating_add(1) < ip.gen {
        return Err(format!(
            "the trace file ends at generation {last} but the core's generation in progress is {}: generations are missing",
            ip.gen
        ));
    }
    let mut out = file.to_vec();
    out.extend_from_slice(rec.bytes.get(ip.offset..).unwrap_or(&[]));
    Ok(out)
}

/// The warnings that still hold once the recovered trace completes a file
/// ([`complete_file`]): not those about the recovered trace on its own.
pub fn warnings_after_join(rec: &RecoveredTrace) -> Vec<String> {
    rec.warnings.iter().filter(|w| !w.contains(ALONE_TAIL) && !w.contains(ALONE_NO_SYNC)).cloned().collect()
}

/// The highest generation number among a trace file's batches.
fn last_generation(b: &[u8]) -> Option<u64> {
    let mut rest = b.get(16..)?;
    let mut last = None;
    loop {
        match rest.first() {
            Some(0x34) => rest = rest.get(1..).unwrap_or_default(), // end of generation
            Some(_) => {
                let Some(h) = BatchHeader::read(rest) else { break };
                let Some(d) = h.data(rest) else { break }; // a cut last batch
                last = last.max(Some(h.gen));
                let Some(after) = rest.get(h.data_start.saturating_add(d.len())..) else { break };
                rest = after;
            }
            None => break,
        }
    }
    last
}
