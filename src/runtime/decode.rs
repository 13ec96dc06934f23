//! Runtime structures in memory, field by field: the names, offsets and
//! types come from DWARF by name, the values from the core. This is what the
//! TUI's memory view shows: a `runtime.g`, `runtime.m`, a map header and its
//! buckets or groups, an iterator, an `mspan`, and whatever their typed
//! pointers lead to.
//!
//! Cores hold secrets. Without `show_values` a decoded structure shows the
//! values of runtime-owned fields only (integers, pointers, flags of types of
//! the `runtime` and `internal/runtime` packages and the map types the linker
//! synthesizes); the keys and values in buckets and groups, the bytes of
//! strings, and every field of a user type are shown by type and size only,
//! and masked in the hex view.

use super::heap::HeapLayout;
use super::process::Process;
use crate::addr::Addr;
use crate::exe::dwarf::{DwarfIndex, TypeInfo, TypeRef};
use crate::memory::ReadExt;
use gimli::constants as dw;
use std::sync::Arc;

/// Most bytes of one structure read (and shown in the hex view).
pub const MAX_BYTES: u64 = 64 * 1024;
/// Most rows of one decoded structure.
pub const MAX_ROWS: usize = 4000;
/// Array elements listed one by one; the rest are summarized.
const MAX_ELEMS: u64 = 16;
/// Nesting of structs and arrays expanded in place.
const MAX_DEPTH: u8 = 4;
/// Most string bytes shown with `show_values`.
const MAX_STRING: u64 = 96;

/// Something to decode: an address and the DWARF type of what is there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Where it is.
    pub address: Addr,
    /// Its type.
    pub ty: TypeRef,
    /// Its type's name.
    pub type_name: String,
    /// What it is, in words (`runtime.g of goroutine 7`).
    pub label: String,
    /// How many of them lie one after another (a slice's elements, a
    /// map's buckets or directory); 1 for one.
    pub count: u64,
}

/// How a field's value is shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Its value, as the runtime would print it.
    Value(String),
    /// A struct or array whose members follow, indented.
    Heading,
    /// Held back: a secret without `--show-values`.
    Hidden,
    /// Not in the core (or past [`MAX_BYTES`]).
    Unreadable,
}

/// One line of a decoded structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Dotted field path (`sched.sp`, `keys[3]`).
    pub name: String,
    /// Nesting depth (0: a member of the structure itself).
    pub depth: u8,
    /// Byte offset in the structure.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// Go type name.
    pub type_name: String,
    /// The value.
    pub shown: Shown,
    /// What the value means (a status name, the function a pc is in).
    pub note: Option<String>,
    /// A typed, non-nil pointer: what Enter opens.
    pub follow: Option<Target>,
    /// Its bytes are masked without `--show-values`.
    pub secret: bool,
}

/// A structure read from the core.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// What was asked for.
    pub target: Target,
    /// Its size as DWARF states it.
    pub size: u64,
    /// Its members.
    pub rows: Vec<Row>,
    /// Its first [`MAX_BYTES`] bytes (`None`: unreadable).
    pub bytes: Vec<Option<u8>>,
    /// Byte ranges (offset, length) masked without `--show-values`.
    pub hidden: Vec<(u64, u64)>,
    /// What the address is: heap object, global, stack, text.
    pub location: String,
    /// Why the rows stop early, when they do.
    pub truncated: Option<String>,
}

/// Decodes structures of one process.
pub struct Inspector {
    p: Arc<Process>,
    heap: Option<HeapLayout>,
    show_values: bool,
}

impl Inspector {
    /// The process it reads.
    pub fn process(&self) -> &Arc<Process> {
        &self.p
    }

    /// An inspector over `p`; `show_values` lifts the secret masks.
    pub fn new(p: Arc<Process>, show_values: bool) -> Inspector {
        let heap = HeapLayout::new(&p).ok();
        Inspector { p, heap, show_values }
    }

    /// Values are shown.
    pub fn show_values(&self) -> bool {
        self.show_values
    }

    fn dwarf(&self) -> Result<&DwarfIndex, String> {
        self.p.dwarf().map_err(|why| format!("the memory view needs the executable's DWARF: {why}"))
    }

    /// A target of the struct type named `type_name` (following typedefs).
    pub fn named(&self, address: Addr, type_name: &str, label: String) -> Result<Target, String> {
        let d = self.dwarf()?;
        let ty = d.type_named(type_name).ok_or_else(|| format!("DWARF has no type {type_name}"))?;
        Ok(Target { address, ty, type_name: type_name.to_string(), label, count: 1 })
    }

    /// The first of `names` DWARF has.
    fn first_named(&self, address: Addr, names: &[&str], label: String) -> Result<Target, String> {
        let d = self.dwarf()?;
        for n in names {
            if d.type_named(n).is_some() {
                return self.named(address, n, label);
            }
        }
        Err(format!("DWARF has none of {names:?}"))
    }

    /// A goroutine's `runtime.g`.
    pub fn g(&self, address: Addr, goid: u64) -> Result<Target, String> {
        self.named(address, "runtime.g", format!("runtime.g of goroutine {goid}"))
    }

    /// A thread's `runtime.m`.
    pub fn m(&self, address: Addr, id: Option<i64>) -> Result<Target, String> {
        let label = id.map_or_else(|| "runtime.m".to_string(), |id| format!("runtime.m of M {id}"));
        self.named(address, "runtime.m", label)
    }

    /// A map header, typed by its map type when DWARF has it (`map[K]V` is
    /// a pointer to the linker's `hash<K,V>` or `map<K,V>`, whose bucket and
    /// group pointers are typed), else as the runtime's generic header.
    pub fn map_header(&self, address: Addr, map_type: Option<&str>) -> Result<Target, String> {
        let d = self.dwarf()?;
        let label = format!("map header {}", map_type.unwrap_or("map"));
        if let Some(ty) = map_type.and_then(|n| d.type_named(n)).and_then(|t| pointee(d, t)) {
            let type_name = d.type_info(ty).map(|t| t.name).unwrap_or_default();
            if !type_name.is_empty() {
                return Ok(Target { address, ty, type_name, label, count: 1 });
            }
        }
        self.first_named(address, &["internal/runtime/maps.Map", "runtime.hmap"], label)
    }

    /// A map iterator.
    pub fn iterator(&self, address: Addr) -> Result<Target, String> {
        self.first_named(address, &["internal/runtime/maps.Iter", "runtime.hiter"], "map iterator".into())
    }

    /// The `runtime.mspan` of the heap span holding `a`.
    pub fn span_of(&self, a: Addr) -> Result<Target, String> {
        let heap = self.heap.as_ref().ok_or("no heap layout: the heap cannot be read")?;
        match heap.span_of(&self.p, a) {
            Ok(Some((span, _))) => self.named(span, "runtime.mspan", format!("runtime.mspan holding {a}")),
            Ok(None) => Err(format!("{a} is in no heap span")),
            Err(why) => Err(why),
        }
    }

    /// Reads and decodes `t`.
    pub fn decode(&self, t: &Target) -> Result<Decoded, String> {
        let d = self.dwarf()?;
        let info = d.resolve(t.ty).ok_or_else(|| format!("DWARF type {} cannot be read", t.type_name))?;
        let esize = type_size(&info);
        let count = t.count.max(1);
        let size = esize.saturating_mul(count);
        let read = size.min(MAX_BYTES);
        let bytes = read_bytes(self.p.mem(), t.address, read);
        let root_secret = !runtime_owned(&info.name);
        let mut dec = Decoded {
            target: t.clone(),
            size,
            rows: Vec::new(),
            bytes,
            hidden: Vec::new(),
            location: self.location(t.address),
            truncated: (size > MAX_BYTES).then(|| format!("only the first {MAX_BYTES} of {size} bytes are read")),
        };
        let mut w = Walker { insp: self, d, dec: &mut dec, root: info.name.clone() };
        if count > 1 {
            for i in 0..count.min(MAX_ELEMS) {
                if !w.member(&format!("[{i}]"), i.saturating_mul(esize), Some(t.ty), 0, root_secret) {
                    break;
                }
            }
            if count > MAX_ELEMS {
                let (off, rest) = (MAX_ELEMS.saturating_mul(esize), count.saturating_sub(MAX_ELEMS));
                let text = Shown::Value(format!("{rest} more"));
                w.push(&format!("[{MAX_ELEMS}…]"), 0, off, rest.saturating_mul(esize), "…".into(), text, root_secret);
            }
        } else if info.tag == dw::DW_TAG_structure_type && info.name != "string" && !info.name.starts_with("[]") {
            for f in &info.fields {
                if !w.member(&f.name, f.offset, f.ty, 0, root_secret || secret_member(&info.name, &f.name)) {
                    break;
                }
            }
        } else {
            w.member("", 0, Some(t.ty), 0, root_secret);
        }
        small_map(d, &info, &mut dec.rows);
        if count == 1 {
            counts(&mut dec.rows);
        }
        if dec.rows.len() >= MAX_ROWS && dec.truncated.is_none() {
            dec.truncated = Some(format!("only the first {MAX_ROWS} fields are listed"));
        }
        if !self.show_values {
            dec.hidden = hidden_ranges(&dec.rows);
        }
        Ok(dec)
    }

    /// What an address is, in a few words.
    fn location(&self, a: Addr) -> String {
        let mut what = match &self.heap {
            Some(h) => {
                let i = h.inspect(&self.p, a);
                let mut s = i.region.to_string();
                if let Some(o) = &i.object {
                    s.push_str(&format!(" object {}+{}", o.base, o.size));
                }
                match i.allocated {
                    Some(true) => s.push_str(", allocated"),
                    Some(false) => s.push_str(", free"),
                    None => {}
                }
                if !i.reason.is_empty() && i.object.is_none() {
                    s.push_str(&format!(" ({})", i.reason));
                }
                s
            }
            None => "memory".to_string(),
        };
        if let Some(sym) = self.symbol(a) {
            what.push_str(&format!(", {sym}"));
        }
        what
    }

    /// The function or global at `a`.
    fn symbol(&self, a: Addr) -> Option<String> {
        (!a.is_null()).then(|| super::heap::symbol_at(&self.p, a)).flatten()
    }
}

/// Reads `len` bytes at `a`, page by page where the whole is not readable.
fn read_bytes(mem: &dyn crate::memory::Memory, a: Addr, len: u64) -> Vec<Option<u8>> {
    let mut buf = vec![0u8; len as usize];
    if mem.read(a, &mut buf).is_ok() {
        return buf.into_iter().map(Some).collect();
    }
    let mut out = Vec::with_capacity(buf.len());
    let mut off = 0u64;
    while off < len {
        // Up to the next 512-byte boundary of the address space.
        let at = a.add(off);
        let n = (512u64.saturating_sub(at.0 % 512)).min(len.saturating_sub(off));
        let mut chunk = vec![0u8; n as usize];
        match mem.read(at, &mut chunk) {
            Ok(()) => out.extend(chunk.into_iter().map(Some)),
            Err(_) => out.extend(std::iter::repeat_n(None, n as usize)),
        }
        off = off.saturating_add(n);
    }
    out
}

/// A type's size; Go's DWARF gives pointer types none: a word.
fn type_size(info: &TypeInfo) -> u64 {
    info.size.unwrap_or(if info.tag == dw::DW_TAG_pointer_type { 8 } else { 0 })
}

/// The number inside one of the runtime's atomic types (`atomic.Uint32`'s
/// `value`, `atomic.Bool`'s `u.value`): its offset and type.
fn atomic_value(d: &DwarfIndex, info: &TypeInfo) -> Option<(u64, TypeRef)> {
    let mut info = info.clone();
    let mut off = 0u64;
    for _ in 0..3 {
        if !(info.name.contains("/atomic.") || info.name.starts_with("atomic.")) {
            return None;
        }
        let fields: Vec<_> = info.fields.iter().filter(|f| f.name != "noCopy" && !f.name.starts_with('_')).collect();
        let [f] = fields.as_slice() else { return None };
        let t = f.ty?;
        let inner = d.resolve(t)?;
        off = off.saturating_add(f.offset);
        if inner.tag != dw::DW_TAG_structure_type {
            return (f.name == "value" || f.name == "u").then_some((off, t));
        }
        info = inner;
    }
    None
}

/// An array type's element size, count and element type.
fn array_parts(d: &DwarfIndex, array: &TypeInfo) -> Option<(u64, u64, TypeRef)> {
    let elem = array.elem?;
    Some((type_size(&d.resolve(elem)?), array.count?, elem))
}

/// A typedef or pointer type's struct: `map[K]V` → `*hash<K,V>` → `hash<K,V>`.
fn pointee(d: &DwarfIndex, t: TypeRef) -> Option<TypeRef> {
    let mut t = t;
    for _ in 0..4 {
        let info = d.type_info(t)?;
        match info.tag {
            dw::DW_TAG_typedef | dw::DW_TAG_pointer_type => t = info.elem?,
            dw::DW_TAG_structure_type => return Some(t),
            _ => return None,
        }
    }
    None
}

/// A Swiss map of at most 8 entries has no directory: `dirLen` is 0 and
/// `dirPtr`, typed `**table<K,V>`, points at its one group. Its follow is
/// retyped to the group type, found through the table's `groups.data`.
fn small_map(d: &DwarfIndex, info: &TypeInfo, rows: &mut [Row]) {
    let zero = rows.iter().any(|r| r.depth == 0 && r.name == "dirLen" && r.shown == Shown::Value("0".into()));
    let Some(ptr_ty) = info.field("dirPtr").and_then(|f| f.ty) else { return };
    if !zero {
        return;
    }
    let group = (|| {
        let table = pointee(d, ptr_ty)?;
        let (_, groups) = d.field_path_in(table, "groups.data")?;
        let g = d.type_info(groups?)?;
        (g.tag == dw::DW_TAG_pointer_type).then_some(g.elem)?
    })();
    let Some(row) = rows.iter_mut().find(|r| r.depth == 0 && r.name == "dirPtr") else { return };
    let Some(f) = row.follow.as_mut() else { return };
    match group.and_then(|g| d.type_info(g).map(|i| (g, i.name))) {
        Some((g, name)) => {
            f.ty = g;
            f.label = format!("{name} at {} (the small map's one group)", f.address);
            f.type_name = name;
            row.note = Some("dirLen 0: a small map, dirPtr points at its one group".into());
        }
        None => row.follow = None,
    }
}

/// How many elements the pointers of a structure lead to, where its other
/// fields say: a Swiss map's directory (`dirLen` tables), a classic map's
/// buckets (`1 << B`) and old buckets (half as many, as many on a same-size
/// grow), a Swiss table's groups (`lengthMask + 1`), a slice's `len` elements.
fn counts(rows: &mut [Row]) {
    let num = |rows: &[Row], name: &str| {
        rows.iter().find(|r| r.name == name).and_then(|r| match &r.shown {
            Shown::Value(v) => v.parse::<u64>().ok(),
            _ => None,
        })
    };
    let b = num(rows, "B").filter(|&b| b < 64);
    let same_size = num(rows, "flags").is_some_and(|f| f & 8 != 0);
    let set = [
        ("dirPtr", num(rows, "dirLen").filter(|&n| n > 0)),
        ("buckets", b.map(|b| 1u64 << b)),
        ("oldbuckets", b.map(|b| if same_size || b == 0 { 1u64 << b } else { 1u64 << b.saturating_sub(1) })),
        // A Swiss table's groups: lengthMask + 1 of them.
        ("groups.data", num(rows, "groups.lengthMask").and_then(|m| m.checked_add(1))),
    ];
    for (name, n) in set {
        let Some(n) = n else { continue };
        if let Some(f) = rows.iter_mut().find(|r| r.name == name).and_then(|r| r.follow.as_mut()) {
            f.count = n;
            f.label = format!("{n} × {} at {}", f.type_name, f.address);
        }
    }
    for r in rows.iter_mut().filter(|r| r.type_name.starts_with("[]")) {
        // "len L cap C at P"
        let Shown::Value(v) = &r.shown else { continue };
        let Some(len) = v.strip_prefix("len ").and_then(|v| v.split(' ').next()).and_then(|l| l.parse::<u64>().ok())
        else {
            continue;
        };
        if len == 0 {
            r.follow = None;
        } else if let Some(f) = r.follow.as_mut() {
            f.count = len;
            f.label = format!("{len} × {} at {}", f.type_name, f.address);
        }
    }
}

/// Types whose fields the runtime owns (no user data in them but in the
/// map types' key and value slots, see [`secret_member`]).
fn runtime_owned(name: &str) -> bool {
    let name = name.trim_start_matches('*');
    name.starts_with("runtime.")
        || name.starts_with("internal/runtime/")
        || name.starts_with("internal/abi.")
        || name.starts_with("sync/atomic.")
        || name.starts_with("internal/sync.")
        || map_synth(name)
        || matches!(name, "unsafe.Pointer" | "uintptr" | "bool")
        || name.starts_with("uint")
        || name.starts_with("int")
}

/// The map types the linker synthesizes for DWARF.
fn map_synth(name: &str) -> bool {
    ["hash<", "bucket<", "map<", "table<", "groupReference<", "noalg.map."].iter().any(|p| name.starts_with(p))
}

/// A member of a map type that holds the map's keys or values.
fn secret_member(root: &str, name: &str) -> bool {
    map_synth(root.trim_start_matches('*'))
        && matches!(name, "keys" | "values" | "elems" | "slots" | "key" | "elem" | "overflow_values")
}

/// The byte ranges of secret leaf rows.
fn hidden_ranges(rows: &[Row]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for r in rows.iter().filter(|r| r.secret && r.shown != Shown::Heading) {
        match out.last_mut() {
            Some((o, l)) if o.saturating_add(*l) == r.offset => *l = l.saturating_add(r.size),
            _ => out.push((r.offset, r.size)),
        }
    }
    out
}

struct Walker<'a, 'b> {
    insp: &'a Inspector,
    d: &'a DwarfIndex,
    dec: &'b mut Decoded,
    /// The name of the structure type whose members are being listed.
    root: String,
}

impl Walker<'_, '_> {
    fn bytes_at(&self, off: u64, size: u64) -> Option<Vec<u8>> {
        let start = usize::try_from(off).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        self.dec.bytes.get(start..end)?.iter().copied().collect()
    }

    fn uint_at(&self, off: u64, size: u64) -> Option<u64> {
        let b = self.bytes_at(off, size.min(8))?;
        let mut w = [0u8; 8];
        w.get_mut(..b.len())?.copy_from_slice(&b);
        Some(u64::from_le_bytes(w))
    }

    /// Adds the rows of one member; false once the row cap is reached.
    fn member(&mut self, name: &str, off: u64, ty: Option<TypeRef>, depth: u8, secret: bool) -> bool {
        if self.dec.rows.len() >= MAX_ROWS {
            return false;
        }
        let Some(t) = ty else {
            self.push(name, depth, off, 0, "?".into(), Shown::Value("type not recorded".into()), secret);
            return true;
        };
        let Some(named) = self.d.type_info(t) else { return true };
        let Some(info) = self.d.resolve(t) else { return true };
        let type_name = if named.name.is_empty() { info.name.clone() } else { named.name.clone() };
        let size = type_size(&info);
        if size > 0 && self.bytes_at(off, size).is_none() && off.saturating_add(size) > MAX_BYTES.min(self.dec.size) {
            return true;
        }
        match info.tag {
            dw::DW_TAG_structure_type if info.name == "string" => {
                let len = self.uint_at(off.saturating_add(8), 8);
                // A string's bytes are shown only with --show-values, whoever owns it.
                let shown = match (len, self.insp.show_values) {
                    (None, _) => Shown::Unreadable,
                    (Some(len), true) => Shown::Value(self.string_text(off, len)),
                    (Some(_), false) if secret => Shown::Hidden,
                    (Some(len), false) => Shown::Value(format!("string, {len} bytes")),
                };
                self.push(name, depth, off, size, type_name, shown, secret);
            }
            dw::DW_TAG_structure_type if info.name.starts_with("[]") => {
                let (ptr, len, cap) = (
                    self.uint_at(off, 8),
                    self.uint_at(off.saturating_add(8), 8),
                    self.uint_at(off.saturating_add(16), 8),
                );
                let shown = match (ptr, len, cap) {
                    (Some(p), Some(l), Some(c)) if !secret || self.insp.show_values => {
                        Shown::Value(format!("len {l} cap {c} at {}", Addr(p)))
                    }
                    (Some(_), Some(_), Some(_)) => Shown::Hidden,
                    _ => Shown::Unreadable,
                };
                let follow = match (ptr, info.field("array").and_then(|f| f.ty)) {
                    (Some(p), Some(at)) if p != 0 && matches!(shown, Shown::Value(_)) => self.target_of(Addr(p), at),
                    _ => None,
                };
                let i = self.push(name, depth, off, size, type_name, shown, secret);
                self.set_follow(i, follow);
            }
            // An atomic is its number: `atomicstatus  2 (running)`.
            dw::DW_TAG_structure_type if atomic_value(self.d, &info).is_some() => {
                if let Some((inner, vt)) = atomic_value(self.d, &info) {
                    if let (Some(vn), Some(vi)) = (self.d.type_info(vt), self.d.resolve(vt)) {
                        self.leaf(name, depth, off.saturating_add(inner), type_size(&vi), &vn, &vi, type_name, secret);
                    }
                }
            }
            dw::DW_TAG_structure_type => {
                if depth >= MAX_DEPTH {
                    self.push(name, depth, off, size, type_name, Shown::Value(format!("{size} bytes")), secret);
                    return true;
                }
                self.push(name, depth, off, size, type_name, Shown::Heading, secret);
                for f in &info.fields {
                    let n = if name.is_empty() { f.name.clone() } else { format!("{name}.{}", f.name) };
                    let secret = secret || secret_member(&info.name, &f.name);
                    if !self.member(&n, off.saturating_add(f.offset), f.ty, depth.saturating_add(1), secret) {
                        return false;
                    }
                }
            }
            dw::DW_TAG_array_type => {
                let Some((esize, count, et)) = array_parts(self.d, &info) else {
                    self.push(name, depth, off, size, type_name, Shown::Value(format!("{size} bytes")), secret);
                    return true;
                };
                if depth >= MAX_DEPTH || count == 0 {
                    self.push(name, depth, off, size, type_name, Shown::Value(format!("{count} elements")), secret);
                    return true;
                }
                self.push(name, depth, off, size, type_name, Shown::Heading, secret);
                for i in 0..count.min(MAX_ELEMS) {
                    if !self.member(
                        &format!("{name}[{i}]"),
                        off.saturating_add(i.saturating_mul(esize)),
                        Some(et),
                        depth.saturating_add(1),
                        secret,
                    ) {
                        return false;
                    }
                }
                if count > MAX_ELEMS {
                    let rest = count.saturating_sub(MAX_ELEMS);
                    let text = Shown::Value(format!("{rest} more elements"));
                    self.push(
                        &format!("{name}[{MAX_ELEMS}…]"),
                        depth.saturating_add(1),
                        off.saturating_add(MAX_ELEMS.saturating_mul(esize)),
                        rest.saturating_mul(esize),
                        "…".into(),
                        text,
                        secret,
                    );
                }
            }
            _ => self.leaf(name, depth, off, size, &named, &info, type_name, secret),
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn leaf(
        &mut self,
        name: &str,
        depth: u8,
        off: u64,
        size: u64,
        named: &TypeInfo,
        info: &TypeInfo,
        type_name: String,
        secret: bool,
    ) {
        let hidden = secret && !self.insp.show_values;
        let Some(v) = (size <= 8).then(|| self.uint_at(off, size)).flatten() else {
            let shown = if self.bytes_at(off, size).is_none() {
                Shown::Unreadable
            } else if hidden {
                Shown::Hidden
            } else {
                Shown::Value(self.hex(off, size))
            };
            self.push(name, depth, off, size, type_name, shown, secret);
            return;
        };
        if hidden {
            self.push(name, depth, off, size, type_name, Shown::Hidden, secret);
            return;
        }
        let mut note = None;
        let mut follow = None;
        let shown = match info.tag {
            dw::DW_TAG_pointer_type => {
                let a = Addr(v);
                note = self.insp.symbol(a);
                if let Some(e) = info.elem.filter(|_| v != 0) {
                    follow = self.target_of(a, e);
                }
                if v == 0 {
                    "nil".to_string()
                } else {
                    a.to_string()
                }
            }
            dw::DW_TAG_base_type => base_value(&info.name, size, v),
            _ => format!("{v:#x}"),
        };
        // Integers that hold pointers by another name.
        let by_name = match named.name.as_str() {
            "runtime.guintptr" => Some("runtime.g"),
            "runtime.muintptr" => Some("runtime.m"),
            "runtime.puintptr" => Some("runtime.p"),
            _ => None,
        };
        let shown = match by_name {
            Some(to) if v != 0 => {
                follow = self.insp.named(Addr(v), to, format!("{to} at {}", Addr(v))).ok();
                Addr(v).to_string()
            }
            Some(_) => "0".to_string(),
            None => shown,
        };
        if note.is_none() {
            note = self.meaning(name, v);
        }
        if note.is_none() && info.tag == dw::DW_TAG_base_type && named.name == "uintptr" && v != 0 {
            note = self.insp.symbol(Addr(v));
        }
        let i = self.push(name, depth, off, size, type_name, Shown::Value(shown), secret);
        if let Some(r) = self.dec.rows.get_mut(i) {
            r.note = note;
        }
        self.set_follow(i, follow);
    }

    /// What a runtime field's number means, in the runtime's words.
    fn meaning(&self, name: &str, v: u64) -> Option<String> {
        let p = &self.insp.p;
        // Atomics wrap the number: `atomicstatus.value`, `state.s.value`.
        let name = name.strip_suffix(".value").unwrap_or(name);
        let name = name.strip_suffix(".s").unwrap_or(name);
        match (self.root.as_str(), name) {
            ("runtime.g", "atomicstatus") => {
                let scan = u64::from(p.layout.status.scan);
                let base = usize::try_from(v & !scan).ok()?;
                let s = p.status_strings.get(base)?;
                Some(if v & scan != 0 { format!("{s} (scan)") } else { s.to_string() })
            }
            ("runtime.g", "waitreason") => {
                p.wait_reason_strings.get(usize::try_from(v).ok()?).filter(|s| !s.is_empty()).map(|s| s.to_string())
            }
            ("runtime.mspan", "state") => match v {
                0 => Some("mSpanDead".into()),
                1 => Some("mSpanInUse".into()),
                2 => Some("mSpanManual".into()),
                _ => None,
            },
            (root, n) if root.starts_with("noalg.map.group") && n.rsplit('.').next() == Some("ctrl") => {
                // One control byte per slot: 0x80 empty, 0xfe deleted, else full (the hash's low 7 bits).
                let b = v.to_le_bytes();
                let empty = b.iter().filter(|&&c| c == 0x80).count();
                let deleted = b.iter().filter(|&&c| c == 0xfe).count();
                Some(format!(
                    "{} full, {empty} empty, {deleted} deleted",
                    8usize.saturating_sub(empty).saturating_sub(deleted)
                ))
            }
            (root, n)
                if root.starts_with("bucket<") && n.rsplit('.').next().is_some_and(|n| n.starts_with("tophash[")) =>
            {
                match v {
                    0 => Some("emptyRest".into()),
                    1 => Some("emptyOne".into()),
                    2 => Some("evacuatedX".into()),
                    3 => Some("evacuatedY".into()),
                    4 => Some("evacuatedEmpty".into()),
                    _ => None,
                }
            }
            ("runtime.mspan", "spanclass") => {
                Some(format!("size class {}{}", v >> 1, if v & 1 != 0 { ", noscan" } else { "" }))
            }
            _ => None,
        }
    }

    fn string_text(&self, off: u64, len: u64) -> String {
        let Some(ptr) = self.uint_at(off, 8) else { return "?".into() };
        let n = len.min(MAX_STRING);
        match self.insp.p.mem().read_vec(Addr(ptr), n, MAX_STRING) {
            Ok(b) => {
                let s: String = String::from_utf8_lossy(&b).escape_debug().collect();
                format!("\"{s}\"{}", if len > n { format!("… ({len} bytes)") } else { String::new() })
            }
            Err(_) => format!("{len} bytes at {} (not in the core)", Addr(ptr)),
        }
    }

    fn hex(&self, off: u64, size: u64) -> String {
        match self.bytes_at(off, size.min(32)) {
            Some(b) => {
                let mut s: String = b.iter().map(|x| format!("{x:02x}")).collect();
                if size > 32 {
                    s.push('…');
                }
                s
            }
            None => "?".into(),
        }
    }

    /// A pointer's target, when its type is one that can be shown.
    fn target_of(&self, a: Addr, elem: TypeRef) -> Option<Target> {
        let info = self.d.resolve(elem)?;
        if type_size(&info) == 0 || info.tag == dw::DW_TAG_subroutine_type {
            return None;
        }
        let named = self.d.type_info(elem)?;
        let type_name = if named.name.is_empty() { info.name } else { named.name };
        Some(Target { address: a, ty: elem, label: format!("{type_name} at {a}"), type_name, count: 1 })
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        name: &str,
        depth: u8,
        offset: u64,
        size: u64,
        type_name: String,
        shown: Shown,
        secret: bool,
    ) -> usize {
        let shown = match shown {
            Shown::Value(_) if self.bytes_at(offset, size.min(8)).is_none() => Shown::Unreadable,
            s => s,
        };
        self.dec.rows.push(Row {
            name: name.to_string(),
            depth,
            offset,
            size,
            type_name,
            shown,
            note: None,
            follow: None,
            secret,
        });
        self.dec.rows.len().saturating_sub(1)
    }

    fn set_follow(&mut self, i: usize, follow: Option<Target>) {
        if let Some(r) = self.dec.rows.get_mut(i) {
            r.follow = follow;
        }
    }
}

/// A base type's value as Go prints it.
fn base_value(name: &str, size: u64, v: u64) -> String {
    let bits = size.saturating_mul(8).min(64);
    let sign_extend = |v: u64| -> i64 {
        if bits == 0 || bits >= 64 {
            v as i64
        } else {
            let shift = 64u64.saturating_sub(bits);
            ((v << shift) as i64) >> shift
        }
    };
    match name {
        "bool" => (v != 0).to_string(),
        "uintptr" => format!("{v:#x}"),
        "float64" => f64::from_bits(v).to_string(),
        "float32" => f32::from_bits(v as u32).to_string(),
        n if n.starts_with("int") => sign_extend(v).to_string(),
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_values_read_as_go_prints_them() {
        assert_eq!(base_value("int8", 1, 0xff), "-1");
        assert_eq!(base_value("int32", 4, 0xffff_fffe), "-2");
        assert_eq!(base_value("int", 8, 5), "5");
        assert_eq!(base_value("uint8", 1, 0xff), "255");
        assert_eq!(base_value("uintptr", 8, 0xc000), "0xc000");
        assert_eq!(base_value("bool", 1, 1), "true");
        assert_eq!(base_value("float64", 8, 1.5f64.to_bits()), "1.5");
    }

    #[test]
    fn only_the_map_types_slots_and_user_types_are_secret() {
        assert!(runtime_owned("runtime.g"));
        assert!(runtime_owned("internal/runtime/maps.Map"));
        assert!(runtime_owned("hash<int,int>"));
        assert!(!runtime_owned("main.config"));
        assert!(secret_member("bucket<int,string>", "keys"));
        assert!(secret_member("noalg.map.group[int]int", "slots"));
        assert!(!secret_member("bucket<int,string>", "tophash"));
        assert!(!secret_member("runtime.hiter", "key"), "an iterator's key is a pointer, not the key");
    }

    #[test]
    fn adjacent_secret_rows_make_one_hidden_range() {
        let row = |offset, size, secret| Row {
            name: String::new(),
            depth: 1,
            offset,
            size,
            type_name: String::new(),
            shown: Shown::Hidden,
            note: None,
            follow: None,
            secret,
        };
        let rows = [row(0, 8, false), row(8, 8, true), row(16, 8, true), row(32, 8, true)];
        assert_eq!(hidden_ranges(&rows), vec![(8, 16), (32, 8)]);
    }
}
