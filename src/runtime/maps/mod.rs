//! Go maps: classic (`runtime.hmap`/`hiter`, Go ≤1.23 and 1.24/1.25 built with
//! `GOEXPERIMENT=noswissmap`) and Swiss (`internal/runtime/maps.Map`/`Iter`,
//! 1.24+). Which one a binary uses is decided by which types its DWARF has,
//! and every offset is read from those types.

pub mod builtin;
pub mod entries;
pub mod iterators;
pub mod names;

use super::process::Process;
use crate::addr::Addr;
use crate::exe::dwarf::DwarfIndex;
use crate::memory::{MemError, Memory, ReadExt};

/// Offsets of the classic map structures.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ClassicLayout {
    pub count: u64,
    pub flags: u64,
    pub b: u64,
    pub hash0: u64,
    pub buckets: u64,
    pub oldbuckets: u64,
    pub nevacuate: u64,
    pub clear_seq: Option<u64>,
    pub iter_size: u64,
    pub it_key: u64,
    pub it_t: u64,
    pub it_h: u64,
    pub it_buckets: u64,
    pub it_bptr: u64,
    pub it_b: u64,
    pub it_clear_seq: Option<u64>,
    /// `hashWriting` flag bit.
    pub hash_writing: u8,
    /// `sameSizeGrow` flag bit.
    pub same_size_grow: u8,
    /// Tophash marks of evacuated slots (`evacuatedX`, `evacuatedY`, `evacuatedEmpty`).
    pub evacuated: [u8; 3],
}

/// Offsets of the Swiss map structures.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct SwissLayout {
    pub used: u64,
    pub seed: u64,
    pub dir_ptr: u64,
    pub dir_len: u64,
    pub global_depth: u64,
    pub writing: u64,
    pub clear_seq: u64,
    pub iter_size: u64,
    pub it_key: u64,
    pub it_typ: u64,
    pub it_m: u64,
    pub it_clear_seq: u64,
    pub it_global_depth: u64,
    pub it_dir_idx: u64,
    pub it_tab: u64,
    pub it_group: u64,
    pub table_index: u64,
    pub table_used: u64,
    pub table_capacity: u64,
}

/// Which map implementation the binary has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapLayout {
    /// `runtime.hmap`.
    Classic(ClassicLayout),
    /// `internal/runtime/maps.Map`.
    Swiss(SwissLayout),
}

/// Offsets in runtime type descriptors: every type's (`internal/abi.Type`),
/// and the map type's key and element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeLayout {
    /// `internal/abi.Type`.
    pub abi: crate::runtime::types::TypeOffsets,
    /// The map type's `Key`.
    pub key: u64,
    /// The map type's `Elem`.
    pub elem: u64,
}

/// `abi.Map` kind.
pub const KIND_MAP: u8 = 21;
pub use crate::runtime::types::KIND_MASK;

/// Where the map type descriptor describes its slots (for `--show-values`):
/// offsets of its fields, and the flag bits and constants entries need.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct SlotLayout {
    /// `Flags` (a `uint32`).
    pub flags: Option<u64>,
    /// Classic: `KeySize`, `ValueSize` (`uint8`), `BucketSize` (`uint16`).
    pub key_size: Option<u64>,
    pub value_size: Option<u64>,
    pub bucket_size: Option<u64>,
    /// Swiss: `GroupSize`, `SlotSize`, `ElemOff` (`uintptr`).
    pub group_size: Option<u64>,
    pub slot_size: Option<u64>,
    pub elem_off: Option<u64>,
    /// Go 1.27: `KeysOff`, `KeyStride`, `ElemsOff`, `ElemStride`.
    pub split: Option<[u64; 4]>,
    /// `internal/runtime/maps.table.groups`.
    pub table_groups: Option<u64>,
    /// Flag bits of an indirect key and an indirect element.
    pub indirect_key: u64,
    pub indirect_elem: u64,
    /// Classic `minTopHash`.
    pub min_top_hash: u8,
}

/// `reflect.MapIter`: where its runtime iterator sits, and its size.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ReflectIterLayout {
    /// Offset of the `hiter` field.
    pub hiter: u64,
    /// Size of `reflect.MapIter`.
    pub size: u64,
}

/// Everything needed to decode maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapModel {
    /// The implementation's layout.
    pub layout: MapLayout,
    /// Type descriptor layout.
    pub types: TypeLayout,
    /// Iterator pointer words' extent (`ptrdata`), for matching stack objects.
    pub iter_ptrdata: u64,
    /// `reflect.MapIter`, when the program has it.
    pub reflect_iter: Option<ReflectIterLayout>,
    /// The map type descriptor's slot layout.
    pub slots: SlotLayout,
    /// `moduledata.types`: base of type name offsets (resolved by [`MapModel::resolve`]).
    pub types_base: Option<Addr>,
}

fn f(d: &DwarfIndex, st: &str, field: &str) -> Result<u64, String> {
    d.require_field(st, field)
}

/// Extent of the pointer words of a struct (`ptrdata`): the end of its last
/// pointer, looking into nested structs and arrays.
fn ptrdata(d: &DwarfIndex, st: &str) -> u64 {
    d.type_named(st).map_or(0, |t| ptr_end(d, t, 0, 0))
}

fn ptr_end(d: &DwarfIndex, t: crate::exe::dwarf::TypeRef, base: u64, depth: u32) -> u64 {
    use gimli::constants as dw;
    if depth > 8 {
        return 0;
    }
    let Some(ti) = d.resolve(t) else { return 0 };
    match ti.tag {
        dw::DW_TAG_pointer_type => base.saturating_add(8),
        _ if ti.name == "unsafe.Pointer"
            || ti.name.starts_with('*')
            || ti.name.starts_with("map[")
            || ti.name.starts_with("chan ") =>
        {
            base.saturating_add(8)
        }
        dw::DW_TAG_structure_type => ti
            .fields
            .iter()
            .filter_map(|f| f.ty.map(|ty| ptr_end(d, ty, base.saturating_add(f.offset), depth.saturating_add(1))))
            .max()
            .unwrap_or(0),
        _ => 0,
    }
}

/// The map type descriptor's slot layout, from DWARF.
fn slot_layout(d: &DwarfIndex, classic: bool) -> SlotLayout {
    let mt = if classic && d.struct_named("internal/abi.OldMapType").is_some() {
        "internal/abi.OldMapType"
    } else if !classic && d.struct_named("internal/abi.SwissMapType").is_some() {
        "internal/abi.SwissMapType"
    } else {
        "internal/abi.MapType"
    };
    let o = |f: &str| d.field_offset(mt, f);
    let c = |names: &[&str], def: i64| names.iter().find_map(|n| d.constant(n)).unwrap_or(def);
    let split = match (o("KeysOff"), o("KeyStride"), o("ElemsOff"), o("ElemStride")) {
        (Some(a), Some(b), Some(e), Some(f)) => Some([a, b, e, f]),
        _ => None,
    };
    let (ik, ie) = if classic {
        (1, 2)
    } else {
        (
            c(&["internal/abi.SwissMapIndirectKey", "internal/abi.MapIndirectKey"], 4),
            c(&["internal/abi.SwissMapIndirectElem", "internal/abi.MapIndirectElem"], 8),
        )
    };
    SlotLayout {
        flags: o("Flags"),
        key_size: o("KeySize").filter(|_| classic),
        value_size: o("ValueSize").filter(|_| classic),
        bucket_size: o("BucketSize").filter(|_| classic),
        group_size: o("GroupSize").filter(|_| !classic),
        slot_size: o("SlotSize").filter(|_| !classic),
        elem_off: o("ElemOff").filter(|_| !classic),
        split: split.filter(|_| !classic),
        table_groups: d.field_offset("internal/runtime/maps.table", "groups").filter(|_| !classic),
        indirect_key: ik as u64,
        indirect_elem: ie as u64,
        min_top_hash: if classic { c(&["runtime.minTopHash"], 5) as u8 } else { 0 },
    }
}

impl MapModel {
    /// Detects the map implementation from DWARF and reads its layout.
    pub fn from_dwarf(d: &DwarfIndex) -> Result<MapModel, String> {
        let types_of = |candidates: &[&str]| -> Result<(u64, u64), String> {
            for c in candidates {
                if let (Some(k), Some(e)) = (d.field_offset(c, "Key"), d.field_offset(c, "Elem")) {
                    return Ok((k, e));
                }
            }
            Err(format!("DWARF has none of the map type descriptors {candidates:?}"))
        };
        let (layout, (key, elem), iter_ptrdata) = if d.struct_named("runtime.hmap").is_some() {
            let h = "runtime.hmap";
            let it = "runtime.hiter";
            let c = |n: &str, def: i64| d.constant(n).unwrap_or(def) as u8;
            let l = ClassicLayout {
                count: f(d, h, "count")?,
                flags: f(d, h, "flags")?,
                b: f(d, h, "B")?,
                hash0: f(d, h, "hash0")?,
                buckets: f(d, h, "buckets")?,
                oldbuckets: f(d, h, "oldbuckets")?,
                nevacuate: f(d, h, "nevacuate")?,
                clear_seq: d.field_offset(h, "clearSeq"),
                iter_size: d.struct_named(it).and_then(|t| t.size).ok_or("DWARF has no runtime.hiter")?,
                it_key: f(d, it, "key")?,
                it_t: f(d, it, "t")?,
                it_h: f(d, it, "h")?,
                it_buckets: f(d, it, "buckets")?,
                it_bptr: f(d, it, "bptr")?,
                it_b: f(d, it, "B")?,
                it_clear_seq: d.field_offset(it, "clearSeq"),
                hash_writing: c("runtime.hashWriting", 4),
                same_size_grow: c("runtime.sameSizeGrow", 8),
                evacuated: [c("runtime.evacuatedX", 2), c("runtime.evacuatedY", 3), c("runtime.evacuatedEmpty", 4)],
            };
            (
                MapLayout::Classic(l),
                types_of(&["internal/abi.OldMapType", "internal/abi.MapType", "runtime.maptype"])?,
                ptrdata(d, it),
            )
        } else if d.struct_named("internal/runtime/maps.Map").is_some() {
            let m = "internal/runtime/maps.Map";
            let it = "internal/runtime/maps.Iter";
            let t = "internal/runtime/maps.table";
            let l = SwissLayout {
                used: f(d, m, "used")?,
                seed: f(d, m, "seed")?,
                dir_ptr: f(d, m, "dirPtr")?,
                dir_len: f(d, m, "dirLen")?,
                global_depth: f(d, m, "globalDepth")?,
                writing: f(d, m, "writing")?,
                clear_seq: f(d, m, "clearSeq")?,
                iter_size: d.struct_named(it).and_then(|t| t.size).ok_or("DWARF has no maps.Iter")?,
                it_key: f(d, it, "key")?,
                it_typ: f(d, it, "typ")?,
                it_m: f(d, it, "m")?,
                it_clear_seq: f(d, it, "clearSeq")?,
                it_global_depth: f(d, it, "globalDepth")?,
                it_dir_idx: f(d, it, "dirIdx")?,
                it_tab: f(d, it, "tab")?,
                it_group: f(d, it, "group")?,
                table_index: f(d, t, "index")?,
                table_used: f(d, t, "used")?,
                table_capacity: f(d, t, "capacity")?,
            };
            (MapLayout::Swiss(l), types_of(&["internal/abi.SwissMapType", "internal/abi.MapType"])?, ptrdata(d, it))
        } else {
            return Err("DWARF has neither runtime.hmap nor internal/runtime/maps.Map".into());
        };
        let slots = slot_layout(d, matches!(layout, MapLayout::Classic(_)));
        Ok(MapModel {
            layout,
            types: TypeLayout { abi: crate::runtime::types::TypeOffsets::from_dwarf(d)?, key, elem },
            iter_ptrdata,
            slots,
            reflect_iter: match (d.field_offset("reflect.MapIter", "hiter"), d.struct_named("reflect.MapIter")) {
                (Some(hiter), Some(t)) => t.size.map(|size| ReflectIterLayout { hiter, size }),
                _ => None,
            },
            types_base: None,
        })
    }

    /// The process's map model: from DWARF, else (no DWARF) the built-in
    /// layout of its Go version ([`builtin`]); resolved against the process.
    pub fn of(p: &Process) -> Result<MapModel, String> {
        let model = match p.dwarf() {
            Ok(d) => MapModel::from_dwarf(d)?,
            Err(why) => {
                let minor = p.go_major_minor().1;
                // The full version, with its experiments (`go1.24.11 X:noswissmap`).
                let full = p.exe.build_info.as_ref().map_or(p.go_version.as_str(), |b| b.go_version.as_str());
                builtin::builtin_model(minor, full)
                    .ok_or_else(|| format!("{why}, and gotopsy has no built-in map layout for {}", p.go_version))?
            }
        };
        Ok(model.resolve(p))
    }

    /// Resolves what depends on the process (the base of type names).
    pub fn resolve(mut self, p: &Process) -> Self {
        let md = p.global("runtime.firstmoduledata");
        self.types_base = md.and_then(|md| p.mem().read_ptr(md.add(self.types.abi.moduledata_types)).ok());
        self
    }

    /// `classic` or `swiss`.
    pub fn layout_name(&self) -> &'static str {
        match self.layout {
            MapLayout::Classic(_) => "classic",
            MapLayout::Swiss(_) => "swiss",
        }
    }

    /// Size of an iterator.
    pub fn iter_size(&self) -> u64 {
        match &self.layout {
            MapLayout::Classic(l) => l.iter_size,
            MapLayout::Swiss(l) => l.iter_size,
        }
    }

    /// True when `t` points at a map type descriptor.
    pub fn is_map_type(&self, mem: &dyn Memory, t: Addr) -> bool {
        !t.is_null() && mem.read_u8(t.add(self.types.abi.kind)).is_ok_and(|k| k & KIND_MASK == KIND_MAP)
    }
}

/// The maps read so far, by header address. Headers are boxed: a table of a
/// quarter of a million maps keeps its slack at a pointer a slot, and tables
/// merged from parallel chunks move pointers, not headers.
pub type MapTable = std::collections::HashMap<Addr, Box<MapHeader>>;

/// Names of type descriptors already read.
#[derive(Default, Debug)]
pub struct TypeNames(pub rustc_hash::FxHashMap<Addr, Option<std::sync::Arc<str>>>);

/// A map header read from the core.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct MapHeader {
    /// Address of the header.
    pub address: Addr,
    /// The map's type descriptor, when known (from an iterator or a frame).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_descriptor: Option<Addr>,
    /// `map[K]V`, when the type is known.
    #[serde(rename = "type")]
    pub type_name: Option<std::sync::Arc<str>>,
    /// Key type name.
    pub key_type: Option<std::sync::Arc<str>>,
    /// Value type name.
    pub value_type: Option<std::sync::Arc<str>>,
    /// Number of entries (`count` / `used`).
    pub len: u64,
    /// `classic` or `swiss`.
    pub layout: std::borrow::Cow<'static, str>,
    /// A write was in progress (`hashWriting` / `writing != 0`).
    pub writing: bool,
    /// `clearSeq`, where the layout has it.
    pub clear_seq: Option<u64>,
    /// Classic: `flags`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u8>,
    /// Classic: log2 of the bucket count.
    #[serde(rename = "B", skip_serializing_if = "Option::is_none")]
    pub b: Option<u8>,
    /// Classic: bucket array.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Addr>,
    /// Classic: old bucket array while growing (null otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldbuckets: Option<Addr>,
    /// Classic: evacuation progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nevacuate: Option<u64>,
    /// Classic: a grow is in progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growing: Option<bool>,
    /// Swiss: directory (or the single group of a small map).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir_ptr: Option<Addr>,
    /// Swiss: directory length (0 for a small map).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir_len: Option<i64>,
    /// Swiss: log2 of the directory length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_depth: Option<u8>,
    /// Entries, only with `--show-values` (cores hold secrets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<entries::Entry>>,
    /// More entries than shown, or why none could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries_note: Option<String>,
    /// The names the program has for the map (see [`names`]).
    #[serde(default)]
    pub names: Vec<names::MapName>,
    /// Why the header's words cannot be a live map's (a hash seed of 0, an
    /// impossible size): the core's memory there is damaged, and its
    /// `len` and the rest are not to be trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damage: Option<String>,
}

impl MapHeader {
    /// A header at `address` with none of its fields read yet.
    pub fn unread(address: Addr, layout: &'static str) -> MapHeader {
        MapHeader {
            names: Vec::new(),
            address,
            type_descriptor: None,
            type_name: None,
            key_type: None,
            value_type: None,
            len: 0,
            layout: layout.into(),
            writing: false,
            clear_seq: None,
            flags: None,
            b: None,
            buckets: None,
            oldbuckets: None,
            nevacuate: None,
            growing: None,
            dir_ptr: None,
            dir_len: None,
            global_depth: None,
            entries: None,
            entries_note: None,
            damage: None,
        }
    }
}

impl Process {
    /// The name of a runtime type descriptor (see [`crate::runtime::types::type_name`]).
    pub fn type_name(&self, tl: &TypeLayout, types: Addr, ty: Addr) -> Option<String> {
        crate::runtime::types::type_name(self, &tl.abi, types, ty)
    }

    /// Reads the map header at `h`; `t` is its type descriptor if known.
    pub fn read_map(&self, model: &MapModel, h: Addr, t: Option<Addr>) -> Result<MapHeader, MemError> {
        self.read_map_cached(model, h, t, &mut TypeNames::default())
    }

    /// [`Process::read_map`] with a cache of type names.
    pub fn read_map_cached(
        &self,
        model: &MapModel,
        h: Addr,
        t: Option<Addr>,
        names: &mut TypeNames,
    ) -> Result<MapHeader, MemError> {
        let mem = self.mem();
        let tl = &model.types;
        // Names are shared: 25,000 maps of one type hold one string.
        let mut name_of = |ty: Addr| -> Option<std::sync::Arc<str>> {
            names
                .0
                .entry(ty)
                .or_insert_with(|| model.types_base.and_then(|base| self.type_name(tl, base, ty)).map(Into::into))
                .clone()
        };
        let (type_name, key_type, value_type) = match t.filter(|t| model.is_map_type(mem, *t)) {
            Some(t) => (
                name_of(t),
                mem.read_ptr(t.add(tl.key)).ok().and_then(&mut name_of),
                mem.read_ptr(t.add(tl.elem)).ok().and_then(&mut name_of),
            ),
            None => (None, None, None),
        };
        let mut out = MapHeader {
            type_descriptor: t,
            type_name,
            key_type,
            value_type,
            ..MapHeader::unread(h, model.layout_name())
        };
        match &model.layout {
            MapLayout::Classic(l) => {
                out.len = mem.read_u64(h.add(l.count))?;
                let flags = mem.read_u8(h.add(l.flags))?;
                out.flags = Some(flags);
                out.writing = flags & l.hash_writing != 0;
                out.b = Some(mem.read_u8(h.add(l.b))?);
                out.buckets = Some(mem.read_ptr(h.add(l.buckets))?);
                let old = mem.read_ptr(h.add(l.oldbuckets))?;
                out.oldbuckets = Some(old);
                out.growing = Some(!old.is_null());
                out.nevacuate = Some(mem.read_u64(h.add(l.nevacuate))?);
                out.clear_seq = l.clear_seq.map(|o| mem.read_u64(h.add(o))).transpose()?;
                // makemap seeds every map with a random hash0; B counts bucket bits.
                let hash0 = mem.read_u32(h.add(l.hash0))?;
                out.damage = if hash0 == 0 {
                    Some("hash seed (hash0) 0, which makemap never leaves".into())
                } else if out.b.is_some_and(|b| b > 63) {
                    Some(format!("{} bucket bits (B)", out.b.unwrap_or(0)))
                } else if flags > 15 {
                    Some(format!("flags {flags:#x}, where the runtime uses 4 bits"))
                } else if out.b.is_some_and(|b| out.len > 16u64.checked_shl(u32::from(b)).unwrap_or(u64::MAX)) {
                    // Growth starts past 6.5 entries per bucket.
                    Some(format!("{} entries in 2^{} buckets", out.len, out.b.unwrap_or(0)))
                } else if out.len > 0 && out.buckets.is_some_and(|b| b.is_null()) {
                    Some(format!("{} entries but no buckets", out.len))
                } else {
                    None
                };
            }
            MapLayout::Swiss(l) => {
                out.len = mem.read_u64(h.add(l.used))?;
                out.writing = mem.read_u8(h.add(l.writing))? != 0;
                out.dir_ptr = Some(mem.read_ptr(h.add(l.dir_ptr))?);
                out.dir_len = Some(mem.read_i64(h.add(l.dir_len))?);
                out.global_depth = Some(mem.read_u8(h.add(l.global_depth))?);
                out.clear_seq = Some(mem.read_u64(h.add(l.clear_seq))?);
                // NewMap seeds every map with a random seed.
                let seed = mem.read_u64(h.add(l.seed))?;
                let (dir_len, depth) = (out.dir_len.unwrap_or(0), out.global_depth.unwrap_or(0));
                out.damage = if seed == 0 {
                    Some("hash seed 0, which NewMap never leaves".into())
                } else if !(0..=1 << 40).contains(&dir_len)
                    || depth > 40
                    || (dir_len != 0 && dir_len != 1i64 << depth && dir_len != 1i64 << depth.saturating_sub(1))
                {
                    // A directory has 2^globalDepth entries (2^(globalDepth-1)
                    // while installTableSplit doubles it); a small map none.
                    Some(format!("directory length {dir_len}, global depth {depth}"))
                } else if out.len > 1 << 48 || (dir_len == 0 && out.len > 8) {
                    Some(format!(
                        "{} entries{}",
                        out.len,
                        if dir_len == 0 { " in a small map's one group" } else { "" }
                    ))
                } else if out.len > 0 && out.dir_ptr.is_some_and(|d| d.is_null()) {
                    Some(format!("{} entries but no groups", out.len))
                } else {
                    None
                };
            }
        }
        Ok(out)
    }
}
