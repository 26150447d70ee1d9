//! Parsing the configuration's TOML: every syntax error, type error and unknown key, each with
//! its line and key path, and never the value of a secret.
//!
//! serde stops at the first error, so after a failed parse each top-level table, and each
//! element of an array of tables, is parsed on its own; within one, the offending key is taken
//! out and the parse retried, until it parses or a required key is missing.

use serde::Deserialize;
use serde_path_to_error::Segment;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::Problem;

/// Retries of one section after taking out an offending key.
const MAX_ROUNDS: usize = 64;

type Failure = serde_path_to_error::Error<toml::de::Error>;

/// Parses `text` into `T`, or returns every problem found.
pub(super) fn parse_all<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, Vec<Problem>> {
    let (doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        return Err(syntax.iter().map(|e| syntax_problem(text, e)).collect());
    }
    let first = match attempt::<T>(doc.clone()) {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    let mut problems = Vec::new();
    for (key, value) in doc.get_ref().iter() {
        let key = key.get_ref().as_ref();
        match value.get_ref() {
            DeValue::Array(items) if items.iter().all(|v| v.get_ref().is_table()) => {
                for (i, item) in items.iter().enumerate() {
                    let mut one = toml::de::DeArray::new();
                    one.push(item.clone());
                    let value = Spanned::new(value.span(), DeValue::Array(one));
                    let unit = section(key, value, doc.span());
                    problems.extend(problems_of::<T>(text, unit, Some((key, i))));
                }
            }
            _ => {
                let unit = section(key, value.clone(), doc.span());
                problems.extend(problems_of::<T>(text, unit, None));
            }
        }
    }
    if problems.is_empty() {
        problems.push(problem(text, &first, String::new()));
    }
    problems.sort_by_key(|p| p.line);
    Err(problems.into_iter().map(|p| p.problem).collect())
}

/// A document holding only `key = value`.
fn section<'i>(
    key: &str,
    value: Spanned<DeValue<'i>>,
    span: std::ops::Range<usize>,
) -> Spanned<DeTable<'i>> {
    let mut table = DeTable::new();
    table.insert(Spanned::new(0..0, key.to_owned().into()), value);
    Spanned::new(span, table)
}

fn attempt<T: for<'de> Deserialize<'de>>(doc: Spanned<DeTable<'_>>) -> Result<T, Failure> {
    serde_path_to_error::deserialize(toml::de::Deserializer::from(doc))
}

/// A problem and the line it is on, for sorting.
struct Found {
    line: usize,
    problem: Problem,
}

/// Every problem of one section, taking out each offending key in turn.
fn problems_of<T: for<'de> Deserialize<'de>>(
    text: &str,
    mut doc: Spanned<DeTable<'_>>,
    element: Option<(&str, usize)>,
) -> Vec<Found> {
    let mut out = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let Err(e) = attempt::<T>(doc.clone()) else {
            break;
        };
        let mut path: Vec<String> = e.path().iter().filter_map(segment_key).collect();
        if let Some(field) = quoted_after(e.inner().message(), "unknown field `")
            && path.last().map(String::as_str) != Some(field)
        {
            path.push(field.to_string());
        }
        let missing = quoted_after(e.inner().message(), "missing field `");
        let caused_by_us = missing.is_some_and(|f| {
            let mut full = path.clone();
            full.push(f.to_string());
            removed.contains(&full.join("."))
        });
        if !caused_by_us {
            out.push(problem(text, &e, shown_path(&e, element)));
        }
        // A table left without a required key it had is taken out whole, unless it is the
        // section itself.
        let retry = match missing {
            Some(_) => caused_by_us && path.len() > 1,
            None => !path.is_empty(),
        };
        if !retry || !remove(doc.get_mut(), &path) {
            break;
        }
        removed.push(path.join("."));
    }
    out
}

/// The key a path segment names; array indexes are left out (an offending element is removed
/// with its whole array).
fn segment_key(s: &Segment) -> Option<String> {
    match s {
        Segment::Map { key } => Some(key.clone()),
        _ => None,
    }
}

/// Takes the key at `path` (keys only) out of the table; an array on the way is entered through
/// its only element when it has one, else the array itself is taken out.
fn remove(table: &mut DeTable<'_>, path: &[String]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    if rest.is_empty() {
        return table.remove(first.as_str()).is_some();
    }
    let Some(value) = table.get_mut(first.as_str()) else {
        return false;
    };
    let inner = match value.get_mut() {
        DeValue::Table(t) => t,
        DeValue::Array(items) if items.len() == 1 => {
            match items.iter_mut().next().map(Spanned::get_mut) {
                Some(DeValue::Table(t)) => t,
                _ => return table.remove(first.as_str()).is_some(),
            }
        }
        _ => return table.remove(first.as_str()).is_some(),
    };
    remove(inner, rest)
}

/// The text between `prefix` and the next backtick.
fn quoted_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    rest.find('`').map(|end| &rest[..end])
}

/// The key path as the file has it: `sources[2].token`.
fn shown_path(e: &Failure, element: Option<(&str, usize)>) -> String {
    let path = e.path().to_string();
    let path = if path == "." { String::new() } else { path };
    match element {
        Some((key, i)) => match path.strip_prefix(&format!("{key}[0]")) {
            Some(rest) => format!("{key}[{i}]{rest}"),
            None => path,
        },
        None => path,
    }
}

fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> usize {
    span.map_or(0, |s| {
        text.as_bytes()[..s.start.min(text.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    })
}

fn located(line: usize, path: &str) -> String {
    match (line, path.is_empty()) {
        (0, _) => path.to_string(),
        (_, true) => format!("第{line}行 (line {line})"),
        (_, false) => format!("第{line}行 (line {line}) {path}"),
    }
}

fn syntax_problem(text: &str, e: &toml::de::Error) -> Problem {
    let line = line_of(text, e.span());
    Problem {
        key: located(line, ""),
        message: format!("TOML 语法错误 (syntax error): {}", e.message().trim()),
    }
}

fn problem(text: &str, e: &Failure, path: String) -> Found {
    let line = line_of(text, e.inner().span());
    let message = explain(&path, e.inner().message().trim());
    Found {
        line,
        problem: Problem {
            key: located(line, &path),
            message,
        },
    }
}

/// serde's message in Chinese and English; for a secret, without the value it quotes.
fn explain(path: &str, message: &str) -> String {
    let kind = [
        ("unknown field", "未知的键 (unknown key)"),
        ("missing field", "缺少必填的键 (missing key)"),
        ("unknown variant", "不是可选的值 (not an allowed value)"),
        ("invalid type", "类型不对 (wrong type)"),
        ("invalid value", "取值不对 (invalid value)"),
        ("invalid length", "长度不对 (wrong length)"),
    ]
    .iter()
    .find(|(en, _)| message.starts_with(en))
    .map_or("配置有误 (invalid)", |(_, zh)| zh);
    let names_keys_only =
        message.starts_with("unknown field") || message.starts_with("missing field");
    if names_keys_only || !(is_secret(path) || message.contains("SecretRef")) {
        return format!("{kind}: {message}");
    }
    let expected = message.find("expected ").map_or("", |i| &message[i..]);
    if message.contains("SecretRef") {
        format!(
            "{kind}: 密钥只能写成 {{ env = \"环境变量名\" }} 或 {{ file = \"文件路径\" }}，不能直接写在配置中；所写的值不显示 (a secret is named by env or file, never written inline; the value is not shown) {}",
            expected.replace("struct SecretRef", "{ env = \"…\" } or { file = \"…\" }")
        )
    } else {
        format!(
            "{kind}: 此键像是密钥，所写的值不显示 (the key looks like a secret; the value is not shown) {expected}"
        )
    }
}

/// Whether a key path names a secret or something holding one.
fn is_secret(path: &str) -> bool {
    const WORDS: [&str; 9] = [
        "webhook",
        "password",
        "passwd",
        "secret",
        "token",
        "basic",
        "credential",
        "auth",
        "api_key",
    ];
    let path = path.to_ascii_lowercase().replace('-', "_");
    WORDS.iter().any(|w| path.contains(w))
}
