//! A checker for the subset of JSON Schema that `docs/report.schema.json`
//! uses: type, enum, required, properties, items, oneOf, $ref into $defs, and
//! the one address pattern. The schemas are open (consumers must accept
//! fields added later); this checker is not: a property of an object whose
//! schema lists `properties` must be one of them, so every field gotopsy
//! writes is documented.

use serde_json::Value;

pub fn check(schema: &Value, root: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        return check(&root["$defs"][name], root, v, path, errs);
    }
    if let Some(alts) = schema.get("oneOf").and_then(Value::as_array) {
        let ok = alts.iter().filter(|a| {
            let mut e = Vec::new();
            check(a, root, v, path, &mut e);
            e.is_empty()
        });
        if ok.count() != 1 {
            errs.push(format!("{path}: matches no single oneOf alternative: {v}"));
        }
        return;
    }
    if let Some(en) = schema.get("enum").and_then(Value::as_array) {
        if !en.contains(v) {
            errs.push(format!("{path}: {v} not in {en:?}"));
        }
        return;
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !types.contains(&actual) {
            errs.push(format!("{path}: type {actual}, schema wants {types:?}"));
            return;
        }
    }
    if let (Some(p), Some(s)) = (schema.get("pattern").and_then(Value::as_str), v.as_str()) {
        assert_eq!(p, "^0x[0-9a-f]+$", "the checker knows only the address pattern");
        let ok = s
            .strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        if !ok {
            errs.push(format!("{path}: {s:?} is not a 0x… address"));
        }
    }
    if let Value::Object(map) = v {
        for r in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(k) = r.as_str() {
                if !map.contains_key(k) {
                    errs.push(format!("{path}: missing required {k}"));
                }
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, val) in map {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(s, root, val, &format!("{path}.{k}"), errs),
                None if props.is_some() => errs.push(format!("{path}: {k} is not documented in the schema")),
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (v, schema.get("items")) {
        for (i, it) in items.iter().enumerate() {
            check(s, root, it, &format!("{path}[{i}]"), errs);
        }
    }
}
