//! 四舍五入: how every figure shown to people is rounded (DESIGN.md, Vocabulary: growth is
//! "shown in percent with one decimal, rounded half away from zero: 3.25 → 3.3, −3.25 → −3.3").
//!
//! `format!("{:.1}")` rounds the binary value half to even, so 3.25 prints 3.2 and 1.15 (stored
//! as 1.149999…) prints 1.1. Here a figure is first read as the decimal it stands for — cut to
//! [`SIGNIFICANT`] significant digits, far below what is shown and far above the error a few
//! float operations leave (a ratio `cur / prev − 1` of exact amounts is off in the 15th or 16th
//! digit) — and that decimal is rounded half away from zero, in integers. Every formatter of a
//! displayed figure goes through [`rounded`], so a sentence and the table beside it agree.

/// Significant digits a computed figure is trusted to before it is rounded for display.
pub const SIGNIFICANT: usize = 12;

/// `x · 10^decimals` rounded half away from zero, from `x` read as a decimal of
/// [`SIGNIFICANT`] digits: `rounded(3.25, 1) == 33`, `rounded(-3.25, 1) == -33`,
/// `rounded(1.005, 2) == 101`. Not-a-number is 0; a figure too large for `i64` saturates.
pub fn rounded(x: f64, decimals: u32) -> i64 {
    if x.is_nan() || x == 0.0 {
        return 0;
    }
    if x.is_infinite() {
        return if x > 0.0 { i64::MAX } else { i64::MIN };
    }
    // `d.ddddddddddde±N`: the mantissa's digits as an integer m, so that |x| ≈ m · 10^(N − 11).
    let sci = format!("{:.*e}", SIGNIFICANT - 1, x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let m: i128 = mantissa.replace('.', "").parse().unwrap_or(0);
    let exp: i32 = exp.parse().unwrap_or(0);
    // |x| · 10^decimals = m · 10^shift.
    let shift = exp - (SIGNIFICANT as i32 - 1) + decimals as i32;
    let n: i128 = if shift >= 0 {
        10i128
            .checked_pow(shift as u32)
            .and_then(|p| m.checked_mul(p))
            .unwrap_or(i128::MAX)
    } else {
        match 10i128.checked_pow(shift.unsigned_abs()) {
            Some(q) => (m + q / 2) / q,
            None => 0,
        }
    };
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    if x < 0.0 { -n } else { n }
}

/// A scaled integer (`n` units of 10^−decimals) as digits, with U+2212 "−" for a negative:
/// `scaled(-33, 1) == "−3.3"`.
pub fn scaled(n: i64, decimals: u32) -> String {
    let sign = if n < 0 { "−" } else { "" };
    let abs = n.unsigned_abs();
    if decimals == 0 {
        return format!("{sign}{abs}");
    }
    let p = 10u64.pow(decimals);
    format!(
        "{sign}{}.{:0width$}",
        abs / p,
        abs % p,
        width = decimals as usize
    )
}

/// `x` with `decimals` decimals, rounded half away from zero ("3.3", "−3.3", never "−0.0").
pub fn fixed(x: f64, decimals: u32) -> String {
    scaled(rounded(x, decimals), decimals)
}

/// `x` with a sign and `decimals` decimals: "+1.2", "−0.4", "0.0" (zero has no sign).
pub fn signed(x: f64, decimals: u32) -> String {
    let n = rounded(x, decimals);
    if n > 0 {
        format!("+{}", scaled(n, decimals))
    } else {
        scaled(n, decimals)
    }
}

/// A figure in percent or percentage points as shown with one decimal, back as a number
/// (5.849999999999999 → 5.8, 5.85 → 5.9): what a displayed difference is computed from.
pub fn shown1(x: f64) -> f64 {
    rounded(x, 1) as f64 / 10.0
}

/// `a − b` of two figures as shown with one decimal, printed: "1.2" for 7.0 − 5.8 (5.75 shows
/// 5.8, so the printed gap is 1.2, not 1.25 → 1.3). A sentence that prints both figures and
/// their difference adds up.
pub fn shown_difference(a: f64, b: f64) -> String {
    difference(a, b, 1)
}

/// `a − b` of two figures as shown with `decimals` decimals, printed.
pub fn difference(a: f64, b: f64, decimals: u32) -> String {
    scaled(rounded(a, decimals) - rounded(b, decimals), decimals)
}

/// The fewest decimals (one to four) at which `a` and `b` print differently: a growth of 6.96%
/// below a target of 7.0% is written 6.96% against 7.00%, not "7.0%, below 7.0%".
pub fn apart(a: f64, b: f64) -> u32 {
    (1..4)
        .find(|d| rounded(a, *d) != rounded(b, *d))
        .unwrap_or(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_round_away_from_zero_on_both_sides() {
        assert_eq!(rounded(3.25, 1), 33);
        assert_eq!(rounded(-3.25, 1), -33);
        assert_eq!(rounded(0.05, 1), 1);
        assert_eq!(rounded(-0.05, 1), -1);
        assert_eq!(rounded(0.15, 1), 2);
        assert_eq!(rounded(-0.15, 1), -2);
        // Stored as 1.149999999999999911…, 2.675 as 2.67499999999999982…, 1.005 as 1.00499…:
        // the decimal they stand for is rounded, not the binary value.
        assert_eq!(rounded(1.15, 1), 12);
        assert_eq!(rounded(2.675, 2), 268);
        assert_eq!(rounded(1.005, 2), 101);
        assert_eq!(rounded(-1.005, 2), -101);
        // Below the half stays down, on both sides.
        assert_eq!(rounded(3.249, 1), 32);
        assert_eq!(rounded(-3.249, 1), -32);
        assert_eq!(rounded(0.04, 1), 0);
        assert_eq!(rounded(-0.04, 1), 0);
        assert_eq!(rounded(7.0, 1), 70);
        assert_eq!(rounded(12_345.65, 1), 123_457);
        assert_eq!(rounded(0.0, 1), 0);
        assert_eq!(rounded(f64::NAN, 1), 0);
    }

    #[test]
    fn float_noise_of_a_computed_ratio_does_not_decide_the_half() {
        // 1170 / 1000 − 1 = 17% exactly, 1058.5 / 1000 − 1 = 5.85% exactly; the float results
        // are off in the last digits.
        let g = (117.0_f64 / 100.0 - 1.0) * 100.0;
        assert_eq!(rounded(g, 1), 170);
        let g = (10_585.0_f64 / 10_000.0 - 1.0) * 100.0;
        assert_eq!(
            format!("{g:.1}"),
            "5.8",
            "the binary value is below the half"
        );
        assert_eq!(rounded(g, 1), 59);
        let g = (9_415.0_f64 / 10_000.0 - 1.0) * 100.0;
        assert_eq!(rounded(g, 1), -59);
    }

    #[test]
    fn figures_print_with_a_true_minus_and_no_negative_zero() {
        assert_eq!(fixed(-3.25, 1), "−3.3");
        assert_eq!(fixed(3.25, 1), "3.3");
        assert_eq!(fixed(-0.04, 1), "0.0");
        assert_eq!(fixed(0.05, 1), "0.1");
        assert_eq!(fixed(-1.005, 2), "−1.01");
        assert_eq!(fixed(1234.5, 0), "1235");
        assert_eq!(signed(1.25, 1), "+1.3");
        assert_eq!(signed(-1.25, 1), "−1.3");
        assert_eq!(signed(-0.04, 1), "0.0");
        assert_eq!(signed(0.005, 2), "+0.01");
        assert_eq!(shown1(5.85), 5.9);
        assert_eq!(shown_difference(7.0, 5.75), "1.2");
        assert_eq!(shown_difference(5.75, 7.0), "−1.2");
        assert_eq!(apart(5.8, 7.0), 1);
        assert_eq!(apart(6.96, 7.0), 2);
        assert_eq!(apart(6.995, 7.0), 3);
        assert_eq!(difference(7.0, 6.96, 2), "0.04");
        assert_eq!(shown1(-5.85), -5.9);
    }
}
