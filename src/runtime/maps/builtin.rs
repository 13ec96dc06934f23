//! Map layouts for executables without DWARF (`-ldflags=-w`, stripped), by
//! Go minor version and map implementation. Three layouts cover Go 1.21–1.27
//! on 64-bit Linux: classic `hmap`/`hiter` up to 1.23, classic with `clearSeq`
//! (1.24 and 1.25 built with `GOEXPERIMENT=noswissmap`), and Swiss
//! `maps.Map`/`maps.Iter` (1.24+). `tests/layout_fallback.rs` checks that
//! every fixture's DWARF gives exactly these values. Used only when the
//! executable has no DWARF.

use super::{ClassicLayout, MapLayout, MapModel, ReflectIterLayout, SlotLayout, SwissLayout, TypeLayout};
use crate::runtime::types::TypeOffsets;

/// `internal/abi.Type` and `moduledata.types`: the same in every supported version.
pub const TYPE_OFFSETS: TypeOffsets = TypeOffsets { size: 0, kind: 23, tflag: 20, str_off: 40, moduledata_types: 296 };

const CLASSIC: ClassicLayout = ClassicLayout {
    count: 0,
    flags: 8,
    b: 9,
    hash0: 12,
    buckets: 16,
    oldbuckets: 24,
    nevacuate: 32,
    clear_seq: None,
    iter_size: 96,
    it_key: 0,
    it_t: 16,
    it_h: 24,
    it_buckets: 32,
    it_bptr: 40,
    it_b: 74,
    it_clear_seq: None,
    hash_writing: 4,
    same_size_grow: 8,
    evacuated: [2, 3, 4],
};

/// Go 1.24/1.25 `noswissmap`: `hmap.clearSeq` and `hiter.clearSeq` added.
const CLASSIC_CLEAR_SEQ: ClassicLayout =
    ClassicLayout { clear_seq: Some(40), iter_size: 104, it_clear_seq: Some(96), ..CLASSIC };

const SWISS: SwissLayout = SwissLayout {
    used: 0,
    seed: 8,
    dir_ptr: 16,
    dir_len: 24,
    global_depth: 32,
    writing: 34,
    clear_seq: 40,
    iter_size: 96,
    it_key: 0,
    it_typ: 16,
    it_m: 24,
    it_clear_seq: 48,
    it_global_depth: 56,
    it_dir_idx: 64,
    it_tab: 72,
    it_group: 80,
    table_index: 8,
    table_used: 0,
    table_capacity: 2,
};

/// `abi.OldMapType` (and 1.21–1.23's `abi.MapType`): `KeySize`, `ValueSize`, `BucketSize`, `Flags`.
const CLASSIC_SLOTS: SlotLayout = SlotLayout {
    flags: Some(84),
    key_size: Some(80),
    value_size: Some(81),
    bucket_size: Some(82),
    group_size: None,
    slot_size: None,
    elem_off: None,
    split: None,
    table_groups: None,
    indirect_key: 1,
    indirect_elem: 2,
    min_top_hash: 5,
};

/// `abi.SwissMapType` (1.24, 1.25) and the Swiss `abi.MapType` of 1.26: `GroupSize`, `SlotSize`, `ElemOff`.
const SWISS_SLOTS: SlotLayout = SlotLayout {
    flags: Some(104),
    key_size: None,
    value_size: None,
    bucket_size: None,
    group_size: Some(80),
    slot_size: Some(88),
    elem_off: Some(96),
    split: None,
    table_groups: Some(16),
    indirect_key: 4,
    indirect_elem: 8,
    min_top_hash: 0,
};

/// Go 1.27's `abi.MapType`: `KeysOff`, `KeyStride`, `ElemsOff`, `ElemStride` (split groups).
const SWISS_SPLIT_SLOTS: SlotLayout = SlotLayout {
    flags: Some(128),
    slot_size: None,
    elem_off: Some(120),
    split: Some([88, 96, 104, 112]),
    ..SWISS_SLOTS
};

/// Which map implementation a Go version uses: classic up to 1.23 and for
/// 1.24/1.25 built with `GOEXPERIMENT=noswissmap` (the build info's version
/// then reads `go1.24.11 X:noswissmap`), Swiss from 1.24. `None` outside
/// 1.21–1.27.
pub fn uses_classic_maps(minor: u32, go_version: &str) -> Option<bool> {
    let noswiss = go_version.contains("noswissmap");
    match minor {
        21..=23 => Some(true),
        24 | 25 => Some(noswiss),
        26 | 27 if !noswiss => Some(false),
        _ => None,
    }
}

/// The map model of Go 1.`minor` (`go_version` as the build info records it),
/// if known. `types_base` is left to [`MapModel::resolve`].
pub fn builtin_model(minor: u32, go_version: &str) -> Option<MapModel> {
    let classic = uses_classic_maps(minor, go_version)?;
    let (layout, iter_ptrdata, reflect_size, slots) = match (classic, minor) {
        (true, 21..=23) => (MapLayout::Classic(CLASSIC), 64, 120, CLASSIC_SLOTS),
        (true, _) => (MapLayout::Classic(CLASSIC_CLEAR_SEQ), 64, 128, CLASSIC_SLOTS),
        (false, 24..=26) => (MapLayout::Swiss(SWISS), 88, 120, SWISS_SLOTS),
        (false, _) => (MapLayout::Swiss(SWISS), 88, 120, SWISS_SPLIT_SLOTS),
    };
    Some(MapModel {
        layout,
        types: TypeLayout { abi: TYPE_OFFSETS, key: 48, elem: 56 },
        iter_ptrdata,
        slots,
        reflect_iter: Some(ReflectIterLayout { hiter: 24, size: reflect_size }),
        types_base: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implementation_by_version() {
        assert_eq!(uses_classic_maps(21, "go1.21.13"), Some(true));
        assert_eq!(uses_classic_maps(24, "go1.24.11"), Some(false));
        assert_eq!(uses_classic_maps(25, "go1.25.5 X:noswissmap"), Some(true));
        assert_eq!(uses_classic_maps(27, "go1.27.3-X:mapsplitgroup"), Some(false));
        assert_eq!(uses_classic_maps(20, "go1.20"), None);
        assert_eq!(uses_classic_maps(28, "go1.28"), None);
        assert!(builtin_model(19, "go1.19").is_none());
    }
}
