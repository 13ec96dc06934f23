//! Renderers of the owned [`Analysis`](crate::model::Analysis): the text
//! report, the runtime-format traceback, the trace summary. The JSON report
//! is [`Analysis::write_json`](crate::model::Analysis::write_json) (schema in
//! `docs/report.schema.json`).

pub mod text;
pub mod trace_text;
pub mod traceback;

pub use crate::model::SCHEMA_VERSION;
