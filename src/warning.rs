//! Problems that did not stop an analysis, typed: each says what kind of
//! trouble it is, so surfaces can put the ones that matter first, and the
//! text says what was seen.

use std::fmt;

/// What kind of trouble a [`Warning`] reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningKind {
    /// The core ends before its segments do (cut short, or a compressed
    /// stream that broke off): what lies past the cut is unknown.
    TruncatedCore,
    /// The core and the executable do not belong together (`--force`): the
    /// stacks may be wrong.
    ExecutableMismatch,
    /// The core's copy of data the executable also holds (the module data's
    /// table pointers) differs from the executable's: the core's memory is
    /// damaged there, and the executable's copy is used.
    DamagedCore,
    /// The joined trace is doubtful (another process) or could not be read.
    Trace,
    /// A runtime structure could not be read (a `g`, an `m`, `allm`).
    Unreadable,
    /// The executable lacks runtime data gotopsy would use (a table, DWARF);
    /// a built-in stands in or the output says less.
    MissingRuntimeData,
    /// The map analysis, or a part of it, could not run.
    Maps,
    /// Something else odd about the core file (a note skipped, …).
    CoreFile,
    /// No executable could be used: the report holds only what the core
    /// alone says (threads, signal, mappings), no goroutines or maps.
    NoExecutable,
    /// Read from a saved report that did not record the kind.
    Unclassified,
}

impl WarningKind {
    /// True for the warnings a person must see before trusting the report.
    pub fn matters(self) -> bool {
        matches!(
            self,
            WarningKind::TruncatedCore
                | WarningKind::ExecutableMismatch
                | WarningKind::DamagedCore
                | WarningKind::Trace
                | WarningKind::NoExecutable
        )
    }
}

/// A problem that did not stop the analysis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// What kind of trouble.
    pub kind: WarningKind,
    /// What was seen, one line.
    pub text: String,
}

impl Warning {
    /// A warning of `kind`.
    pub fn new(kind: WarningKind, text: impl Into<String>) -> Warning {
        Warning { kind, text: text.into() }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::ops::Deref for Warning {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

/// In JSON a warning is its text (the report's `warnings[]`); its kind
/// travels beside it (`warning_kinds[]`).
impl serde::Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Warning {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Warning { kind: WarningKind::Unclassified, text })
    }
}
