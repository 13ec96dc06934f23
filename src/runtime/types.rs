//! Runtime type descriptors (`internal/abi.Type`): their layout from DWARF
//! by name, and a type's name and kind read from the core. The map model
//! and the crash (panic values) both use it.

use super::process::Process;
use crate::addr::Addr;
use crate::exe::dwarf::DwarfIndex;
use crate::memory::ReadExt;

/// Offsets in `internal/abi.Type` and `runtime.moduledata`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TypeOffsets {
    /// `Size_`.
    pub size: u64,
    /// `Kind_`.
    pub kind: u64,
    /// `TFlag`.
    pub tflag: u64,
    /// `Str` (a name offset from `moduledata.types`).
    pub str_off: u64,
    /// `moduledata.types`.
    pub moduledata_types: u64,
}

/// `tflagExtraStar`: the stored name has a leading `*`.
const TFLAG_EXTRA_STAR: u8 = 2;
/// Mask of the kind bits in `Kind_`.
pub const KIND_MASK: u8 = 0x1f;

impl TypeOffsets {
    /// The offsets, from the executable's DWARF.
    pub fn from_dwarf(d: &DwarfIndex) -> Result<TypeOffsets, String> {
        let ty = "internal/abi.Type";
        Ok(TypeOffsets {
            size: d.require_field(ty, "Size_")?,
            kind: d.require_field(ty, "Kind_")?,
            tflag: d.require_field(ty, "TFlag")?,
            str_off: d.require_field(ty, "Str")?,
            moduledata_types: d.require_field("runtime.moduledata", "types")?,
        })
    }
}

/// Type descriptors of one process: their layout and the base of their names.
#[derive(Copy, Clone, Debug)]
pub struct RuntimeTypes {
    /// The layout.
    pub offsets: TypeOffsets,
    /// `firstmoduledata.types`, the base of name offsets.
    pub base: Option<Addr>,
}

impl RuntimeTypes {
    /// The process's type descriptors: their layout from DWARF, else (no
    /// DWARF) the built-in one, the same in every supported version.
    pub fn of(p: &Process) -> Result<RuntimeTypes, String> {
        let offsets = match p.dwarf() {
            Ok(d) => TypeOffsets::from_dwarf(d)?,
            Err(_) => crate::runtime::maps::builtin::TYPE_OFFSETS,
        };
        Ok(RuntimeTypes { offsets, base: types_base(p, &offsets) })
    }

    /// The name of the type descriptor at `ty`.
    pub fn name(&self, p: &Process, ty: Addr) -> Option<String> {
        type_name(p, &self.offsets, self.base?, ty)
    }

    /// The kind (`abi.Kind`) of the type descriptor at `ty`.
    pub fn kind(&self, p: &Process, ty: Addr) -> Option<u8> {
        p.mem().read_u8(ty.add(self.offsets.kind)).ok().map(|k| k & KIND_MASK)
    }
}

/// `firstmoduledata.types`.
pub fn types_base(p: &Process, o: &TypeOffsets) -> Option<Addr> {
    let md = p.global("runtime.firstmoduledata")?;
    p.mem().read_ptr(md.add(o.moduledata_types)).ok()
}

/// The name of a runtime type descriptor: `abi.Type.Str` is a name offset
/// from `moduledata.types` (`base`); a name is a flags byte, a varint
/// length, then the bytes.
pub fn type_name(p: &Process, o: &TypeOffsets, base: Addr, ty: Addr) -> Option<String> {
    let mem = p.mem();
    let tflag = mem.read_u8(ty.add(o.tflag)).ok()?;
    let str_off = mem.read_i32(ty.add(o.str_off)).ok()?;
    let name = base.offset(i64::from(str_off));
    let mut len = 0u64;
    let mut at = name.add(1);
    for shift in (0..35).step_by(7) {
        let b = mem.read_u8(at).ok()?;
        at = at.add(1);
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
    }
    let bytes = mem.read_vec(at, len, 4096).ok()?;
    let s = String::from_utf8(bytes).ok()?;
    Some(if tflag & TFLAG_EXTRA_STAR != 0 { s.strip_prefix('*').unwrap_or(&s).to_string() } else { s })
}
