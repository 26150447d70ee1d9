//! The month a forecast is about: one calendar month, or January and February together.

use serde::Serialize;

use crate::period::Period;

/// A month as forecast: `first..=last`, one month, or January and February (1—2月) together as
/// the bureau publishes them (the Spring Festival moves between the two).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    pub first: Period,
    pub last: Period,
}

impl Span {
    /// The span a month belongs to: January and February give 1—2月.
    pub fn of(p: Period) -> Span {
        match p.month() {
            1 => Span {
                first: p,
                last: p.next(),
            },
            2 => Span {
                first: p.prev(),
                last: p,
            },
            _ => Span { first: p, last: p },
        }
    }

    /// The span before this one.
    pub fn prev(self) -> Span {
        Span::of(self.first.prev())
    }

    /// Its months in order.
    pub fn periods(self) -> impl Iterator<Item = Period> {
        let n = self.months() as i32;
        (0..n).map(move |k| self.first.offset(k))
    }

    /// How many months it has: 1 or 2.
    pub fn months(self) -> u32 {
        (self.last.ordinal() - self.first.ordinal() + 1) as u32
    }

    /// As officials write it: `10月`, `1—2月`.
    pub fn label(self) -> String {
        if self.months() == 2 {
            format!("{}—{}月", self.first.month(), self.last.month())
        } else {
            format!("{}月", self.last.month())
        }
    }

    /// The spans whose months lie in the `n` months before this span's first, oldest first.
    pub fn trailing(self, n: u32) -> Vec<Span> {
        let mut out: Vec<Span> = Vec::new();
        for k in (1..=n as i32).rev() {
            let s = Span::of(self.first.offset(-k));
            if s.first >= self.first.offset(-(n as i32)) && out.last() != Some(&s) {
                out.push(s);
            }
        }
        out
    }
}
