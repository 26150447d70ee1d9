//! Row validation of the electricity and 旬 files: a mapping line, a daily line (kWh or
//! 万千瓦时, by its column's header) and a 旬报 line (the 旬's own figures).

use chrono::NaiveDate;

use super::RowContext;
use crate::amount::{Amount, Scale};
use crate::ingest::headers::normalize;
use crate::ingest::table::Row;
use crate::period::Period;
use crate::power::{DailyLine, PowerAccount, Xun, XunReport, xun};
use crate::record::Reject;

/// The multiplier of a daily file's electricity column to kWh: 10,000 when its header names
/// 万千瓦时 (or 万kWh), else 1.
pub fn kwh_scale(header: &str) -> Scale {
    let n = normalize(header);
    if n.contains("万千瓦时") || n.contains("万kwh") || n.contains("万度") {
        Scale::TEN_THOUSAND
    } else {
        Scale::ONE
    }
}

/// A day as the power company writes it: `2026-10-03`, `2026/10/3`, `20261003`, `2026年10月3日`.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    // Most days come as `2026-10-03`: read straight, without the folding and the format
    // parser below (together an eighth of a large file's parse).
    if let Some(day) = iso_day(text.trim()) {
        return day;
    }
    let t = crate::amount::normalize(text);
    let t = t.trim();
    let t = t.split([' ', 'T']).next().unwrap_or(t);
    if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(t, "%Y%m%d").ok();
    }
    // A date cell of a workbook read as its serial number (days since 1899-12-30).
    if t.len() == 5 && t.bytes().all(|b| b.is_ascii_digit()) {
        let serial: u64 = t.parse().ok()?;
        return NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(serial));
    }
    let unified: String = t
        .trim_end_matches('日')
        .chars()
        .map(|c| {
            if matches!(c, '/' | '.' | '年' | '月') {
                '-'
            } else {
                c
            }
        })
        .collect();
    NaiveDate::parse_from_str(&unified, "%Y-%m-%d").ok()
}

/// A day written exactly `YYYY-MM-DD` in ASCII digits: `Some` of the date, or of `None` when
/// no such day exists (`2026-02-30`); `None` for any other text.
fn iso_day(t: &str) -> Option<Option<NaiveDate>> {
    let b = t.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    let number =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0'));
    let year = i32::try_from(number(0..4)).ok()?;
    Some(NaiveDate::from_ymd_opt(year, number(5..7), number(8..10)))
}

impl RowContext<'_> {
    /// The multiplier of the file's electricity column to kWh (its header read once, not on
    /// every line: it was a fifth of a large file's parse).
    pub fn kwh_scale(&self) -> Scale {
        let header = self
            .cols
            .iter()
            .position(|c| *c == super::Col::Key("kwh"))
            .and_then(|i| self.header.get(i));
        kwh_scale(header.map_or("", String::as_str))
    }

    /// A mapping line: account and credit code.
    pub fn power_account(&self, row: &Row) -> Result<PowerAccount, Vec<Reject>> {
        let mut errs = Vec::new();
        let account = self.required(row, "account", &mut errs).to_string();
        let code = self.credit_code(row, &mut errs);
        match code {
            Some(credit_code) if errs.is_empty() => Ok(PowerAccount {
                line: row.line,
                account,
                credit_code,
            }),
            _ => Err(errs),
        }
    }

    /// A daily line, its figure in ten-thousandths of kWh (`scale`: [`RowContext::kwh_scale`]);
    /// a day not yet over (Shanghai) is rejected as the future.
    pub fn daily_line(
        &self,
        row: &Row,
        today: NaiveDate,
        scale: Scale,
    ) -> Result<DailyLine, Vec<Reject>> {
        let mut errs = Vec::new();
        let account = self.required(row, "account", &mut errs).to_string();
        let day = match self.key(row, "day") {
            Some((_, "")) | None => {
                self.required(row, "day", &mut errs);
                None
            }
            Some((i, t)) => match parse_day(t) {
                Some(d) if d >= today => {
                    errs.push(self.reject(
                        row,
                        i,
                        "day",
                        t,
                        "日期尚未结束，不可能已有数据 (the day is not over yet)",
                    ));
                    None
                }
                Some(d) => Some(d),
                None => {
                    errs.push(self.reject(
                        row,
                        i,
                        "day",
                        t,
                        "日期无效，应为 2026-10-03 或 20261003 (invalid date)",
                    ));
                    None
                }
            },
        };
        let kwh = match self.key(row, "kwh") {
            None => None,
            Some((i, t)) => match Amount::parse_cell(t, scale) {
                Ok(Some(v)) if v.is_negative() => {
                    errs.push(self.reject(
                        row,
                        i,
                        "kwh",
                        t,
                        "用电量不能为负数 (must not be negative)",
                    ));
                    None
                }
                Ok(Some(v)) => Some(v.raw()),
                Ok(None) => {
                    errs.push(self.reject(row, i, "kwh", t, "用电量为空：缺少的日期不填行，零用电填0 (a missing day is no row; zero is 0)"));
                    None
                }
                Err(e) => {
                    errs.push(self.reject(row, i, "kwh", t, e.to_string()));
                    None
                }
            },
        };
        match (day, kwh) {
            (Some(day), Some(kwh)) if errs.is_empty() => Ok(DailyLine {
                line: row.line,
                account,
                day,
                kwh,
            }),
            _ => Err(errs),
        }
    }

    /// The 旬 of a 旬报 line: a full `2026-10-D1`/`2026年10月上旬` in the 旬 column, or its
    /// part (`上旬`, `1`) with the month from the period column, the title or `--period`.
    fn xun(&self, row: &Row, errs: &mut Vec<Reject>) -> Option<Xun> {
        let (i, text) = self.key(row, "xun")?;
        if text.is_empty() {
            errs.push(self.reject(row, i, "xun", "", "必填项为空 (required value missing)"));
            return None;
        }
        if let Ok(x) = text.parse::<Xun>() {
            return Some(x);
        }
        let Some(part) = xun::parse_part(text) else {
            errs.push(self.reject(
                row,
                i,
                "xun",
                text,
                xun::XunError(text.to_string()).to_string(),
            ));
            return None;
        };
        // The month of a 旬 may be the month under way: `period` would refuse it.
        let period = match self.key(row, "period").filter(|(_, t)| !t.is_empty()) {
            Some((i, t)) => match t.parse::<Period>() {
                Ok(p) => p,
                Err(e) => {
                    errs.push(self.reject(row, i, "period", t, e.to_string()));
                    return None;
                }
            },
            None => match self.period {
                Some(p) => p,
                None => {
                    errs.push(self.reject(row, i, "xun", text, "只写了上/中/下旬：需有报告期列，或用 --period 指定月份 (a 旬 part needs its month)"));
                    return None;
                }
            },
        };
        Xun::new(period, part)
    }

    /// A 旬报 line: credit code, 旬 and the figures the file has columns for.
    pub fn xun_report(&self, row: &Row, now_xun: Xun) -> Result<XunReport, Vec<Reject>> {
        let mut errs = Vec::new();
        let code = self.credit_code(row, &mut errs);
        let x = self.xun(row, &mut errs);
        if let Some(x) = x.filter(|x| *x >= now_xun) {
            let i = self.key(row, "xun").map_or(0, |k| k.0);
            errs.push(self.reject(
                row,
                i,
                "xun",
                &x.to_string(),
                "该旬尚未结束，不可能已有数据 (the 旬 is not over yet)",
            ));
        }
        let mut figures = [None; 3];
        let mut present = [false; 3];
        for (k, key) in ["output", "sales", "electricity"].into_iter().enumerate() {
            let Some((i, t)) = self.key(row, key) else {
                continue;
            };
            present[k] = true;
            let header = normalize(self.header.get(i).map_or("", String::as_str));
            let scale = if key == "electricity" {
                Scale::ONE
            } else if header.contains("千元") {
                Scale::THOUSAND_TO_TEN_THOUSAND
            } else if header.contains("(元") || header.contains("元)") {
                Scale::ONE_TO_TEN_THOUSAND
            } else if header.contains("万元") {
                Scale::ONE
            } else {
                self.money_scale
            };
            match Amount::parse_cell(t, scale) {
                Ok(Some(v)) if v.is_negative() => {
                    errs.push(self.reject(row, i, key, t, "不能为负数 (must not be negative)"));
                }
                Ok(v) => figures[k] = v,
                Err(e) => errs.push(self.reject(row, i, key, t, e.to_string())),
            }
        }
        match (code, x) {
            (Some(credit_code), Some(xun)) if errs.is_empty() => Ok(XunReport {
                line: row.line,
                credit_code,
                xun,
                output: figures[0],
                sales: figures[1],
                electricity: figures[2],
                present,
            }),
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_units_as_the_power_company_writes_them() {
        let want = NaiveDate::from_ymd_opt(2026, 10, 3);
        for t in [
            "2026-10-03",
            "2026/10/3",
            "20261003",
            "2026年10月3日",
            "2026-10-03 00:00:00",
        ] {
            assert_eq!(parse_day(t), want, "{t}");
        }
        assert_eq!(parse_day("46298"), want, "an XLSX date serial");
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("10/03/2026"), None);
        assert_eq!(parse_day(" 2026-10-03 "), want, "read straight, trimmed");
        assert_eq!(
            parse_day("2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        assert_eq!(parse_day("2026-1a-03"), None);
        assert_eq!(
            parse_day("２０２６-10-03"),
            want,
            "full-width digits, folded"
        );
        let wan = kwh_scale("日用电量（万千瓦时）");
        assert_eq!(
            Amount::parse_cell("1.2345", wan).unwrap(),
            Some(Amount(12_345 * 10_000))
        );
        assert_eq!(kwh_scale("用电量(kWh)"), Scale::ONE);
    }
}
