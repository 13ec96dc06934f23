//! Goroutines and frames as the analysis owns them: the runtime model's own
//! types, which own their data (names interned, `Arc<str>`) and have the
//! report JSON's shape.

pub use crate::runtime::goroutines::{CreatedBy, Goroutine};
pub use crate::runtime::stack::{FrameRef, Frames, Stack};
pub use crate::runtime::symbolize::Frame;
