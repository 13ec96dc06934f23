//! Offsets of the execution tracer's state (`runtime.trace`, `traceBuf`,
//! `m.trace`, the stack and string tables) and of a flight recorder's
//! (`runtime/trace.tracing` down to `rawGeneration`), from DWARF by field
//! name; built in per Go minor version and architecture
//! ([`super::trace_builtin`]) for executables without DWARF.

use super::process::Process;
use crate::addr::Addr;
use crate::exe::dwarf::DwarfIndex;

/// Where the runtime keeps the generation in progress (Go 1.22+).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLayout {
    /// `trace.gen` (an atomic's value).
    pub gen: u64,
    /// `trace.enabled` (Go 1.23+; 1.22 tells a running tracer by `gen` alone).
    pub enabled: Option<u64>,
    /// `trace.full`: offset and bytes per element (two, one per generation parity).
    pub full: (u64, u64),
    /// `trace.stringTab`: offset and bytes per element.
    pub string_tab: (u64, u64),
    /// `trace.stackTab`: offset and bytes per element.
    pub stack_tab: (u64, u64),
    /// `trace.markWorkerLabels`: offset and bytes per element (`[N]traceArg`).
    pub mark_worker_labels: (u64, u64),
    /// `trace.cpuBuf` (absent in some versions).
    pub cpu_buf: Option<u64>,
    /// `trace.reading`.
    pub reading: u64,
    /// `traceStringTable.buf`.
    pub string_buf: u64,
    /// `traceStringTable.tab.seq` (an atomic's value).
    pub string_seq: u64,
    /// `traceBuf`: `traceBufHeader.link`, `.pos`, `.lenPos`, `arr` and its size.
    pub link: u64,
    #[allow(missing_docs)]
    pub pos: u64,
    #[allow(missing_docs)]
    pub len_pos: u64,
    #[allow(missing_docs)]
    pub arr: u64,
    #[allow(missing_docs)]
    pub arr_size: u64,
    /// The stack table's trie (Go 1.23+; 1.22's is a hash table, not read).
    pub stack_trie: Option<StackTrieLayout>,
    /// `m.trace.buf`, and its buffers per generation.
    pub m_bufs: u64,
    #[allow(missing_docs)]
    pub m_bufs_per_gen: u64,
}

impl TraceLayout {
    /// Reads the layout from DWARF.
    pub fn from_dwarf(d: &DwarfIndex) -> Result<TraceLayout, String> {
        let (_, ty) = d.global("runtime.trace").ok_or("DWARF has no runtime.trace: not a Go 1.22+ runtime?")?;
        let ty = ty.ok_or("runtime.trace has no type in DWARF")?;
        let at =
            |path: &str| d.field_path_in(ty, path).ok_or_else(|| format!("DWARF has no field {path} in runtime.trace"));
        let array = |path: &str| -> Result<(u64, u64), String> {
            let (off, t) = at(path)?;
            let (elem, count, _) =
                t.and_then(|t| d.array_of(t)).ok_or_else(|| format!("runtime.trace.{path} is not an array"))?;
            if count != 2 {
                return Err(format!("runtime.trace.{path} has {count} elements, not 2"));
            }
            Ok((off, elem))
        };
        let tb = "runtime.traceBuf";
        let node = "runtime.traceMapNode";
        let (m_bufs, m_bufs_ty) =
            d.field_path("runtime.m", "trace.buf").ok_or("DWARF has no field trace.buf in runtime.m")?;
        let total =
            m_bufs_ty.and_then(|t| d.resolve(t)).and_then(|t| t.size).ok_or("runtime.m's trace.buf has no size")?;
        Ok(TraceLayout {
            gen: at("gen.value").or_else(|_| at("gen"))?.0,
            enabled: at("enabled").ok().map(|(o, _)| o),
            full: array("full")?,
            string_tab: array("stringTab")?,
            stack_tab: array("stackTab")?,
            mark_worker_labels: array("markWorkerLabels")?,
            cpu_buf: at("cpuBuf").ok().map(|(o, _)| o),
            reading: at("reading")?.0,
            string_buf: d.require_field("runtime.traceStringTable", "buf")?,
            string_seq: d
                .field_offset("runtime.traceStringTable", "tab.seq.value")
                .or_else(|| d.field_offset("runtime.traceStringTable", "tab.seq"))
                .ok_or("DWARF has no field tab.seq in runtime.traceStringTable")?,
            link: d.require_field(tb, "traceBufHeader.link")?,
            pos: d.require_field(tb, "traceBufHeader.pos")?,
            len_pos: d.require_field(tb, "traceBufHeader.lenPos")?,
            arr: d.require_field(tb, "arr")?,
            arr_size: d.field_size(tb, "arr").ok_or("DWARF gives no size for runtime.traceBuf's arr")?,
            stack_trie: match d.field_offset("runtime.traceStackTable", "tab.root") {
                None => None,
                Some(root) => Some(StackTrieLayout {
                    root,
                    children: d.require_field(node, "children")?,
                    id: d.require_field(node, "id")?,
                    data: d.require_field(node, "data")?,
                }),
            },
            m_bufs,
            m_bufs_per_gen: (total / 8 / 2).max(1),
        })
    }
}

/// `traceMap`'s hash trie (Go 1.23+): where a stack table's nodes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackTrieLayout {
    /// `traceStackTable.tab.root`.
    pub root: u64,
    /// `traceMapNode`: `children`, `id`, `data`.
    pub children: u64,
    #[allow(missing_docs)]
    pub id: u64,
    #[allow(missing_docs)]
    pub data: u64,
}

/// How `rawGeneration.batches` holds each batch's bytes (header included):
/// Go 1.26+ `[][]byte`, the element the byte slice itself; Go 1.25
/// `[]batch`, a `batch{m, time, data []byte}` each.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BatchLayout {
    /// Bytes per element of `batches`.
    pub elem_size: u64,
    /// Offset of the `[]byte` in an element.
    pub data: u64,
}

const NO_FLIGHT_RECORDER: &str = "this Go version's runtime/trace has no flight recorder (Go 1.25+)";

/// Where a `runtime/trace.FlightRecorder` keeps its generations (Go 1.25+).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlightLayout {
    /// `traceMultiplexer.flightRecorder` (a `*recorder`).
    pub flight_recorder: u64,
    /// `recorder.r` (a `*FlightRecorder`).
    pub recorder_r: u64,
    /// `FlightRecorder.header`, `.ring`, `.active`.
    pub header: u64,
    #[allow(missing_docs)]
    pub ring: u64,
    #[allow(missing_docs)]
    pub active: u64,
    /// `rawGeneration`: its size, `gen`, `batches`.
    pub generation_size: u64,
    #[allow(missing_docs)]
    pub generation_gen: u64,
    #[allow(missing_docs)]
    pub generation_batches: u64,
    /// The elements of `batches`.
    pub batch: BatchLayout,
}

impl FlightLayout {
    /// Reads the layout from DWARF.
    pub fn from_dwarf(d: &DwarfIndex) -> Result<FlightLayout, String> {
        let flight_recorder = d
            .require_field("runtime/trace.traceMultiplexer", "flightRecorder")
            .map_err(|_| NO_FLIGHT_RECORDER.to_string())?;
        let (f, rg) = ("runtime/trace.FlightRecorder", "runtime/trace.rawGeneration");
        Ok(FlightLayout {
            flight_recorder,
            recorder_r: d.require_field("runtime/trace.recorder", "r")?,
            header: d.require_field(f, "header")?,
            ring: d.require_field(f, "ring")?,
            active: d.require_field(f, "active")?,
            generation_size: d
                .struct_named(rg)
                .and_then(|t| t.size)
                .ok_or("DWARF has no runtime/trace.rawGeneration")?,
            generation_gen: d.require_field(rg, "gen")?,
            generation_batches: d.require_field(rg, "batches")?,
            batch: batch_layout(d)?,
        })
    }
}

/// Reads [`BatchLayout`] from DWARF.
fn batch_layout(d: &DwarfIndex) -> Result<BatchLayout, String> {
    let no = |what: &str| format!("DWARF: runtime/trace.rawGeneration.batches: {what}");
    let (_, ty) = d.field_path("runtime/trace.rawGeneration", "batches").ok_or_else(|| no("no such field"))?;
    let slice = ty.and_then(|t| d.resolve(t)).ok_or_else(|| no("no type"))?;
    let array = slice.field("array").and_then(|f| f.ty).and_then(|t| d.resolve(t)).ok_or_else(|| no("not a slice"))?;
    let elem = array.elem.and_then(|t| d.resolve(t)).ok_or_else(|| no("no element type"))?;
    let elem_size = elem.size.ok_or_else(|| no("element without a size"))?;
    let data = if elem.name.starts_with("[]") {
        0
    } else {
        elem.field("data").map(|f| f.offset).ok_or_else(|| no(&format!("element {} has no data field", elem.name)))?
    };
    if data.checked_add(24).is_none_or(|end| end > elem_size) {
        return Err(no(&format!("element {} of {elem_size} bytes cannot hold a []byte at {data}", elem.name)));
    }
    Ok(BatchLayout { elem_size, data })
}

/// The tracer's layout: from DWARF, else built in for the Go version.
pub fn trace_layout(p: &Process) -> Result<TraceLayout, String> {
    match p.dwarf() {
        Ok(d) => TraceLayout::from_dwarf(d),
        Err(no_dwarf) => {
            let minor = p.go_major_minor().1;
            super::trace_builtin::builtin_trace_layout(minor, p.arch.goarch()).ok_or_else(|| {
                format!(
                    "{no_dwarf}, and gotopsy has no built-in tracer layout for Go 1.{minor} on {} (it has 1.22–1.27)",
                    p.arch.goarch()
                )
            })
        }
    }
}

/// The flight recorder's layout: from DWARF, else built in for the Go version.
pub fn flight_layout(p: &Process) -> Result<FlightLayout, String> {
    match p.dwarf() {
        Ok(d) => FlightLayout::from_dwarf(d),
        Err(no_dwarf) => {
            let minor = p.go_major_minor().1;
            super::trace_builtin::builtin_flight_layout(minor).ok_or_else(|| {
                if minor < 25 {
                    NO_FLIGHT_RECORDER.to_string()
                } else {
                    format!("{no_dwarf}, and gotopsy has no built-in flight recorder layout for Go 1.{minor} (it has 1.25–1.27)")
                }
            })
        }
    }
}

/// The tracer's layout and where `runtime.trace` is, worked out once per
/// process (without symbols, finding it reads the whole of `.bss`).
pub fn tracer(p: &Process) -> Result<(&TraceLayout, Addr), String> {
    let found = p.tracer.get_or_init(|| {
        let l = trace_layout(p)?;
        let at = trace_global(p, &l)?;
        Ok((l, at))
    });
    found.as_ref().map(|(l, at)| (l, *at)).map_err(Clone::clone)
}

/// Where `runtime.trace` is: its symbol, else (no symbol table) found by
/// what a running tracer holds.
fn trace_global(p: &Process, l: &TraceLayout) -> Result<Addr, String> {
    if let Some(a) = p.global("runtime.trace") {
        return Ok(a);
    }
    if !p.is_stripped() {
        return Err("the core has no runtime.trace".into());
    }
    super::stripped::find_trace(p, l).ok_or_else(|| {
        "no trace was running when the process died, or the core is damaged (no symbol table, and no place in .bss \
         holds a running tracer's state, runtime.trace)"
            .into()
    })
}

/// Where `runtime/trace.tracing` is: its symbol, else (no symbol table)
/// found through the flight recorder it leads to.
pub fn tracing_global(p: &Process, l: &FlightLayout) -> Result<Addr, String> {
    if let Some(a) = p.global("runtime/trace.tracing") {
        return Ok(a);
    }
    if !p.is_stripped() {
        return Err(
            "the program has no runtime/trace.tracing: it never used runtime/trace (flight recorders exist from Go 1.25)"
                .into(),
        );
    }
    super::stripped::find_tracing(p, l).ok_or_else(|| {
        "no flight recorder was running when the process died (no symbol table, and no place in .bss leads to one \
         through runtime/trace.tracing)"
            .into()
    })
}
