//! The built-in enterprise indicators and the stored fields derived from them.
//!
//! One table drives everything that names a figure: the fields of a stored submission, the header
//! aliases officials write, the unit each figure is kept in, and whether it may be negative.

/// A figure reported by an enterprise for one month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    /// Column name in files (English) and in the database.
    pub name: &'static str,
    /// The indicator it belongs to (`output` for `output_ytd_prev`).
    pub indicator: &'static str,
    pub span: Span,
    /// Whether this is the same-scope prior-year figure (上年同期) given on the form.
    pub prior_year: bool,
    /// Whether a monetary amount (scaled 千元 → 万元 when a file says so).
    pub money: bool,
    /// Whether a negative value is legitimate (a loss, 亏损).
    pub signed: bool,
}

/// Whether a figure is the month's own (本月) or the year to date (1-本月累计).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Span {
    Month,
    Ytd,
}

/// A built-in indicator: its code name, its Chinese name and unit, and which spans are reported.
#[derive(Clone, Copy, Debug)]
pub struct Indicator {
    pub name: &'static str,
    pub zh: &'static str,
    pub unit: &'static str,
    pub month: bool,
    pub ytd: bool,
    pub money: bool,
    pub signed: bool,
}

/// The built-in indicators of DESIGN.md, in form order.
pub const INDICATORS: &[Indicator] = &[
    Indicator {
        name: "output",
        zh: "工业总产值",
        unit: "万元",
        month: true,
        ytd: true,
        money: true,
        signed: false,
    },
    Indicator {
        name: "sales",
        zh: "工业销售产值",
        unit: "万元",
        month: false,
        ytd: true,
        money: true,
        signed: false,
    },
    Indicator {
        name: "revenue",
        zh: "营业收入",
        unit: "万元",
        month: false,
        ytd: true,
        money: true,
        signed: false,
    },
    Indicator {
        name: "profit",
        zh: "利润总额",
        unit: "万元",
        month: false,
        ytd: true,
        money: true,
        signed: true,
    },
    Indicator {
        name: "electricity",
        zh: "工业用电量",
        unit: "万千瓦时",
        month: true,
        ytd: false,
        money: false,
        signed: false,
    },
    Indicator {
        name: "employees",
        zh: "从业人员",
        unit: "人",
        month: true,
        ytd: false,
        money: false,
        signed: false,
    },
    Indicator {
        name: "export",
        zh: "出口交货值",
        unit: "万元",
        month: false,
        ytd: true,
        money: true,
        signed: false,
    },
];

/// Every stored submission field: for each indicator its month and/or ytd figure, then the
/// same-scope prior-year figures in the same order.
pub const FIELDS: &[Field] = &[
    f("output", "output", Span::Month, false),
    f("output_ytd", "output", Span::Ytd, false),
    f("sales_ytd", "sales", Span::Ytd, false),
    f("revenue_ytd", "revenue", Span::Ytd, false),
    f("profit_ytd", "profit", Span::Ytd, false),
    f("electricity", "electricity", Span::Month, false),
    f("employees", "employees", Span::Month, false),
    f("export_ytd", "export", Span::Ytd, false),
    f("output_prev", "output", Span::Month, true),
    f("output_ytd_prev", "output", Span::Ytd, true),
    f("sales_ytd_prev", "sales", Span::Ytd, true),
    f("revenue_ytd_prev", "revenue", Span::Ytd, true),
    f("profit_ytd_prev", "profit", Span::Ytd, true),
    f("electricity_prev", "electricity", Span::Month, true),
    f("employees_prev", "employees", Span::Month, true),
    f("export_ytd_prev", "export", Span::Ytd, true),
];

/// Number of stored submission fields.
pub const N_FIELDS: usize = 16;

const fn f(name: &'static str, indicator: &'static str, span: Span, prior_year: bool) -> Field {
    let ind = find_const(indicator);
    Field {
        name,
        indicator,
        span,
        prior_year,
        money: ind.money,
        signed: ind.signed,
    }
}

const fn find_const(name: &str) -> Indicator {
    let mut i = 0;
    while i < INDICATORS.len() {
        if const_eq(INDICATORS[i].name, name) {
            return INDICATORS[i];
        }
        i += 1;
    }
    panic!("unknown indicator in FIELDS");
}

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The built-in indicator of that code name.
pub fn indicator(name: &str) -> Option<&'static Indicator> {
    INDICATORS.iter().find(|i| i.name == name)
}

/// The index in [`FIELDS`] of the field with that column name.
pub const fn field_index(name: &str) -> Option<usize> {
    let mut i = 0;
    while i < FIELDS.len() {
        if const_eq(FIELDS[i].name, name) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// As [`field_index`], for names known when compiling (an unknown one fails the build).
pub const fn field_at(name: &str) -> usize {
    match field_index(name) {
        Some(i) => i,
        None => panic!("unknown field name"),
    }
}

/// The index of the field for an indicator, span and prior-year flag, if it is stored.
pub fn field_for(indicator: &str, span: Span, prior_year: bool) -> Option<usize> {
    FIELDS
        .iter()
        .position(|f| f.indicator == indicator && f.span == span && f.prior_year == prior_year)
}

/// Official unit-level indicators (published per unit, not summed from enterprises).
pub const UNIT_INDICATORS: &[(&str, &str, &str)] = &[
    ("value_added_growth", "规上工业增加值增速", "%"),
    ("investment", "工业投资", "万元"),
];

/// Whether `name` is a built-in indicator of either level.
pub fn is_builtin(name: &str) -> bool {
    indicator(name).is_some() || UNIT_INDICATORS.iter().any(|(n, _, _)| *n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_cover_every_indicator_span_once() {
        assert_eq!(FIELDS.len(), N_FIELDS);
        for ind in INDICATORS {
            for (span, on) in [(Span::Month, ind.month), (Span::Ytd, ind.ytd)] {
                for prior in [false, true] {
                    assert_eq!(
                        field_for(ind.name, span, prior).is_some(),
                        on,
                        "{} {span:?} {prior}",
                        ind.name
                    );
                }
            }
        }
        assert!(FIELDS[field_index("profit_ytd").unwrap()].signed);
        assert!(FIELDS[field_index("output_ytd_prev").unwrap()].prior_year);
    }
}
