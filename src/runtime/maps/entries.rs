//! Map entries, for display (`--show-values`: cores hold secrets, so entries
//! are read only when asked). Classic maps: every bucket and overflow chain,
//! plus old buckets not yet evacuated; Swiss maps: the small map's group, or
//! every distinct table of the directory. Slot layouts come from the map's
//! runtime type descriptor, read at the model's offsets ([`super::SlotLayout`]:
//! from DWARF, or built in) (`KeySize`/`BucketSize`, or `SlotSize`/`ElemOff`,
//! or 1.27's `KeysOff`/`KeyStride`/`ElemsOff`/`ElemStride`).

use super::{MapHeader, MapLayout, MapModel};
use crate::addr::Addr;
use crate::memory::{Memory, ReadExt};
use crate::runtime::process::Process;

/// One key/value pair, formatted: numbers and bools as Go prints them,
/// strings as their text (not quoted; `key_string`/`value_string` say so),
/// anything else as hex bytes.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// The key is a Go string.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub key_string: bool,
    /// The value is a Go string.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub value_string: bool,
}

impl Entry {
    /// The key as Go source would write it (strings quoted).
    pub fn key_text(&self) -> String {
        if self.key_string {
            format!("{:?}", self.key)
        } else {
            self.key.clone()
        }
    }

    /// The value as Go source would write it (strings quoted).
    pub fn value_text(&self) -> String {
        if self.value_string {
            format!("{:?}", self.value)
        } else {
            self.value.clone()
        }
    }
}

/// Most buckets, groups or tables walked for one map.
const MAX_STORAGE: u64 = 1 << 22;

struct Shape {
    key_ty: Addr,
    elem_ty: Addr,
    indirect_key: bool,
    indirect_elem: bool,
}

/// Reads up to `limit` entries of the map `h`. The bool says whether more were left out.
pub fn entries(p: &Process, model: &MapModel, h: &MapHeader, limit: usize) -> Result<(Vec<Entry>, bool), String> {
    let mem = p.mem();
    let t = h.type_descriptor.ok_or("the map's type is not known")?;
    let sl = &model.slots;
    let rd_u = |off: Option<u64>, size: u64| -> Option<u64> { mem.read_uint(t.add(off?), size).ok() };
    let flags = rd_u(sl.flags, 4).unwrap_or(0);
    let mut out = Vec::new();
    let mut more = false;
    let mut push = |e: Entry| {
        if out.len() < limit {
            out.push(e);
        } else {
            more = true;
        }
    };
    let shape_of = |ik: u64, ie: u64| Shape {
        key_ty: mem.read_ptr(t.add(model.types.key)).unwrap_or(Addr::NULL),
        elem_ty: mem.read_ptr(t.add(model.types.elem)).unwrap_or(Addr::NULL),
        indirect_key: flags & ik != 0,
        indirect_elem: flags & ie != 0,
    };
    match &model.layout {
        MapLayout::Classic(_) => {
            let sh = shape_of(sl.indirect_key, sl.indirect_elem);
            let key_size = rd_u(sl.key_size, 1).ok_or("map type has no KeySize")?;
            let val_size = rd_u(sl.value_size, 1).ok_or("map type has no ValueSize")?;
            let bucket_size = rd_u(sl.bucket_size, 2).ok_or("map type has no BucketSize")?;
            let min_top = sl.min_top_hash;
            let b = h.b.unwrap_or(0).min(40);
            let mut walk = |base: Addr, nb: u64| -> Result<(), String> {
                let mut seen = 0u64;
                for i in 0..nb {
                    let mut bucket = base.add(i.wrapping_mul(bucket_size));
                    while !bucket.is_null() && seen < MAX_STORAGE {
                        seen = seen.saturating_add(1);
                        let top: [u8; 8] = mem.read_array(bucket).map_err(|e| format!("bucket {bucket}: {e}"))?;
                        for (slot, &th) in top.iter().enumerate() {
                            if th < min_top {
                                continue;
                            }
                            let k = bucket.add((slot as u64).saturating_mul(key_size).saturating_add(8));
                            let v = bucket.add(
                                key_size
                                    .saturating_add(1)
                                    .saturating_mul(8)
                                    .saturating_add((slot as u64).saturating_mul(val_size)),
                            );
                            push(entry(p, model, &sh, k, v));
                        }
                        bucket = mem.read_ptr(bucket.add(bucket_size.saturating_sub(8))).unwrap_or(Addr::NULL);
                    }
                }
                Ok(())
            };
            if let Some(bk) = h.buckets.filter(|a| !a.is_null()) {
                walk(bk, 1u64 << b)?;
            }
            if let Some(old) = h.oldbuckets.filter(|a| !a.is_null()) {
                // Old buckets not yet evacuated still hold entries (evacuated slots carry marks below minTopHash).
                let same_size = h.flags.unwrap_or(0) & 8 != 0;
                let ob = if same_size { 1u64 << b } else { 1u64 << b.saturating_sub(1) };
                walk(old, ob)?;
            }
        }
        MapLayout::Swiss(_) => {
            let sh = shape_of(sl.indirect_key, sl.indirect_elem);
            let group_size = rd_u(sl.group_size, 8).ok_or("map type has no GroupSize")?;
            // Slot addressing: 1.27's split-capable fields, else interleaved slots after ctrl.
            let split = sl.split.and_then(|[a, b, c, e]| {
                Some((rd_u(Some(a), 8)?, rd_u(Some(b), 8)?, rd_u(Some(c), 8)?, rd_u(Some(e), 8)?))
            });
            let (keys_off, key_stride, elems_off, elem_stride) = match split {
                Some(v) => v,
                None => {
                    let slot = rd_u(sl.slot_size, 8).ok_or("map type has no SlotSize")?;
                    let elem_off = rd_u(sl.elem_off, 8).unwrap_or(0);
                    (8, slot, elem_off.wrapping_add(8), slot)
                }
            };
            let mut group = |g: Addr| -> Result<(), String> {
                let ctrl = mem.read_u64(g).map_err(|e| format!("group {g}: {e}"))?;
                for i in 0..8u64 {
                    if (ctrl >> i.saturating_mul(8)) & 0x80 != 0 {
                        continue;
                    }
                    let k = g.add(keys_off.wrapping_add(i.wrapping_mul(key_stride)));
                    let v = g.add(elems_off.wrapping_add(i.wrapping_mul(elem_stride)));
                    push(entry(p, model, &sh, k, v));
                }
                Ok(())
            };
            let dir = h.dir_ptr.unwrap_or(Addr::NULL);
            let dir_len = h.dir_len.unwrap_or(0);
            if dir.is_null() {
                return Ok((out, false));
            }
            if dir_len <= 0 {
                group(dir)?;
            } else {
                let groups_off = sl.table_groups.ok_or("no table.groups")?;
                let mut done: Vec<Addr> = Vec::new();
                for i in 0..(dir_len as u64).min(MAX_STORAGE) {
                    let tab = mem.read_ptr(dir.add(i.saturating_mul(8))).map_err(|e| format!("directory: {e}"))?;
                    if tab.is_null() || done.contains(&tab) {
                        continue;
                    }
                    done.push(tab);
                    let data = mem.read_ptr(tab.add(groups_off)).map_err(|e| format!("table {tab}: {e}"))?;
                    let mask =
                        mem.read_u64(tab.add(groups_off.saturating_add(8))).map_err(|e| format!("table {tab}: {e}"))?;
                    for gi in 0..mask.saturating_add(1).min(MAX_STORAGE) {
                        group(data.add(gi.wrapping_mul(group_size)))?;
                    }
                }
            }
        }
    }
    Ok((out, more))
}

fn entry(p: &Process, model: &MapModel, sh: &Shape, k: Addr, v: Addr) -> Entry {
    let mem = p.mem();
    let deref = |a: Addr, ind: bool| if ind { mem.read_ptr(a).unwrap_or(Addr::NULL) } else { a };
    let (key, key_string) = format_value(mem, model, sh.key_ty, deref(k, sh.indirect_key));
    let (value, value_string) = format_value(mem, model, sh.elem_ty, deref(v, sh.indirect_elem));
    Entry { key, value, key_string, value_string }
}

/// Formats the value of type `ty` at `a`: numbers and bools as Go prints
/// them, strings as their text (the bool says it is one), anything else as
/// its bytes in hex.
pub fn format_value(mem: &dyn Memory, model: &MapModel, ty: Addr, a: Addr) -> (String, bool) {
    let size = mem.read_u64(ty.add(model.types.abi.size)).unwrap_or(0);
    let kind = mem.read_u8(ty.add(model.types.abi.kind)).map(|k| k & super::KIND_MASK).unwrap_or(0);
    let int = |signed: bool| -> Option<String> {
        let raw = mem.read_uint(a, size).ok()?;
        Some(if signed {
            let shift = 64u64.saturating_sub(size.clamp(1, 8).saturating_mul(8));
            (((raw << shift) as i64) >> shift).to_string()
        } else {
            raw.to_string()
        })
    };
    let s = match kind {
        1 => mem.read_u8(a).ok().map(|b| (b != 0).to_string()),
        2..=6 => int(true),
        7..=12 => int(false),
        13 => mem.read_u32(a).ok().map(|b| f32::from_bits(b).to_string()),
        14 => mem.read_u64(a).ok().map(|b| f64::from_bits(b).to_string()),
        24 => {
            let ptr = mem.read_ptr(a).ok();
            let len = mem.read_u64(a.add(8)).ok();
            match (ptr, len) {
                (Some(ptr), Some(len)) => {
                    let shown = len.min(256);
                    mem.read_vec(ptr, shown, 256).ok().map(|b| {
                        let more = if len > shown {
                            format!("…(+{} bytes)", len.saturating_sub(shown))
                        } else {
                            String::new()
                        };
                        format!("{}{more}", String::from_utf8_lossy(&b))
                    })
                }
                _ => None,
            }
        }
        22 | 26 => mem.read_ptr(a).ok().map(|x| x.to_string()),
        _ => None,
    };
    if let Some(s) = s {
        return (s, kind == 24);
    }
    let hex = {
        let shown = size.min(32);
        match mem.read_vec(a, shown, 32) {
            Ok(b) => {
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                if size > shown {
                    format!("0x{hex}…")
                } else {
                    format!("0x{hex}")
                }
            }
            Err(e) => format!("<unreadable: {e}>"),
        }
    };
    (hex, false)
}
