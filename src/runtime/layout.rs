//! Offsets of the runtime structures gotopsy reads, taken from the
//! executable's DWARF by field name and probed for presence — never switched on
//! the Go version.

use crate::exe::dwarf::DwarfIndex;
use crate::exe::pclntab::{FuncLayout, ModuleDataLayout};

/// Offsets in `runtime.g`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct GLayout {
    pub stack_lo: u64,
    pub stack_hi: u64,
    pub m: u64,
    pub sched_sp: u64,
    pub sched_pc: u64,
    /// `sched.lr` (used on link-register machines).
    pub sched_lr: u64,
    pub sched_bp: u64,
    pub syscallsp: u64,
    pub syscallpc: u64,
    /// `syscallbp` (Go 1.23+).
    pub syscallbp: Option<u64>,
    /// `atomicstatus`, a `uint32` or an `atomic.Uint32` whose value is at offset 0.
    pub atomicstatus: u64,
    pub goid: u64,
    pub waitsince: u64,
    pub waitreason: u64,
    pub gopc: u64,
    pub startpc: u64,
    /// `parentGoid` (Go 1.21+).
    pub parent_goid: Option<u64>,
    pub lockedm: u64,
    /// `_panic` (innermost active panic).
    pub panic: Option<u64>,
    /// `bubble` (synctest, Go 1.25+).
    pub bubble: Option<u64>,
    /// `sig`: the signal that sent the goroutine into `sigpanic`.
    pub sig: u64,
    /// `sigcode0`: the signal's code.
    pub sigcode0: u64,
    /// `sigcode1`: the faulting address.
    pub sigcode1: u64,
    /// `sigpc`: the faulting pc.
    pub sigpc: u64,
}

/// Offsets in `runtime.m`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct MLayout {
    pub g0: u64,
    pub gsignal: Option<u64>,
    pub curg: u64,
    pub id: u64,
    pub procid: u64,
    pub alllink: Option<u64>,
    pub vdso_sp: Option<u64>,
    pub vdso_pc: Option<u64>,
    pub libcallsp: Option<u64>,
    pub libcallpc: Option<u64>,
}

impl GStatus {
    /// True for `_Gdead` and `_Gdeadextra` (the scan bit ignored).
    pub fn is_dead(&self, status: u32) -> bool {
        let base = status & !self.scan;
        base == self.dead || Some(base) == self.deadextra
    }
}

/// `_G*` status values.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct GStatus {
    pub idle: u32,
    pub runnable: u32,
    pub running: u32,
    pub syscall: u32,
    pub waiting: u32,
    pub dead: u32,
    pub copystack: u32,
    pub preempted: u32,
    /// `_Gleaked` (Go 1.26+).
    pub leaked: Option<u32>,
    /// `_Gdeadextra` (Go 1.26+): dead, but attached to an extra M for cgo callbacks.
    pub deadextra: Option<u32>,
    pub scan: u32,
}

/// Everything gotopsy needs to know about the target runtime's data layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeLayout {
    /// `runtime.g`.
    pub g: GLayout,
    /// `runtime.m`.
    pub m: MLayout,
    /// Status constants.
    pub status: GStatus,
    /// `runtime.moduledata`.
    pub moduledata: ModuleDataLayout,
    /// `runtime._func`.
    pub func: FuncLayout,
    /// `runtime._panic.arg` offset.
    pub panic_arg: Option<u64>,
    /// `runtime.sched.lastpoll` offset (a nanotime reading).
    pub sched_lastpoll: Option<u64>,
    /// `runtime.sched.goidgen` offset (the last goroutine id handed out).
    pub sched_goidgen: Option<u64>,
    /// `runtime.sched.mnext` offset (the number of `m`s created: the next `m.id`).
    pub sched_mnext: Option<u64>,
    /// `runtime.sched.maxmcount` offset (the most threads allowed; 10000 unless `debug.SetMaxThreads`).
    pub sched_maxmcount: Option<u64>,
    /// `synctestBubble.id` offset.
    pub bubble_id: Option<u64>,
}

/// Offset of `field` in `st`, or an error naming both.
fn need(d: &DwarfIndex, st: &str, field: &str) -> Result<u64, String> {
    d.require_field(st, field)
}

/// Offset of the value inside an atomic wrapper field, else of the field itself.
fn atomic_field(d: &DwarfIndex, st: &str, field: &str) -> Option<u64> {
    let (off, ty) = d.field_path(st, field)?;
    let inner = ty.and_then(|t| d.resolve(t)).and_then(|t| t.field("value").map(|f| f.offset)).unwrap_or(0);
    off.checked_add(inner)
}

impl RuntimeLayout {
    /// Reads the layout from DWARF. Fails naming the first missing piece.
    pub fn from_dwarf(d: &DwarfIndex) -> Result<RuntimeLayout, String> {
        let g = "runtime.g";
        let m = "runtime.m";
        let c = |name: &str| d.constant(name).map(|v| v as u32).ok_or_else(|| format!("DWARF has no constant {name}"));
        let md = "runtime.moduledata";
        let fl = "runtime._func";
        let func = match d.struct_named(fl) {
            Some(t) => {
                let o = |n: &str| t.field(n).map(|f| f.offset as usize);
                let def = FuncLayout::default();
                FuncLayout {
                    size: t.size.map(|s| s as usize).unwrap_or(def.size),
                    name_off: o("nameOff").unwrap_or(def.name_off),
                    args: o("args").unwrap_or(def.args),
                    deferreturn: o("deferreturn").unwrap_or(def.deferreturn),
                    pcsp: o("pcsp").unwrap_or(def.pcsp),
                    pcfile: o("pcfile").unwrap_or(def.pcfile),
                    pcln: o("pcln").unwrap_or(def.pcln),
                    npcdata: o("npcdata").unwrap_or(def.npcdata),
                    cu_offset: o("cuOffset").unwrap_or(def.cu_offset),
                    start_line: o("startLine").unwrap_or(def.start_line),
                    func_id: o("funcID").unwrap_or(def.func_id),
                    flag: o("flag").unwrap_or(def.flag),
                    nfuncdata: o("nfuncdata").unwrap_or(def.nfuncdata),
                }
            }
            None => FuncLayout::default(),
        };
        Ok(RuntimeLayout {
            g: GLayout {
                stack_lo: need(d, g, "stack.lo")?,
                stack_hi: need(d, g, "stack.hi")?,
                m: need(d, g, "m")?,
                sched_sp: need(d, g, "sched.sp")?,
                sched_pc: need(d, g, "sched.pc")?,
                sched_lr: need(d, g, "sched.lr")?,
                sched_bp: need(d, g, "sched.bp")?,
                syscallsp: need(d, g, "syscallsp")?,
                syscallpc: need(d, g, "syscallpc")?,
                syscallbp: d.field_offset(g, "syscallbp"),
                atomicstatus: atomic_field(d, g, "atomicstatus")
                    .ok_or("DWARF has no field atomicstatus in runtime.g")?,
                goid: need(d, g, "goid")?,
                waitsince: need(d, g, "waitsince")?,
                waitreason: need(d, g, "waitreason")?,
                gopc: need(d, g, "gopc")?,
                startpc: need(d, g, "startpc")?,
                parent_goid: d.field_offset(g, "parentGoid"),
                lockedm: need(d, g, "lockedm")?,
                panic: d.field_offset(g, "_panic"),
                bubble: d.field_offset(g, "bubble").or_else(|| d.field_offset(g, "syncGroup")),
                sig: need(d, g, "sig")?,
                sigcode0: need(d, g, "sigcode0")?,
                sigcode1: need(d, g, "sigcode1")?,
                sigpc: need(d, g, "sigpc")?,
            },
            m: MLayout {
                g0: need(d, m, "g0")?,
                gsignal: d.field_offset(m, "gsignal"),
                curg: need(d, m, "curg")?,
                id: need(d, m, "id")?,
                procid: need(d, m, "procid")?,
                alllink: d.field_offset(m, "alllink"),
                vdso_sp: d.field_offset(m, "vdsoSP"),
                vdso_pc: d.field_offset(m, "vdsoPC"),
                libcallsp: d.field_offset(m, "libcallsp"),
                libcallpc: d.field_offset(m, "libcallpc"),
            },
            status: GStatus {
                idle: c("runtime._Gidle")?,
                runnable: c("runtime._Grunnable")?,
                running: c("runtime._Grunning")?,
                syscall: c("runtime._Gsyscall")?,
                waiting: c("runtime._Gwaiting")?,
                dead: c("runtime._Gdead")?,
                copystack: c("runtime._Gcopystack")?,
                preempted: c("runtime._Gpreempted")?,
                leaked: d.constant("runtime._Gleaked").map(|v| v as u32),
                deadextra: d.constant("runtime._Gdeadextra").map(|v| v as u32),
                scan: c("runtime._Gscan")?,
            },
            moduledata: ModuleDataLayout {
                pc_header: need(d, md, "pcHeader")?,
                funcnametab: need(d, md, "funcnametab")?,
                cutab: need(d, md, "cutab")?,
                filetab: need(d, md, "filetab")?,
                pctab: need(d, md, "pctab")?,
                pclntable: need(d, md, "pclntable")?,
                ftab: need(d, md, "ftab")?,
                minpc: need(d, md, "minpc")?,
                maxpc: need(d, md, "maxpc")?,
                text: need(d, md, "text")?,
                gofunc: need(d, md, "gofunc")?,
            },
            func,
            panic_arg: d.field_offset("runtime._panic", "arg"),
            sched_lastpoll: atomic_field(d, "runtime.schedt", "lastpoll"),
            sched_goidgen: atomic_field(d, "runtime.schedt", "goidgen"),
            sched_mnext: d.field_offset("runtime.schedt", "mnext"),
            sched_maxmcount: d.field_offset("runtime.schedt", "maxmcount"),
            bubble_id: d
                .field_offset("internal/synctest.bubble", "id")
                .or_else(|| d.field_offset("runtime.synctestBubble", "id")),
        })
    }
}
