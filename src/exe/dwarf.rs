//! A lazy index over the executable's DWARF: struct layouts, field offsets,
//! constants and globals by their Go names (`runtime.g`, `runtime._Gscan`,
//! `runtime.allgs`). Runtime layouts come from here, never from version numbers.

use crate::addr::Addr;
use gimli::EndianArcSlice;
use gimli::{constants as dw, AttributeValue, DebugInfoOffset, LittleEndian, UnitOffset};
use object::{Object, ObjectSection};
use std::collections::HashMap;
use std::sync::Arc;

type R = EndianArcSlice<LittleEndian>;

/// A type DIE, by its global offset in `.debug_info`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypeRef(pub usize);

/// A struct member.
#[derive(Clone, Debug)]
pub struct Field {
    /// Member name.
    pub name: String,
    /// Byte offset in the struct.
    pub offset: u64,
    /// Member type.
    pub ty: Option<TypeRef>,
}

/// Where a parameter lives at some pc (see [`DwarfIndex::param_location`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ParamLocation {
    /// In a register (DWARF register number: 0 rax, 1 rdx, 2 rcx, 3 rbx, …).
    Register(u16),
    /// In memory at this offset from the canonical frame address.
    Cfa(i64),
}

/// What kind of variable a [`MapVar`] is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VarKind {
    /// A parameter (`DW_TAG_formal_parameter`).
    Parameter,
    /// A local variable.
    Local,
    /// A variable a closure captured (`DW_AT_go_closure_offset`).
    Closure,
}

/// A map-typed variable of a function with a location at some pc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapVar {
    /// Its name.
    pub name: String,
    /// Where it is.
    pub location: ParamLocation,
    /// Parameter, local or closure capture.
    pub kind: VarKind,
}

/// Go's `DW_AT_go_closure_offset`: a variable a closure captured.
const DW_AT_GO_CLOSURE_OFFSET: gimli::DwAt = gimli::DwAt(0x2907);
/// Most elements of a global array of maps that are named one by one.
const MAX_ARRAY_MAPS: u64 = 64;

/// A type's shape as far as gotopsy needs it.
#[derive(Clone, Debug)]
pub struct TypeInfo {
    /// Go name (`runtime.g`, `*runtime.m`, `[20]string`).
    pub name: String,
    /// `DW_TAG_*` of the DIE.
    pub tag: gimli::DwTag,
    /// Size in bytes, if stated.
    pub size: Option<u64>,
    /// Members, for structs.
    pub fields: Vec<Field>,
    /// Pointee, element or aliased type.
    pub elem: Option<TypeRef>,
    /// Number of elements, for arrays.
    pub count: Option<u64>,
}

impl TypeInfo {
    /// A member by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[derive(Copy, Clone, Debug)]
struct Entry {
    unit: usize,
    offset: UnitOffset,
    tag: gimli::DwTag,
}

/// The DWARF index. Building it scans the top level of every compilation
/// unit once; struct members are decoded only when asked for.
pub struct DwarfIndex {
    dwarf: gimli::Dwarf<R>,
    units: Vec<(DebugInfoOffset, gimli::Unit<R>)>,
    names: HashMap<String, Vec<Entry>>,
    /// Units or entries that could not be read: how many, and the first's error.
    damage: Option<(usize, String)>,
    /// Every typed global (name, stated address, type name), sorted, found
    /// once: each core of the build asks (a scan reads many).
    global_types: std::sync::OnceLock<Vec<(String, Addr, String)>>,
    /// [`DwarfIndex::map_globals`], found once.
    map_globals: std::sync::OnceLock<Vec<(String, Addr)>>,
}

impl DwarfIndex {
    /// Loads the DWARF sections (zlib-compressed ones too) and indexes names.
    pub fn load(file: &object::File<'_>) -> Result<DwarfIndex, String> {
        if file.section_by_name(".debug_info").is_none() {
            return Err("the executable has no DWARF (.debug_info missing: built with -ldflags=-w?)".into());
        }
        Self::from_sections(|name| match file.section_by_name(name) {
            Some(s) => Ok(Arc::from(s.uncompressed_data().map_err(|e| format!("{name}: {e}"))?.as_ref())),
            None => Ok(Arc::from(&[][..])),
        })
    }

    /// Indexes DWARF sections given by name (`.debug_info`, `.debug_abbrev`,
    /// …; one not there is empty): the executable's, or a fuzzer's.
    pub fn from_sections(section: impl Fn(&str) -> Result<Arc<[u8]>, String>) -> Result<DwarfIndex, String> {
        let load =
            |id: gimli::SectionId| -> Result<R, String> { Ok(EndianArcSlice::new(section(id.name())?, LittleEndian)) };
        let dwarf = gimli::Dwarf::load(load)?;
        let mut units = Vec::new();
        let mut names: HashMap<String, Vec<Entry>> = HashMap::new();
        let mut iter = dwarf.units();
        // A unit that cannot be read is left out (its names are missing, and
        // said), not the whole index: a damaged executable keeps the rest.
        let (mut skipped, mut first_problem) = (0usize, None::<String>);
        let mut problem = |what: String| {
            skipped = skipped.saturating_add(1);
            first_problem.get_or_insert(what);
        };
        loop {
            let header = match iter.next() {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(e) => {
                    // The next unit's start is unknown: the rest is lost.
                    problem(format!("DWARF unit header: {e}"));
                    break;
                }
            };
            let Some(off) = header.offset().to_debug_info_offset(&header) else { continue };
            let unit = match dwarf.unit(header) {
                Ok(u) => u,
                Err(e) => {
                    problem(format!("DWARF unit at {:#x}: {e}", off.0));
                    continue;
                }
            };
            let ui = units.len();
            {
                let mut cursor = unit.entries();
                loop {
                    let die = match cursor.next_dfs() {
                        Ok(Some(x)) => x,
                        Ok(None) => break,
                        Err(e) => {
                            problem(format!("DWARF entry in the unit at {:#x}: {e}", off.0));
                            break;
                        }
                    };
                    if die.depth() != 1 {
                        continue;
                    }
                    let tag = die.tag();
                    if !matches!(
                        tag,
                        dw::DW_TAG_structure_type
                            | dw::DW_TAG_typedef
                            | dw::DW_TAG_base_type
                            | dw::DW_TAG_pointer_type
                            | dw::DW_TAG_array_type
                            | dw::DW_TAG_variable
                            | dw::DW_TAG_constant
                            | dw::DW_TAG_subroutine_type
                            | dw::DW_TAG_unspecified_type
                            | dw::DW_TAG_subprogram
                    ) {
                        continue;
                    }
                    if let Some(name) = attr_string(&dwarf, &unit, die.attr_value(dw::DW_AT_name)) {
                        names.entry(name).or_default().push(Entry { unit: ui, offset: die.offset(), tag });
                    }
                }
            }
            units.push((off, unit));
        }
        if units.is_empty() {
            return Err(first_problem.unwrap_or_else(|| "no DWARF compilation unit".into()));
        }
        let damage = first_problem.map(|first| (skipped, first));
        Ok(DwarfIndex {
            dwarf,
            units,
            names,
            damage,
            global_types: Default::default(),
            map_globals: Default::default(),
        })
    }

    fn lookup(&self, name: &str, want: impl Fn(gimli::DwTag) -> bool) -> Option<Entry> {
        self.names.get(name)?.iter().copied().find(|e| want(e.tag))
    }

    #[allow(
        clippy::indexing_slicing,
        reason = "unit indices come from this index's own entries, built from the same units"
    )]
    fn global_ref(&self, e: Entry) -> TypeRef {
        TypeRef(self.units[e.unit].0 .0.saturating_add(e.offset.0))
    }

    #[allow(
        clippy::indexing_slicing,
        reason = "unit indices come from this index's own entries, built from the same units"
    )]
    fn locate(&self, t: TypeRef) -> Option<(usize, UnitOffset)> {
        let i = self.units.partition_point(|(off, _)| off.0 <= t.0).checked_sub(1)?;
        Some((i, UnitOffset(t.0.checked_sub(self.units[i].0 .0)?)))
    }

    /// A named type (struct, typedef, base type, …).
    pub fn type_named(&self, name: &str) -> Option<TypeRef> {
        let e =
            self.lookup(name, |t| t != dw::DW_TAG_variable && t != dw::DW_TAG_constant && t != dw::DW_TAG_subprogram)?;
        Some(self.global_ref(e))
    }

    /// Decodes a type DIE.
    #[allow(
        clippy::indexing_slicing,
        reason = "unit indices come from this index's own entries, built from the same units"
    )]
    pub fn type_info(&self, t: TypeRef) -> Option<TypeInfo> {
        let (ui, off) = self.locate(t)?;
        let unit = &self.units[ui].1;
        let mut tree = unit.entries_tree(Some(off)).ok()?;
        let root = tree.root().ok()?;
        let die = root.entry();
        let mut info = TypeInfo {
            name: attr_string(&self.dwarf, unit, die.attr_value(dw::DW_AT_name)).unwrap_or_default(),
            tag: die.tag(),
            size: die.attr_value(dw::DW_AT_byte_size).and_then(|v| v.udata_value()),
            fields: Vec::new(),
            elem: self.type_attr(ui, die),
            count: None,
        };
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            let c = child.entry();
            match c.tag() {
                dw::DW_TAG_member => {
                    let name = attr_string(&self.dwarf, unit, c.attr_value(dw::DW_AT_name)).unwrap_or_default();
                    let offset =
                        c.attr_value(dw::DW_AT_data_member_location).and_then(|v| v.udata_value()).unwrap_or(0);
                    info.fields.push(Field { name, offset, ty: self.type_attr(ui, c) });
                }
                dw::DW_TAG_subrange_type => {
                    let count = c.attr_value(dw::DW_AT_count).and_then(|v| v.udata_value());
                    let upper = c.attr_value(dw::DW_AT_upper_bound).and_then(|v| v.udata_value());
                    info.count = count.or(upper.and_then(|u| u.checked_add(1)));
                }
                _ => {}
            }
        }
        Some(info)
    }

    #[allow(
        clippy::indexing_slicing,
        reason = "unit indices come from this index's own entries, built from the same units"
    )]
    fn type_attr(&self, ui: usize, die: &gimli::DebuggingInformationEntry<R>) -> Option<TypeRef> {
        match die.attr_value(dw::DW_AT_type)? {
            AttributeValue::UnitRef(o) => Some(TypeRef(self.units[ui].0 .0.checked_add(o.0)?)),
            AttributeValue::DebugInfoRef(o) => Some(TypeRef(o.0)),
            _ => None,
        }
    }

    /// A struct type by name (following typedefs).
    pub fn struct_named(&self, name: &str) -> Option<TypeInfo> {
        let mut t = self.type_info(self.type_named(name)?)?;
        for _ in 0..8 {
            if t.tag != dw::DW_TAG_typedef {
                break;
            }
            t = self.type_info(t.elem?)?;
        }
        Some(t)
    }

    /// Like [`DwarfIndex::field_offset`], but an error naming what is missing.
    pub fn require_field(&self, name: &str, path: &str) -> Result<u64, String> {
        self.field_offset(name, path).ok_or_else(|| format!("DWARF has no field {path} in {name}"))
    }

    /// Byte offset of a dotted field path (`"sched.sp"`) in struct `name`.
    pub fn field_offset(&self, name: &str, path: &str) -> Option<u64> {
        self.field_path(name, path).map(|(off, _)| off)
    }

    /// Byte offset and type of a dotted field path in struct `name`.
    pub fn field_path(&self, name: &str, path: &str) -> Option<(u64, Option<TypeRef>)> {
        self.path_in(self.struct_named(name)?, path)
    }

    /// Byte offset and type of a dotted field path in the struct type `t`
    /// (for variables of unnamed struct types, such as `runtime.trace`).
    pub fn field_path_in(&self, t: TypeRef, path: &str) -> Option<(u64, Option<TypeRef>)> {
        self.path_in(self.resolve(t)?, path)
    }

    /// An array type's element size, element count and element type.
    pub fn array_of(&self, t: TypeRef) -> Option<(u64, u64, TypeRef)> {
        let a = self.resolve(t)?;
        let elem = a.elem?;
        let size = self.resolve(elem)?.size?;
        Some((size, a.count?, elem))
    }

    fn path_in(&self, mut t: TypeInfo, path: &str) -> Option<(u64, Option<TypeRef>)> {
        let mut off = 0;
        let mut ty = None;
        let mut parts = path.split('.').peekable();
        while let Some(p) = parts.next() {
            let f = t.field(p)?;
            off = f.offset.checked_add(off)?;
            ty = f.ty;
            if parts.peek().is_some() {
                t = self.resolve(f.ty?)?;
            }
        }
        Some((off, ty))
    }

    /// Follows typedefs to the underlying type.
    pub fn resolve(&self, t: TypeRef) -> Option<TypeInfo> {
        let mut info = self.type_info(t)?;
        for _ in 0..8 {
            if info.tag != dw::DW_TAG_typedef {
                break;
            }
            info = self.type_info(info.elem?)?;
        }
        Some(info)
    }

    /// Size of the type of a dotted field path.
    pub fn field_size(&self, name: &str, path: &str) -> Option<u64> {
        let (_, ty) = self.field_path(name, path)?;
        self.resolve(ty?)?.size
    }

    /// Value of a Go constant (`runtime._Gscan`).
    #[allow(
        clippy::indexing_slicing,
        reason = "unit indices come from this index's own entries, built from the same units"
    )]
    pub fn constant(&self, name: &str) -> Option<i64> {
        let e = self.lookup(name, |t| t == dw::DW_TAG_constant)?;
        let unit = &self.units[e.unit].1;
        let die = unit.entry(e.offset).ok()?;
        match die.attr_value(dw::DW_AT_const_value)? {
            AttributeValue::Sdata(v) => Some(v),
            AttributeValue::Udata(v) => Some(v as i64),
            AttributeValue::Data1(v) => Some(v as i64),
            AttributeValue::Data2(v) => Some(v as i64),
            AttributeValue::Data4(v) => Some(v as i64),
            AttributeValue::Data8(v) => Some(v as i64),
            _ => None,
        }
    }

    /// Where the `param`-th parameter (receiver first) of function `func` is at link-time address
    /// `pc`, from its DWARF location (a location list, or one expression):
    /// a register, or an offset from the frame's canonical frame address
    /// (Go's frame base is `DW_OP_call_frame_cfa`). `None` when DWARF does not
    /// say (no such function or parameter, or no location covers `pc`).
    #[allow(
        clippy::indexing_slicing,
        reason = "unit indices come from this index's own entries, built from the same units"
    )]
    pub fn param_location(&self, func: &str, param: usize, pc: u64) -> Option<ParamLocation> {
        let e = self.lookup(func, |t| t == dw::DW_TAG_subprogram)?;
        let unit = &self.units[e.unit].1;
        let cfa_base = self.frame_base_is_cfa(e);
        let mut tree = unit.entries_tree(Some(e.offset)).ok()?;
        let root = tree.root().ok()?;
        let mut children = root.children();
        let mut index = 0usize;
        while let Ok(Some(child)) = children.next() {
            let c = child.entry();
            if c.tag() != dw::DW_TAG_formal_parameter {
                continue;
            }
            let this = index;
            index = index.saturating_add(1);
            if this != param {
                continue;
            }
            return match self.location_at(unit, c, pc)? {
                ParamLocation::Cfa(_) if !cfa_base => None,
                loc => Some(loc),
            };
        }
        None
    }

    /// The parameters and local variables of map type (`map[K]V`) of function
    /// `func` that have a location at link-time address `pc`: name and place.
    #[allow(
        clippy::indexing_slicing,
        reason = "unit indices come from this index's own entries, built from the same units"
    )]
    pub fn map_vars_at(&self, func: &str, pc: u64) -> Vec<MapVar> {
        let mut out = Vec::new();
        let Some(e) = self.lookup(func, |t| t == dw::DW_TAG_subprogram) else { return out };
        let cfa_base = self.frame_base_is_cfa(e);
        let unit = &self.units[e.unit].1;
        // The function and its lexical blocks, by offset (a tree node borrows its tree).
        let mut todo = vec![e.offset];
        let mut seen = 0usize;
        while let Some(at) = todo.pop() {
            let Ok(mut tree) = unit.entries_tree(Some(at)) else { continue };
            let Ok(node) = tree.root() else { continue };
            let mut children = node.children();
            while let Ok(Some(child)) = children.next() {
                seen = seen.saturating_add(1);
                if seen > 4096 {
                    return out;
                }
                let c = child.entry();
                match c.tag() {
                    dw::DW_TAG_lexical_block => todo.push(c.offset()),
                    dw::DW_TAG_formal_parameter | dw::DW_TAG_variable => {
                        let is_map = self
                            .type_attr(e.unit, c)
                            .and_then(|t| self.type_info(t))
                            .is_some_and(|t| t.name.starts_with("map["));
                        if !is_map {
                            continue;
                        }
                        let name = attr_string(&self.dwarf, unit, c.attr_value(dw::DW_AT_name));
                        let kind = if c.tag() == dw::DW_TAG_formal_parameter {
                            VarKind::Parameter
                        } else if c.attr_value(DW_AT_GO_CLOSURE_OFFSET).is_some() {
                            VarKind::Closure
                        } else {
                            VarKind::Local
                        };
                        match (name, self.location_at(unit, c, pc)) {
                            (_, Some(ParamLocation::Cfa(_))) if !cfa_base => {}
                            (Some(name), Some(location)) => out.push(MapVar { name, location, kind }),
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// Whether a subprogram's frame base is the CFA (`DW_OP_call_frame_cfa`, as
    /// Go emits), so that `DW_OP_fbreg` offsets are CFA offsets.
    #[allow(
        clippy::indexing_slicing,
        reason = "unit indices come from this index's own entries, built from the same units"
    )]
    fn frame_base_is_cfa(&self, e: Entry) -> bool {
        let unit = &self.units[e.unit].1;
        let Ok(die) = unit.entry(e.offset) else { return false };
        matches!(
            die.attr_value(dw::DW_AT_frame_base),
            Some(AttributeValue::Exprloc(ref x)) if x.0.len() == 1 && gimli::Reader::read_u8(&mut x.0.clone()).ok() == Some(dw::DW_OP_call_frame_cfa.0)
        )
    }

    /// A DIE's `DW_AT_location` at `pc`, as a register or a frame-base offset
    /// (callers check the frame base is the CFA).
    fn location_at(
        &self,
        unit: &gimli::Unit<R>,
        die: &gimli::DebuggingInformationEntry<R>,
        pc: u64,
    ) -> Option<ParamLocation> {
        let expr = match die.attr_value(dw::DW_AT_location)? {
            AttributeValue::Exprloc(x) => x,
            v => {
                let off = self.dwarf.attr_locations_offset(unit, v).ok().flatten()?;
                let mut it = self.dwarf.locations(unit, off).ok()?;
                let mut found = None;
                for _ in 0..4096 {
                    match it.next() {
                        Ok(Some(l)) if l.range.begin <= pc && pc < l.range.end => {
                            found = Some(l.data);
                            break;
                        }
                        Ok(Some(_)) => {}
                        _ => break,
                    }
                }
                found?
            }
        };
        let mut ops = expr.operations(unit.encoding());
        match ops.next().ok()?? {
            gimli::Operation::Register { register } => Some(ParamLocation::Register(register.0)),
            gimli::Operation::FrameOffset { offset } => Some(ParamLocation::Cfa(offset)),
            _ => None,
        }
    }

    /// Stated address and type of a global variable (`runtime.allgs`).
    #[allow(
        clippy::indexing_slicing,
        reason = "unit indices come from this index's own entries, built from the same units"
    )]
    pub fn global(&self, name: &str) -> Option<(Addr, Option<TypeRef>)> {
        let e = self.lookup(name, |t| t == dw::DW_TAG_variable)?;
        let unit = &self.units[e.unit].1;
        let die = unit.entry(e.offset).ok()?;
        let ty = self.type_attr(e.unit, &die);
        let AttributeValue::Exprloc(expr) = die.attr_value(dw::DW_AT_location)? else { return None };
        let mut ops = expr.operations(unit.encoding());
        match ops.next().ok()?? {
            gimli::Operation::Address { address } => Some((Addr(address), ty)),
            _ => None,
        }
    }

    /// Every global variable with a stated address and a decodable type.
    fn typed_globals(&self) -> impl Iterator<Item = (&String, Addr, TypeInfo)> + '_ {
        self.names.iter().filter(|(_, es)| es.iter().any(|e| e.tag == dw::DW_TAG_variable)).filter_map(|(name, _)| {
            let (addr, ty) = self.global(name)?;
            Some((name, addr, self.type_info(ty?)?))
        })
    }

    /// Global variables whose type name satisfies `want`: (name, stated address, type name).
    pub fn globals_with_type(&self, want: impl Fn(&str) -> bool) -> Vec<(String, Addr, String)> {
        let all = self.global_types.get_or_init(|| {
            let mut all: Vec<(String, Addr, String)> =
                self.typed_globals().map(|(n, a, i)| (n.clone(), a, i.name)).collect();
            all.sort();
            all
        });
        all.iter().filter(|(_, _, t)| want(t)).cloned().collect()
    }

    /// Package-level variables that hold a map: map-typed globals (`main.inventory`),
    /// map fields of struct globals (`main.cfg.routes`) and elements of
    /// arrays of maps (`main.shards[3]`), one level deep: (name, stated address
    /// of the map pointer), sorted by name.
    pub fn map_globals(&self) -> &[(String, Addr)] {
        self.map_globals.get_or_init(|| self.find_map_globals())
    }

    fn find_map_globals(&self) -> Vec<(String, Addr)> {
        let is_map = |t: Option<TypeRef>| t.and_then(|t| self.type_info(t)).is_some_and(|i| i.name.starts_with("map["));
        let mut out = Vec::new();
        for (name, addr, info) in self.typed_globals() {
            if info.name.starts_with("map[") {
                out.push((name.clone(), addr));
            } else if info.tag == dw::DW_TAG_structure_type {
                for f in info.fields.iter().filter(|f| is_map(f.ty)) {
                    out.push((format!("{name}.{}", f.name), addr.add(f.offset)));
                }
            } else if info.tag == dw::DW_TAG_array_type && is_map(info.elem) {
                for i in 0..info.count.unwrap_or(0).min(MAX_ARRAY_MAPS) {
                    // i < MAX_ARRAY_MAPS.
                    out.push((format!("{name}[{i}]"), addr.add(i.saturating_mul(8))));
                }
            }
        }
        out.sort();
        out
    }

    /// What could not be indexed (a damaged executable): how many units or
    /// entry runs were left out, and the first one's error.
    pub fn damage(&self) -> Option<(usize, &str)> {
        self.damage.as_ref().map(|(n, e)| (*n, e.as_str()))
    }

    /// Number of indexed names (for diagnostics).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when nothing was indexed.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

fn attr_string(dwarf: &gimli::Dwarf<R>, unit: &gimli::Unit<R>, v: Option<AttributeValue<R>>) -> Option<String> {
    let s = dwarf.attr_string(unit, v?).ok()?;
    Some(String::from_utf8_lossy(&s).into_owned())
}
