//! Interned names: every function, file and status string is stored once
//! and shared (`Arc<str>`), however many goroutines name it.

use rustc_hash::FxHashSet;
use std::cell::RefCell;
use std::sync::Arc;

/// A set of shared names.
#[derive(Default)]
pub struct Interner {
    names: FxHashSet<Arc<str>>,
    /// Names of the executable's tables, by where they are (a pclntab name is
    /// the same bytes at the same place every time).
    by_place: rustc_hash::FxHashMap<(usize, usize), Arc<str>>,
}

impl Interner {
    /// The shared copy of a name that stays in place for the interner's life
    /// (the executable's pclntab strings): looked up by address, not content.
    pub fn placed(&mut self, s: &str) -> Arc<str> {
        let key = (s.as_ptr() as usize, s.len());
        if let Some(a) = self.by_place.get(&key) {
            return a.clone();
        }
        let a = self.name(s);
        self.by_place.insert(key, a.clone());
        a
    }

    /// The shared copy of `s`.
    pub fn name(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.names.get(s) {
            return a.clone();
        }
        let a: Arc<str> = s.into();
        self.names.insert(a.clone());
        a
    }
}

thread_local! {
    /// Names shared while a saved report is read.
    static READING: RefCell<Interner> = RefCell::new(Interner::default());
}

/// Interns `s` in the reading thread's set (for deserialization).
pub(crate) fn shared(s: &str) -> Arc<str> {
    READING.with(|i| i.borrow_mut().name(s))
}

/// Forgets the reading thread's names (after a report is read).
pub(crate) fn forget_shared() {
    READING.with(|i| *i.borrow_mut() = Interner::default());
}

/// `deserialize_with` for interned names.
pub(crate) fn de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Arc<str>, D::Error> {
    let s: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
    Ok(shared(&s))
}
