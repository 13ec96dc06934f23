//! Property tests: parsers of untrusted input never panic; formatting agrees
//! with the standard library.

use gotopsy::Addr;
use proptest::prelude::*;

proptest! {
    #[test]
    fn addr_hex_matches_std(v in any::<u64>()) {
        let mut b = [0u8; 18];
        prop_assert_eq!(Addr(v).to_hex(&mut b), format!("{v:#x}"));
    }

    #[test]
    fn trace_reader_never_panics(body in proptest::collection::vec(any::<u8>(), 0..4096), minor in prop::sample::select(vec![21u32, 22, 23, 25, 26, 27])) {
        let mut b = format!("go 1.{minor} trace\0\0\0").into_bytes();
        b.extend_from_slice(&body);
        let _ = gotopsy::trace::read(&b);
    }

    #[test]
    fn core_notes_never_panic(seg in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (notes, _) = gotopsy::corefile::notes::parse_notes(&seg);
        for n in notes {
            let _ = gotopsy::corefile::notes::parse_prstatus(n.desc, &gotopsy::arch::AMD64);
            let _ = gotopsy::corefile::notes::parse_prstatus(n.desc, &gotopsy::arch::ARM64);
            let _ = gotopsy::corefile::notes::parse_nt_file(n.desc);
            let _ = gotopsy::corefile::notes::parse_auxv(n.desc);
            let _ = gotopsy::corefile::notes::parse_prpsinfo(n.desc);
        }
    }

    #[test]
    fn traceback_parser_never_panics(text in "(goroutine [0-9]{1,3} \\[[a-z ]{0,12}\\]:\n|[a-z.]{1,12}\\([0-9x, ?]{0,10}\\)\n|\t[a-z/]{1,10}\\.go:[0-9]{1,3}( \\+0x[0-9a-f]{1,3})?\n|created by [a-z.]{1,8}( in goroutine [0-9]{1,2})?\n|\\.\\.\\.[0-9]{1,3} frames elided\\.\\.\\.\n|\n){0,40}") {
        let tb = gotopsy::crashlog::parse(&text);
        for g in &tb.goroutines {
            let _ = g.status();
        }
    }
}
