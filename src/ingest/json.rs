//! JSON input: `{"submissions": [{...}], "next_cursor": …, "has_more": …}` (the HTTP
//! source's page) or a bare array of objects. Objects become table rows so that one row parser
//! serves every format; a row's line is its 1-based position in the array.

use super::table::{Row, TableError};

/// Reads JSON into a header (keys in first-seen order) and rows.
pub fn to_table(bytes: &[u8]) -> Result<(Vec<String>, Vec<Row>), TableError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| TableError {
        line: e.line() as u64,
        reason: format!(
            "JSON 格式错误，第{}列 (malformed JSON at column {}): {e}",
            e.column(),
            e.column()
        ),
    })?;
    let items = match &value {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(o) => [
            "submissions",
            "rows",
            "data",
            "units",
            "enterprises",
            "targets",
        ]
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
}
