//! The trace still held inside a crash core. A Go 1.25+ `runtime/trace.FlightRecorder`
//! keeps its last generations in memory (`ring []rawGeneration`, each a list of
//! raw batches exactly as a trace file holds them); after a fatal error no user
//! code runs to write them out, but the core has them. The active recorder is
//! reachable from the package's `tracing` multiplexer
//! (`tracing.flightRecorder.r`). Layouts come from DWARF.

use super::process::Process;
use crate::addr::Addr;
use crate::memory::ReadExt;

/// A trace recovered from a core.
#[derive(Debug)]
pub struct RecoveredTrace {
    /// The trace file: header, then the ring's generations in order.
    pub bytes: Vec<u8>,
    /// Generation numbers recovered.
    pub generations: Vec<u64>,
    /// Batches in the generation being recorded (incomplete: no tables yet), not included.
    pub active_batches: u64,
    /// Problems (unreadable batches, …).
    pub warnings: Vec<String>,
}

const MAX_GENERATIONS: u64 = 4096;
const MAX_BATCHES: u64 = 1 << 20;
const MAX_BATCH_BYTES: u64 = 1 << 22;
const MAX_TOTAL: usize = 1 << 32;

fn need(p: &Process, st: &str, f: &str) -> Result<u64, String> {
    p.dwarf()?.require_field(st, f)
}

/// Recovers the flight recorder's generations from the core.
pub fn recover(p: &Process) -> Result<RecoveredTrace, String> {
    let mem = p.mem();
    let d = p.dwarf()?;
    let tracing = p.global("runtime/trace.tracing").ok_or(
        "the program has no runtime/trace.tracing: it never used runtime/trace (flight recorders exist from Go 1.25)",
    )?;
    let fr_field = need(p, "runtime/trace.traceMultiplexer", "flightRecorder")
        .map_err(|_| "this Go version's runtime/trace has no flight recorder (Go 1.25+)".to_string())?;
    let rec = mem.read_ptr(tracing.add(fr_field)).map_err(|e| format!("tracing unreadable: {e}"))?;
    if rec.is_null() {
        return Err("no flight recorder was running when the process died".into());
    }
    let fr = mem
        .read_ptr(rec.add(need(p, "runtime/trace.recorder", "r")?))
        .map_err(|e| format!("recorder unreadable: {e}"))?;
    let f = "runtime/trace.FlightRecorder";
    let header: [u8; 16] =
        mem.read_array(fr.add(need(p, f, "header")?)).map_err(|e| format!("FlightRecorder unreadable: {e}"))?;
    if !header.starts_with(b"go 1.") {
        return Err(format!(
            "the flight recorder's header is {:?}, not a trace header (nothing recorded yet?)",
            String::from_utf8_lossy(&header)
        ));
    }
    let rg = "runtime/trace.rawGeneration";
    let gen_size = d.struct_named(rg).and_then(|t| t.size).ok_or("DWARF has no runtime/trace.rawGeneration")?;
    let (gen_off, batches_off) = (need(p, rg, "gen")?, need(p, rg, "batches")?);
    let ring = fr.add(need(p, f, "ring")?);
    let (ring_ptr, ring_len) =
        (mem.read_ptr(ring).map_err(|e| e.to_string())?, mem.read_u64(ring.add(8)).map_err(|e| e.to_string())?);
    if ring_len > MAX_GENERATIONS {
        return Err(format!("the flight recorder's ring claims {ring_len} generations: damaged"));
    }
    let mut out =
        RecoveredTrace { bytes: header.to_vec(), generations: Vec::new(), active_batches: 0, warnings: Vec::new() };
    for i in 0..ring_len {
        let g = ring_ptr.add(i * gen_size);
        let gen = mem.read_u64(g.add(gen_off)).unwrap_or(0);
        match read_batches(p, g.add(batches_off), &mut out.bytes) {
            Ok(()) => out.generations.push(gen),
            Err(e) => {
                out.warnings.push(format!("generation {gen}: {e}; it and later generations are left out"));
                break;
            }
        }
    }
    let active = fr.add(need(p, f, "active")?).add(batches_off);
    out.active_batches = mem.read_u64(active.add(8)).unwrap_or(0).min(MAX_BATCHES);
    Ok(out)
}

/// Appends every batch of a `[][]byte` at `slice`; all or nothing.
fn read_batches(p: &Process, slice: Addr, out: &mut Vec<u8>) -> Result<(), String> {
    let mem = p.mem();
    let ptr = mem.read_ptr(slice).map_err(|e| e.to_string())?;
    let n = mem.read_u64(slice.add(8)).map_err(|e| e.to_string())?;
    if n > MAX_BATCHES {
        return Err(format!("{n} batches: damaged"));
    }
    let mark = out.len();
    for j in 0..n {
        let b = ptr.add(j * 24);
        let (bp, bl) =
            (mem.read_ptr(b).map_err(|e| e.to_string())?, mem.read_u64(b.add(8)).map_err(|e| e.to_string())?);
        let bytes = match mem.read_vec(bp, bl, MAX_BATCH_BYTES) {
            Ok(v) => v,
            Err(e) => {
                out.truncate(mark);
                return Err(format!("batch {j}: {e}"));
            }
        };
        if out.len() + bytes.len() > MAX_TOTAL {
            out.truncate(mark);
            return Err("more than 4 GiB".into());
        }
        out.extend_from_slice(&bytes);
    }
    Ok(())
}
