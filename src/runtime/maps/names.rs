//! Maps named as the program names them: the package-level variables that
//! hold a map (DWARF globals of map type, and map fields or elements of
//! struct and array globals, one level deep), and the map-typed parameters,
//! variables and closure captures that DWARF locates in a goroutine's frames.
//! Without DWARF: the pointer-sized variables of the symbol table that hold
//! the map's address (no struct fields, array elements or frame names).

use crate::addr::Addr;
use crate::exe::dwarf::{ParamLocation, VarKind};
use crate::memory::ReadExt;
use crate::runtime::goroutines::Goroutine;
use crate::runtime::process::Process;
use rustc_hash::FxHashMap;

/// How a [`MapName`] refers to the map.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MapNameKind {
    /// A package-level variable (or an element of a package-level array).
    Global,
    /// A field of a package-level struct variable.
    Field,
    /// A local variable of a frame.
    Local,
    /// A parameter of a frame.
    Parameter,
    /// A variable a closure captured.
    Closure,
}

json_named!(MapNameKind {
    Global => "global",
    Field => "field",
    Local => "local",
    Parameter => "parameter",
    Closure => "closure",
});

/// A name the program has for a map.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MapName {
    /// `main.inventory`, `main.cfg.routes`, `m`.
    pub name: String,
    /// What kind of name.
    pub kind: MapNameKind,
    /// For frame variables: the function whose frame holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// For frame variables: the goroutine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goroutine: Option<u64>,
}

/// Every map a package-level variable holds, by map address.
pub fn global_names(p: &Process) -> FxHashMap<Addr, Vec<MapName>> {
    let mut out: FxHashMap<Addr, Vec<MapName>> = FxHashMap::default();
    let mem = p.mem();
    let Ok(d) = p.dwarf() else {
        // No DWARF, no types: every pointer-sized variable of the symbol
        // table is a candidate; only those holding a map's address are ever
        // looked up.
        for (name, stated) in p.exe.variables_of_size(8) {
            if let Ok(h) = mem.read_ptr(stated.add(p.bias)) {
                if !h.is_null() {
                    let n =
                        MapName { name: name.to_string(), kind: MapNameKind::Global, function: None, goroutine: None };
                    out.entry(h).or_default().push(n);
                }
            }
        }
        return out;
    };
    for (name, stated) in d.map_globals().iter().cloned() {
        let Ok(h) = mem.read_ptr(stated.add(p.bias)) else { continue };
        if h.is_null() {
            continue;
        }
        // `main.cfg.routes`: a field when the part after the package names a member.
        let kind = match name.rsplit_once('/').map_or(name.as_str(), |(_, last)| last).matches('.').count() {
            0 | 1 => MapNameKind::Global,
            _ => MapNameKind::Field,
        };
        out.entry(h).or_default().push(MapName { name, kind, function: None, goroutine: None });
    }
    out
}

/// The names goroutine `g`'s frames have for the map at `map`: map-typed
/// parameters, variables and closure captures whose DWARF location at the
/// frame's pc is a stack slot holding `map`. Innermost first.
pub fn frame_names(p: &Process, g: &Goroutine, map: Addr) -> Vec<MapName> {
    let mut out: Vec<MapName> = Vec::new();
    let Ok(d) = p.dwarf() else { return out };
    let mem = p.mem();
    for fr in g.frames.iter().filter(|f| !f.inlined) {
        let pc = fr.pc.0.wrapping_sub(p.bias);
        for v in d.map_vars_at(&fr.function, pc) {
            let ParamLocation::Cfa(off) = v.location else { continue };
            if mem.read_ptr(fr.fp.offset(off)).ok() != Some(map) {
                continue;
            }
            let kind = match v.kind {
                VarKind::Parameter => MapNameKind::Parameter,
                VarKind::Local => MapNameKind::Local,
                VarKind::Closure => MapNameKind::Closure,
            };
            let n = MapName { name: v.name, kind, function: Some(fr.function.to_string()), goroutine: Some(g.id) };
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}
