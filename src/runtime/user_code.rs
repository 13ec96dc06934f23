//! Which frames are the user's code: a function's package from its symbol
//! name (the runtime's `funcpkgpath` rule), and whether that package is the
//! standard library's, by the `go list std` list of each Go version that
//! gotopsy carries (`std_packages.tsv`, made by `fixtures/std-packages.sh`).
//! The rule needs only names, so crash logs use it as cores do.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// The first frame of a stack in the user's code.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserFrame {
    /// The runtime's print name (`main.F[...]`).
    pub function: Arc<str>,
    /// The file as the pclntab records it.
    pub file: Arc<str>,
    /// The line.
    pub line: i32,
}

/// The first Go minor version the carried lists cover, and the last.
const FIRST_MINOR: u32 = 21;
const LAST_MINOR: u32 = 27;

/// `go list std` of Go 1.21–1.27: `FIRST-LAST<TAB>package` per line.
const STD_PACKAGES: &str = include_str!("std_packages.tsv");

/// Package path → the minor versions (inclusive) whose standard library has it.
fn std_table() -> &'static HashMap<&'static str, (u32, u32)> {
    static T: OnceLock<HashMap<&'static str, (u32, u32)>> = OnceLock::new();
    T.get_or_init(|| {
        STD_PACKAGES
            .lines()
            .filter_map(|l| {
                let (range, pkg) = l.split_once('\t')?;
                let (a, b) = range.split_once('-')?;
                Some((pkg, (a.parse().ok()?, b.parse().ok()?)))
            })
            .collect()
    })
}

/// The package path of a function symbol, as the runtime's `funcpkgpath`
/// finds it: up to the first `.` after the last `/` (the linker escapes dots
/// in a path's last element, so `gopkg.in/yaml%2ev2.F` → `gopkg.in/yaml%2ev2`),
/// ignoring type arguments. `None` for names that are no Go package's
/// (assembly and C symbols without a dot, `type:` helpers).
pub fn package_of(function: &str) -> Option<&str> {
    if function.starts_with("type:") || function.starts_with("go:") {
        return None;
    }
    let name = function.split('[').next().unwrap_or(function);
    let slash = name.rfind('/').map_or(0, |i| i.saturating_add(1));
    let dot = name.get(slash..)?.find('.')?.saturating_add(slash);
    function.get(..dot).filter(|p| !p.is_empty())
}

/// True when `pkg` is the standard library's: in `go list std` of Go
/// 1.`minor` (of any carried version when `minor` is `None` or outside
/// them), or under the standard library's own `internal/` or `vendor/`.
/// A module's `example.com/x/internal/y` is not.
pub fn is_std_package(pkg: &str, minor: Option<u32>) -> bool {
    if pkg.starts_with("internal/") || pkg.starts_with("vendor/") || pkg == "internal" {
        return true;
    }
    match std_table().get(pkg) {
        None => false,
        Some(&(a, b)) => match minor.filter(|m| (FIRST_MINOR..=LAST_MINOR).contains(m)) {
            Some(m) => (a..=b).contains(&m),
            None => true,
        },
    }
}

/// True for functions of the runtime's own packages (`runtime`, `runtime/...`
/// and `internal/...`), which are never the answer to "where in my code".
fn is_runtime_package(pkg: &str) -> bool {
    pkg == "runtime" || pkg.starts_with("runtime/") || pkg.starts_with("internal/")
}

/// A frame as [`user_frame`] sees it: function symbol, file, line.
pub trait FrameName {
    /// The function's symbol name.
    fn function(&self) -> &str;
    /// Its file.
    fn file(&self) -> &str;
    /// Its line.
    fn line(&self) -> i32;
    /// The line of its function's `func` keyword, when known.
    fn start_line(&self) -> Option<i32> {
        None
    }
}

/// The stack's first frame (innermost first, inlined frames counted) whose
/// package is not the standard library's; else its first frame outside the
/// runtime and `internal/` packages; else `None`. `minor` is the Go minor
/// version whose `go list std` decides (none: any carried version's).
pub fn user_frame_index<F: FrameName>(frames: impl IntoIterator<Item = F>, minor: Option<u32>) -> Option<usize> {
    let mut outside_runtime = None;
    for (i, f) in frames.into_iter().enumerate() {
        let Some(p) = package_of(f.function()) else { continue };
        if !is_std_package(p, minor) {
            return Some(i);
        }
        if outside_runtime.is_none() && !is_runtime_package(p) {
            outside_runtime = Some(i);
        }
    }
    outside_runtime
}

/// The [`UserFrame`] of a stack (see [`user_frame_index`]).
pub fn user_frame<F: FrameName, I: IntoIterator<Item = F> + Clone>(frames: I, minor: Option<u32>) -> Option<UserFrame> {
    let i = user_frame_index(frames.clone(), minor)?;
    let f = frames.into_iter().nth(i)?;
    Some(UserFrame {
        function: super::symbolize::print_name(f.function()).into(),
        file: f.file().into(),
        line: f.line(),
    })
}

impl<T: FrameName> FrameName for &T {
    fn function(&self) -> &str {
        (**self).function()
    }
    fn file(&self) -> &str {
        (**self).file()
    }
    fn line(&self) -> i32 {
        (**self).line()
    }
    fn start_line(&self) -> Option<i32> {
        (**self).start_line()
    }
}

impl FrameName for super::symbolize::Frame {
    fn function(&self) -> &str {
        &self.function
    }
    fn file(&self) -> &str {
        &self.file
    }
    fn line(&self) -> i32 {
        self.line
    }
    fn start_line(&self) -> Option<i32> {
        Some(self.start_line).filter(|&l| l > 0)
    }
}

impl FrameName for super::stack::FrameRef<'_> {
    fn function(&self) -> &str {
        &self.site.function
    }
    fn file(&self) -> &str {
        &self.site.file
    }
    fn line(&self) -> i32 {
        self.site.line
    }
    fn start_line(&self) -> Option<i32> {
        Some(self.site.start_line).filter(|&l| l > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_follows_funcpkgpath() {
        for (f, p) in [
            ("main.main", Some("main")),
            ("main.iterwrite.func1", Some("main")),
            ("main.F[go.shape.int]", Some("main")),
            ("main.(*T[go.shape.struct { a/b.X }]).M", Some("main")),
            ("net/http.(*conn).serve", Some("net/http")),
            ("internal/runtime/maps.(*Map).putSlot", Some("internal/runtime/maps")),
            ("gopkg.in/yaml%2ev2.Unmarshal", Some("gopkg.in/yaml%2ev2")),
            ("github.com/acme/svc/internal/store.(*DB).Put", Some("github.com/acme/svc/internal/store")),
            ("_rt0_amd64_linux", None),
            ("type:.eq.main.T", None),
        ] {
            assert_eq!(package_of(f), p, "{f}");
        }
    }

    #[test]
    fn std_is_decided_by_the_list_and_the_version() {
        assert!(is_std_package("runtime", Some(21)));
        assert!(is_std_package("net/http", None));
        assert!(is_std_package("internal/runtime/maps", Some(24)));
        assert!(!is_std_package("main", Some(27)));
        assert!(!is_std_package("github.com/acme/svc/internal/store", Some(27)));
        assert!(!is_std_package("crashzoo", Some(27)));
        // `iter` and `unique` joined the standard library in Go 1.23.
        assert!(is_std_package("iter", Some(23)));
        assert!(!is_std_package("iter", Some(22)));
        assert!(is_std_package("iter", None));
    }

    struct F(&'static str);
    impl FrameName for F {
        fn function(&self) -> &str {
            self.0
        }
        fn file(&self) -> &str {
            "x.go"
        }
        fn line(&self) -> i32 {
            1
        }
    }

    #[test]
    fn user_frame_skips_the_standard_library_then_falls_back_outside_the_runtime() {
        let s = [F("runtime.fatal"), F("internal/runtime/maps.fatal"), F("sync.(*Map).Range"), F("main.f.func1")];
        assert_eq!(user_frame_index(&s, Some(27)), Some(3));
        let s = [F("runtime.gopark"), F("internal/poll.runtime_pollWait"), F("net.(*conn).Read"), F("runtime.goexit")];
        assert_eq!(user_frame_index(&s, Some(27)), Some(2));
        let s = [F("runtime.gopark"), F("runtime.goexit")];
        assert_eq!(user_frame_index(&s, Some(27)), None);
        let uf = user_frame(&[F("runtime.throw"), F("main.F[go.shape.int]")], None).unwrap();
        assert_eq!(&*uf.function, "main.F[...]");
    }
}
