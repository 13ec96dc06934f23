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
    /// Each frame's argument text, in order, each after its length (LEB128).
    args: Option<Arc<[u8]>>,
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
    args: &'a [u8],
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
/// the text was written by [`push_args`] from a `&str`).
fn split_args(b: &[u8]) -> (&str, &[u8]) {
    let mut len = 0usize;
    let mut i = 0usize;
    while let Some(&byte) = b.get(i) {
        i += 1;
        if i > 5 {
            return ("", &[]);
        }
        len |= ((byte & 0x7f) as usize) << (7 * (i - 1));
        if byte & 0x80 == 0 {
            let Some(text) = b.get(i..i.saturating_add(len)) else { return ("", &[]) };
            let rest = b.get(i + len..).unwrap_or_default();
            return (std::str::from_utf8(text).unwrap_or_default(), rest);
        }
    }
    ("", &[])
}

fn push_args(out: &mut Vec<u8>, s: &str) {
    let mut n = s.len();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(s.as_bytes());
}

/// Shares shapes and argument texts among the stacks it builds (one per
/// thread: a chunk of goroutines, or a report being read).
#[derive(Default)]
pub struct Stacks {
    shapes: HashMap<Vec<(usize, u64, u64)>, Arc<StackShape>>,
    args: HashSet<Arc<[u8]>>,
    key: Vec<(usize, u64, u64)>,
    text: Vec<u8>,
}

impl Stacks {
    /// The stack of `frames` (innermost first), sharing what it can with the
    /// stacks built before.
    pub fn stack(&mut self, frames: &[Frame]) -> Stack {
        let Some(first) = frames.first() else { return Stack::default() };
        let base = first.sp;
        self.key.clear();
        self.text.clear();
        for f in frames {
            self.key.push((Arc::as_ptr(&f.site) as usize, f.sp.0.wrapping_sub(base.0), f.fp.0.wrapping_sub(base.0)));
            push_args(&mut self.text, &f.args);
        }
        let shape = match self.shapes.get(&self.key) {
            Some(s) => s.clone(),
            None => {
                let s = Arc::new(StackShape {
                    frames: frames
                        .iter()
                        .map(|f| ShapeFrame {
                            site: f.site.clone(),
                            sp: f.sp.0.wrapping_sub(base.0),
                            fp: f.fp.0.wrapping_sub(base.0),
                        })
                        .collect(),
                });
                self.shapes.insert(self.key.clone(), s.clone());
                s
            }
        };
        let args = match self.args.get(&self.text[..]) {
            Some(a) => a.clone(),
            None => {
                let a: Arc<[u8]> = self.text[..].into();
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
        assert_eq!(split_args(&[0x85]), ("", &[][..]));
        assert_eq!(split_args(&[3, b'a']), ("", &[][..]));
        assert_eq!(split_args(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), ("", &[][..]));
        assert_eq!(split_args(&[1, 0xff]), ("", &[][..]));
        assert_eq!(split_args(&[1, b'a', 0]), ("a", &[0][..]));
    }
}
