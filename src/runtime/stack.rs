//! A goroutine's logical frames, stored as the [`StackShape`] it shares with
//! every goroutine stopped at the same places — the frames' sites and their
//! stack pointers relative to the first frame's — and what is its own: where
//! its stack is (the first frame's sp) and the argument words its frames
//! print. A million goroutines parked on a few dozen stacks hold a few dozen
//! shapes.

use super::symbolize::{Frame, FrameSite};
use crate::addr::Addr;
use rustc_hash::FxHashMap as HashMap;
use rustc_hash::FxHashSet as HashSet;
use std::sync::Arc;

/// The frames' sites and stack pointers, relative to the first frame's sp.
#[derive(Debug, PartialEq, Eq)]
pub struct StackShape {
    frames: Box<[ShapeFrame]>,
}

#[derive(Debug, PartialEq, Eq)]
struct ShapeFrame {
    site: Arc<FrameSite>,
    /// `sp − base`, wrapping (a frame on a system stack may be below or above).
    sp: u64,
    /// `fp − base`, wrapping.
    fp: u64,
}

/// A goroutine's logical frames, innermost first.
#[derive(Clone, Debug, Default)]
pub struct Stack {
    shape: Option<Arc<StackShape>>,
    /// The first frame's sp.
    base: Addr,
    /// Each frame's argument text, in order, each after its length (see [`split_args`]).
    args: Option<Arc<str>>,
}

/// One frame of a [`Stack`], borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRef<'a> {
    /// Function, file, line, pc, entry, inlined, system stack.
    pub site: &'a Arc<FrameSite>,
    /// Stack pointer.
    pub sp: Addr,
    /// Caller's stack pointer.
    pub fp: Addr,
    /// Argument words as the runtime prints them, without parentheses.
    pub args: &'a str,
}

impl std::ops::Deref for FrameRef<'_> {
    type Target = FrameSite;
    fn deref(&self) -> &FrameSite {
        self.site
    }
}

impl FrameRef<'_> {
    /// An owned copy.
    pub fn to_owned(&self) -> Frame {
        Frame { site: self.site.clone(), sp: self.sp, fp: self.fp, args: self.args.into() }
    }
}

impl PartialEq for Stack {
    fn eq(&self, o: &Stack) -> bool {
        self.len() == o.len() && self.iter().zip(o.iter()).all(|(a, b)| a == b)
    }
}
impl Eq for Stack {}

impl Stack {
    /// Number of logical frames.
    pub fn len(&self) -> usize {
        self.shape.as_ref().map_or(0, |s| s.frames.len())
    }

    /// True when there is no frame.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frames, innermost first.
    pub fn iter(&self) -> Frames<'_> {
        let frames = self.shape.as_ref().map_or(&[][..], |s| &s.frames[..]);
        Frames { frames: frames.iter(), base: self.base, args: self.args.as_deref().unwrap_or_default() }
    }

    /// Frame `i`.
    pub fn get(&self, i: usize) -> Option<FrameRef<'_>> {
        self.iter().nth(i)
    }

    /// The innermost frame.
    pub fn first(&self) -> Option<FrameRef<'_>> {
        self.get(0)
    }

    /// Owned copies of the frames.
    pub fn to_vec(&self) -> Vec<Frame> {
        self.iter().map(|f| f.to_owned()).collect()
    }

    /// True when both stacks share one shape (the same sites and frame sizes).
    pub fn same_shape(&self, o: &Stack) -> bool {
        match (&self.shape, &o.shape) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }

    /// The identity of its shape while the stack lives (0 for no frames):
    /// two stacks with one key have the same frames' sites and sizes.
    pub fn shape_key(&self) -> usize {
        self.shape.as_ref().map_or(0, |s| Arc::as_ptr(s) as usize)
    }

    /// A stack of `frames`, its shape and argument text not shared.
    pub fn from_frames(frames: &[Frame]) -> Stack {
        Stacks::default().stack(frames)
    }
}

impl From<Vec<Frame>> for Stack {
    fn from(frames: Vec<Frame>) -> Stack {
        Stack::from_frames(&frames)
    }
}

impl<'a> IntoIterator for &'a Stack {
    type Item = FrameRef<'a>;
    type IntoIter = Frames<'a>;
    fn into_iter(self) -> Frames<'a> {
        self.iter()
    }
}

/// The frames of a [`Stack`].
#[derive(Clone)]
pub struct Frames<'a> {
    frames: std::slice::Iter<'a, ShapeFrame>,
    base: Addr,
    args: &'a str,
}

impl<'a> Iterator for Frames<'a> {
    type Item = FrameRef<'a>;
    fn next(&mut self) -> Option<FrameRef<'a>> {
        let f = self.frames.next()?;
        let (args, rest) = split_args(self.args);
        self.args = rest;
        Some(FrameRef {
            site: &f.site,
            sp: Addr(self.base.0.wrapping_add(f.sp)),
            fp: Addr(self.base.0.wrapping_add(f.fp)),
            args,
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.frames.size_hint()
    }
}

impl ExactSizeIterator for Frames<'_> {}

/// The first argument text of `b` and the rest ("" for a missing or bad one:
/// the text was written by [`push_args`]). Its length comes first, in ASCII
/// digits of 6 bits (0x40 set on all but the last), so the blob stays a `str`
/// and reading it validates nothing.
fn split_args(b: &str) -> (&str, &str) {
    let bytes = b.as_bytes();
    let mut len = 0usize;
    let mut i = 0usize;
    while let Some(&d) = bytes.get(i) {
        if d >= 0x80 || i >= 10 {
            return ("", "");
        }
        len |= ((d & 0x3f) as usize) << i.saturating_mul(6);
        i = i.saturating_add(1);
        if d & 0x40 == 0 {
            let Some(text) = b.get(i..i.saturating_add(len)) else { return ("", "") };
            return (text, b.get(i.saturating_add(len)..).unwrap_or_default());
        }
    }
    ("", "")
}

fn push_args(out: &mut String, s: &str) {
    let mut n = s.len();
    loop {
        let d = (n & 0x3f) as u8;
        n >>= 6;
        if n == 0 {
            out.push(char::from(d));
            break;
        }
        out.push(char::from(d | 0x40));
    }
    out.push_str(s);
}

/// Shares shapes and argument texts among the stacks it builds (one per
/// thread: a chunk of goroutines, or a report being read).
#[derive(Default)]
pub struct Stacks {
    shapes: HashMap<Vec<(usize, u64, u64)>, Arc<StackShape>>,
    args: HashSet<Arc<str>>,
    key: Vec<(usize, u64, u64)>,
    text: String,
    /// The first sp of the stack begun.
    base: Option<Addr>,
}

impl Stacks {
    /// The stack of `frames` (innermost first), sharing what it can with the
    /// stacks built before.
    pub fn stack(&mut self, frames: &[Frame]) -> Stack {
        self.begin();
        for f in frames {
            self.push(&f.site, f.sp, f.fp, &f.args);
        }
        self.finish(|| frames.iter().map(|f| f.site.clone()).collect())
    }

    /// Starts a stack: [`push`](Self::push) its frames, innermost first, then
    /// [`finish`](Self::finish) it.
    pub(crate) fn begin(&mut self) {
        self.key.clear();
        self.text.clear();
        self.base = None;
    }

    /// Adds a frame to the stack begun.
    pub(crate) fn push(&mut self, site: &Arc<FrameSite>, sp: Addr, fp: Addr, args: &str) {
        let base = *self.base.get_or_insert(sp);
        self.key.push((Arc::as_ptr(site) as usize, sp.0.wrapping_sub(base.0), fp.0.wrapping_sub(base.0)));
        push_args(&mut self.text, args);
    }

    /// The stack of the frames pushed; `sites` gives their sites, in order,
    /// when no stack built before has this shape.
    pub(crate) fn finish(&mut self, sites: impl FnOnce() -> Vec<Arc<FrameSite>>) -> Stack {
        let Some(base) = self.base else { return Stack::default() };
        let shape = match self.shapes.get(&self.key) {
            Some(s) => s.clone(),
            None => {
                let frames = sites()
                    .into_iter()
                    .zip(&self.key)
                    .map(|(site, &(_, sp, fp))| ShapeFrame { site, sp, fp })
                    .collect();
                let s = Arc::new(StackShape { frames });
                self.shapes.insert(self.key.clone(), s.clone());
                s
            }
        };
        let args = match self.args.get(&self.text[..]) {
            Some(a) => a.clone(),
            None => {
                let a: Arc<str> = self.text[..].into();
                self.args.insert(a.clone());
                a
            }
        };
        Stack { shape: Some(shape), base, args: Some(args) }
    }
}

impl<'de> serde::Deserialize<'de> for Stack {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Stack, D::Error> {
        let frames: Vec<Frame> = serde::Deserialize::deserialize(d)?;
        Ok(READING.with(|s| s.borrow_mut().stack(&frames)))
    }
}

thread_local! {
    /// Shapes shared while a saved report is read.
    static READING: std::cell::RefCell<Stacks> = Default::default();
}

/// Forgets the shapes shared while the reading thread read a report.
pub fn forget_shared_stacks() {
    READING.with(|s| *s.borrow_mut() = Stacks::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, sp: u64, fp: u64, args: &str) -> Frame {
        let site = FrameSite {
            function: function.into(),
            file: "main.go".into(),
            line: 7,
            pc: Addr(0x401000),
            entry: Addr(0x400ff0),
            inlined: false,
            system_stack: false,
            start_line: 0,
        };
        Frame { site: Arc::new(site), sp: Addr(sp), fp: Addr(fp), args: args.into() }
    }

    #[test]
    fn a_stack_gives_back_its_frames() {
        let long = "0x1, ".repeat(100);
        let frames = vec![
            frame("runtime.gopark", 0xc000010000, 0xc000010020, "0x0?, 0x0?"),
            frame("main.f", 0xc000010020, 0xc000010040, ""),
            frame("main.g", 0xc000010040, 0xc000010060, &long),
            // A frame on a system stack, far below the goroutine's.
            frame("runtime.systemstack", 0x7ffc00000000, 0x7ffc00000040, "\u{0}é"),
        ];
        let s = Stack::from_frames(&frames);
        assert_eq!(s.len(), 4);
        assert_eq!(s.to_vec(), frames);
        assert_eq!(s.get(2).map(|f| f.args), Some(&long[..]));
        assert_eq!(s.get(4), None);
        assert!(Stack::default().is_empty() && Stack::from_frames(&[]).is_empty());
    }

    #[test]
    fn goroutines_stopped_at_the_same_places_share_a_shape() {
        let mut st = Stacks::default();
        let a = vec![frame("main.f", 0xc000010000, 0xc000010020, "0x1")];
        let site = a[0].site.clone();
        let mut b =
            vec![Frame { site: site.clone(), sp: Addr(0xc000090000), fp: Addr(0xc000090020), args: "0x2".into() }];
        let (sa, sb) = (st.stack(&a), st.stack(&b));
        assert!(sa.same_shape(&sb), "same sites, same frame sizes");
        assert_eq!(sb.get(0).map(|f| (f.sp, f.args)), Some((Addr(0xc000090000), "0x2")));
        b[0].fp = Addr(0xc000090030);
        assert!(!sa.same_shape(&st.stack(&b)), "another frame size is another shape");
    }

    #[test]
    fn damaged_argument_text_reads_as_empty() {
        assert_eq!(split_args("\u{45}"), ("", ""), "a length cut short");
        assert_eq!(split_args("\u{3}a"), ("", ""), "text cut short");
        assert_eq!(split_args(&"\u{7f}".repeat(11)), ("", ""), "a length too long");
        assert_eq!(split_args("é"), ("", ""), "not a length");
        assert_eq!(split_args("\u{1}\u{e9}"), ("", ""), "a length inside a character");
        assert_eq!(split_args("\u{1}a\u{0}"), ("a", "\u{0}"));
        let mut s = String::new();
        push_args(&mut s, &"x".repeat(5000));
        assert_eq!(split_args(&s), (&"x".repeat(5000)[..], ""));
    }
}
