//! JSON input: `{"submissions": [{...}], "next_cursor": …, "has_more": …}` (the HTTP
//! source's page) or a bare array of objects. Objects become table rows so that one row parser
//! serves every format; a row's line is its 1-based position in the array.

use std::cell::RefCell;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::table::{Row, TableError};

/// The keys of a page object whose array holds the records.
const ITEM_KEYS: [&str; 6] = [
    "submissions",
    "rows",
    "data",
    "units",
    "enterprises",
    "targets",
];

/// Reads JSON into a header (keys in first-seen order) and rows. An object that names a key
/// twice is refused: which of the two values was meant cannot be known.
pub fn to_table(bytes: &[u8]) -> Result<(Vec<String>, Vec<Row>), TableError> {
    let duplicate = RefCell::new(None);
    let seed = Strict {
        level: Level::Top,
        duplicate: &duplicate,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = seed
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| match duplicate.take() {
            Some((record, key)) => duplicate_key(record, &key, &e),
            None => TableError {
                line: e.line() as u64,
                reason: format!(
                    "JSON 格式错误，第{}列 (malformed JSON at column {}): {e}",
                    e.column(),
                    e.column()
                ),
            },
        })?;
    let items = match &value {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(o) => ITEM_KEYS
            .iter()
            .find_map(|k| o.get(*k).and_then(|v| v.as_array()))
            .ok_or_else(|| TableError {
                line: 1,
                reason: "JSON 中没有 submissions 数组 (no \"submissions\" array)".into(),
            })?,
        _ => {
            return Err(TableError {
                line: 1,
                reason: "JSON 应为对象或数组 (expected an object or an array)".into(),
            });
        }
    };
    let mut header: Vec<String> = Vec::new();
    for item in items {
        if let Some(o) = item.as_object() {
            for k in o.keys() {
                if !header.contains(k) {
                    header.push(k.clone());
                }
            }
        }
    }
    let mut rows = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let o = item.as_object().ok_or_else(|| TableError {
            line: i as u64 + 1,
            reason: format!("第{}条记录不是对象 (record is not an object)", i + 1),
        })?;
        let cells = header
            .iter()
            .map(|h| match o.get(h) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            })
            .collect();
        rows.push(Row {
            line: i as u64 + 1,
            cells,
        });
    }
    Ok((header, rows))
}

/// The reject of a record (`record` ≥ 1, or 0 for the page object) naming `key` twice.
fn duplicate_key(record: u64, key: &str, at: &serde_json::Error) -> TableError {
    let whose = match record {
        0 => "JSON 顶层对象".to_string(),
        r => format!("第{r}条记录"),
    };
    TableError {
        line: record.max(1),
        reason: format!(
            "{whose}中键“{key}”出现了两次（JSON 第{}行第{}列），无法确定以哪个值为准 (duplicate key \"{key}\" in record {record})",
            at.line(),
            at.column()
        ),
    }
}

/// Where a value stands in the document: the top, the array of records, or inside record n.
#[derive(Clone, Copy)]
enum Level {
    Top,
    Items,
    Record(u64),
}

/// Reads a [`Value`] as serde_json does, but fails on an object's second use of a key (which
/// `Value` would silently keep the last of), noting the record and key in `duplicate`.
struct Strict<'a> {
    level: Level,
    duplicate: &'a RefCell<Option<(u64, String)>>,
}

impl<'a> Strict<'a> {
    fn at(&self, level: Level) -> Strict<'a> {
        Strict {
            level,
            duplicate: self.duplicate,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.at(match self.level {
            Level::Top | Level::Items => Level::Record(out.len() as u64 + 1),
            inside => inside,
        }))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let level = match self.level {
                Level::Top if ITEM_KEYS.contains(&key.as_str()) => Level::Items,
                Level::Top | Level::Items => Level::Record(0),
                inside => inside,
            };
            let value = map.next_value_seed(self.at(level))?;
            if out.contains_key(&key) {
                let record = match self.level {
                    Level::Record(r) => r,
                    _ => 0,
                };
                let error = A::Error::custom(format!("duplicate key \"{key}\""));
                *self.duplicate.borrow_mut() = Some((record, key));
                return Err(error);
            }
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_page() {
        let (h, rows) = super::to_table(br#"{"submissions":[{"credit_code":"X","period":"2026-10","output":6646.1},{"credit_code":"Y","employees":3}],"has_more":true}"#).unwrap();
        assert_eq!(h, ["credit_code", "period", "output", "employees"]);
        assert_eq!(rows[0].cells, ["X", "2026-10", "6646.1", ""]);
        assert_eq!(rows[1].line, 2);
        let e = super::to_table(b"{\"submissions\": [").unwrap_err();
        assert!(e.reason.contains("JSON"), "{}", e.reason);
    }

    #[test]
    fn a_key_given_twice_is_refused_naming_the_key_and_the_record() {
        let page = br#"{"submissions":[{"credit_code":"X","output":1},
            {"credit_code":"Y","output":2,"output":20}],"has_more":false}"#;
        let e = super::to_table(page).unwrap_err();
        assert_eq!(e.line, 2, "{}", e.reason);
        assert!(
            e.reason.contains("第2条记录中键“output”出现了两次"),
            "{}",
            e.reason
        );
        assert!(e.reason.contains("JSON 第2行"), "{}", e.reason);
        let e = super::to_table(br#"[{"a":1},{"b":{"c":1,"c":2}}]"#).unwrap_err();
        assert!(e.reason.contains("第2条记录中键“c”"), "{}", e.reason);
        let e = super::to_table(br#"{"submissions":[],"submissions":[{"a":1}]}"#).unwrap_err();
        assert!(
            e.reason.contains("顶层对象中键“submissions”"),
            "{}",
            e.reason
        );
        // Keys repeated across records are no duplicates.
        let (h, rows) = super::to_table(br#"[{"a":1,"b":"x"},{"a":2.5,"b":null}]"#).unwrap();
        assert_eq!(
            (h.len(), rows[1].cells.clone()),
            (2, vec!["2.5".into(), String::new()])
        );
    }
}
