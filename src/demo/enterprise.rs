//! One synthetic enterprise: its registry row and its monthly figures, both a pure function of
//! (seed, index), so that any enterprise can be regenerated alone and files can be written
//! enterprise by enterprise with bounded memory.

use super::city::{self, INDUSTRIES, UNITS};
use super::draws::draw_episode;
pub use super::draws::{Episode, Role, role_of, size_at};
use super::power::month_factor;
use super::rng::Rng;
use super::{GenSpec, SEASON};
use crate::credit_code::CreditCode;
use crate::period::Period;

/// Raw units (ten-thousandths) per 0.1 万元: amounts are written with one decimal.
const TENTH: i64 = 1_000;
/// Raw units per 0.01 万千瓦时.
const HUNDREDTH: i64 = 100;
/// Raw units per whole person.
const ONE: i64 = 10_000;

/// Stream kinds, so that the draws of one purpose never shift those of another.
const PROFILE: u64 = 1;
const MONTHS: u64 = 2;
/// The months of one year before last year (one stream per year, so that where generation
/// starts never shifts a month's draws), and the growth of those years.
const EARLY_MONTHS: u64 = 3;
const EARLY_GROWTH: u64 = 4;
/// The bad spell of one year before this year (one stream per year, after the power data's 5
/// and 6), so that the regression's history has seen stoppages too (issue 21).
const EARLY_SPELLS: u64 = 7;

/// Everything drawn once per enterprise.
#[derive(Clone, Debug)]
pub struct Profile {
    pub index: u64,
    pub credit_code: CreditCode,
    pub name: String,
    pub unit: usize,
    pub zone: Option<usize>,
    pub industry: usize,
    pub above: bool,
    pub key: bool,
    pub owner: Option<String>,
    pub role: Role,
    /// Last year's output, 万元.
    annual: f64,
    /// This year's growth, a fraction.
    growth: f64,
    /// The factor that makes its unit's ytd growth come out as designed (see `calibrate`).
    calibration: f64,
    sales_ratio: f64,
    revenue_ratio: f64,
    margin: f64,
    export_share: f64,
    productivity: f64,
    /// Chance of a bad spell in a year.
    risk: f64,
    /// This year's bad spell; earlier years' are [`Profile::episode_in`].
    pub episode: Option<Episode>,
}

/// When a month's row reaches indmon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    OnTime,
    /// After the deadline, in the `-late` file.
    Late,
    Never,
}

/// One month of figures, in raw [`crate::amount::Amount`] units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub output: i64,
    pub output_ytd: i64,
    pub sales_ytd: i64,
    pub revenue_ytd: i64,
    pub profit_ytd: i64,
    pub electricity: i64,
    pub employees: i64,
    pub export_ytd: i64,
}

/// One month of an enterprise: the true figures and when (if ever) they arrive.
#[derive(Clone, Copy, Debug)]
pub struct Month {
    pub period: Period,
    pub figures: Figures,
    pub arrival: Arrival,
    /// The bad spell's factor this month (1 = normal): electricity runs at 0.1 + 0.9 × factor
    /// of its normal level.
    pub factor: f64,
}

fn round_to(x: f64, step: i64) -> i64 {
    (x * 10_000.0 / step as f64).round() as i64 * step
}

impl Profile {
    /// Draws enterprise `index` (above-scale ones first, largest first; then below-scale).
    /// `calibration` holds a factor per unit applied to this year's output.
    pub fn new(spec: &GenSpec, index: u64, calibration: &[f64]) -> Option<Profile> {
        let n = spec.enterprises as u64;
        let total = n + spec.below_scale as u64;
        let mut r = Rng::stream(spec.seed, PROFILE, index);
        let above = index < n;
        let role = if above {
            role_of(index, n)
        } else {
            Role::Ordinary
        };
        // Stratified ranks keep the size distribution (and the top-100 share) stable across seeds.
        let annual = if above {
            size_at((index as f64 + r.range(0.25, 0.75)) / n as f64)
        } else {
            r.range(1_200.0, 1_950.0)
        };
        let weights: Vec<u32> = UNITS.iter().map(|u| u.weight).collect();
        let unit = r.weighted(&weights);
        let zone_draw = r.unit();
        let zone = match city::ZONE_OF.iter().find(|(d, _)| *d == unit) {
            Some((_, z)) if zone_draw < 0.35 => Some(*z),
            _ if UNITS[unit].kind == "district" && zone_draw > 0.9 => Some(city::ZONE_ALL),
            _ => None,
        };
        let ind_weights: Vec<u32> = INDUSTRIES.iter().map(|i| i.weight).collect();
        let drawn = r.weighted(&ind_weights);
        let industry = if role == Role::Maintenance {
            city::REFINERY
        } else {
            drawn
        };
        // Three points above the unit's design make up for the bad spells on average.
        let growth = (UNITS[unit].growth + 3.0 + r.noise(14.0)) / 100.0;
        let sales_ratio = r.range(0.93, 0.99);
        let revenue_ratio = r.range(1.0, 1.08);
        let margin = r.range(0.02, 0.10);
        let export_share = if r.chance(0.2) {
            r.range(0.05, 0.6)
        } else {
            0.0
        };
        let productivity = r.range(60.0, 180.0);
        // Small enterprises run into trouble more often than large ones.
        let risk = if above {
            0.28 + 0.34 * index as f64 / n as f64
        } else {
            0.05
        };
        let episode = draw_episode(&mut r, spec.months_to.month(), risk, role);
        let key = above && index < 100;
        Some(Profile {
            index,
            credit_code: city::credit_code(spec.seed, index, city::region_of(unit))?,
            name: city::enterprise_name(spec.seed, index, total, &INDUSTRIES[industry]),
            unit,
            zone,
            industry,
            above,
            key,
            owner: key.then(|| format!("leader{:02}", index % 20 + 1)),
            role,
            annual,
            growth,
            calibration: calibration.get(unit).copied().unwrap_or(1.0),
            sales_ratio,
            revenue_ratio,
            margin,
            export_share,
            productivity,
            risk,
            episode,
        })
    }

    /// The bad spell of `year`: this year's [`Profile::episode`] (with the planted roles), or an
    /// earlier year's, drawn as often from its own stream (ordinary: nothing planted before this
    /// year), so that stoppages are not new this year.
    pub fn episode_in(&self, spec: &GenSpec, year: i32) -> Option<Episode> {
        let this_year = spec.months_to.year();
        if year >= this_year {
            return self.episode;
        }
        if self.role != Role::Ordinary {
            return None;
        }
        let back = (this_year - year) as u64;
        let mut r = Rng::stream(spec.seed, EARLY_SPELLS, self.index.wrapping_mul(64) + back);
        draw_episode(&mut r, 12, self.risk, Role::Ordinary)
    }

    /// The enterprise's months from January of `months_from`'s year to `months_to` (earlier
    /// months are generated only so that the first year-to-date figures are whole).
    pub fn months(&self, spec: &GenSpec) -> Vec<Month> {
        self.months_since(spec, spec.months_from)
    }

    /// The enterprise's months from `first` to `months_to`. Last year and this year come from
    /// one stream, as they always have; each earlier year from its own: a month's figures
    /// depend on (seed, index, `months_to`) only, never on `first`.
    pub fn months_since(&self, spec: &GenSpec, first: Period) -> Vec<Month> {
        self.months_between(spec, first, spec.months_to)
    }

    /// The enterprise's months from `first` to `through`, which may lie after `months_to` in
    /// its year (the current month, whose metered days arrive before its statistics): such a
    /// month continues the year's stream and the bad spell (a spell's last month may lie after
    /// `months_to`), and never arrives as a submission.
    pub fn months_between(&self, spec: &GenSpec, first: Period, through: Period) -> Vec<Month> {
        let this_year = spec.months_to.year();
        let mut r = Rng::stream(spec.seed, MONTHS, self.index);
        let main_from = this_year - 1;
        let past_growth = {
            let mut g = Rng::stream(spec.seed, EARLY_GROWTH, self.index);
            (UNITS[self.unit].growth + g.noise(8.0)) / 100.0
        };
        let last = spec.months_to;
        let through = through.min(Period::new(this_year, 12).unwrap_or(last));
        let season_sum: f64 = SEASON.iter().sum();
        let mut out: Vec<Month> = Vec::new();
        let mut p = Period::new(first.year().min(main_from), 1).unwrap_or(first);
        let mut ytd = Figures::default();
        let mut early = Rng::new(0);
        let mut episode = None;
        while p <= through {
            if p.month() == 1 {
                episode = self.episode_in(spec, p.year());
            }
            if p.month() == 1 && p.year() < main_from {
                let back = (this_year - 1 - p.year()) as u64;
                early = Rng::stream(spec.seed, EARLY_MONTHS, self.index.wrapping_mul(64) + back);
            }
            let r = if p.year() < main_from {
                &mut early
            } else {
                &mut r
            };
            // The same number of draws every month keeps the stream aligned whatever happens.
            let (n_out, n_el, n_sales, n_emp, miss) = (
                r.noise(0.05),
                r.noise(0.03),
                r.noise(0.02),
                r.noise(0.01),
                r.unit(),
            );
            if p.month() == 1 {
                ytd = Figures::default();
            }
            // Repeated multiplication, not `powi`, whose precision the platform may choose.
            let mut level = self.annual;
            for _ in this_year - 1..p.year() {
                level *= 1.0 + self.growth;
            }
            for _ in p.year()..this_year - 1 {
                level /= 1.0 + past_growth;
            }
            if p.year() >= this_year {
                level *= self.calibration;
            }
            // The season's rate on the month's days: fewer made in a month with more days off.
            let normal = level * SEASON[p.month() as usize - 1] / season_sum
                * month_factor(p)
                * (1.0 + n_out);
            let factor = match episode {
                Some(e) if (e.first..=e.last).contains(&p.month()) => e.factor,
                _ => 1.0,
            };
            let mut output = round_to(normal * factor, TENTH);
            let mut electricity = round_to(
                INDUSTRIES[self.industry].intensity
                    * (0.1 * normal + 0.9 * normal * factor)
                    * (1.0 + n_el),
                HUNDREDTH,
            );
            if self.role == Role::Divergence
                && p == last
                && let Some(base) = out.iter().find(|m| m.period == p.year_ago())
            {
                output = round_to(base.figures.output as f64 / 10_000.0 * 1.22, TENTH);
                electricity = round_to(base.figures.electricity as f64 / 10_000.0 * 0.8, HUNDREDTH);
            }
            let made = output as f64 / 10_000.0;
            // Stock is still sold while production stops.
            let sold = self.sales_ratio * (made + 0.15 * (normal - made)) * (1.0 + n_sales);
            let sales = round_to(sold, TENTH);
            let revenue = round_to(sold * self.revenue_ratio, TENTH);
            let profit = round_to(
                sold * self.revenue_ratio * self.margin - 0.012 * normal,
                TENTH,
            );
            let export = round_to(sold * self.export_share, TENTH);
            let staff = (level / self.productivity * (1.0 - 0.3 * (1.0 - factor)) * (1.0 + n_emp))
                .round()
                .max(3.0);
            ytd.output += output;
            ytd.sales_ytd += sales;
            ytd.revenue_ytd += revenue;
            ytd.profit_ytd += profit;
            ytd.export_ytd += export;
            let figures = Figures {
                output,
                output_ytd: ytd.output,
                sales_ytd: ytd.sales_ytd,
                revenue_ytd: ytd.revenue_ytd,
                profit_ytd: ytd.profit_ytd,
                electricity,
                employees: staff as i64 * ONE,
                export_ytd: ytd.export_ytd,
            };
            let arrival = if p > last {
                Arrival::Never
            } else if self.role != Role::Ordinary || !self.above || p.year() < this_year {
                Arrival::OnTime
            } else if p == last && miss < 0.025 {
                if miss < 0.012 {
                    Arrival::Late
                } else {
                    Arrival::Never
                }
            } else if p < last && miss < 0.004 {
                Arrival::Never
            } else {
                Arrival::OnTime
            };
            out.push(Month {
                period: p,
                figures,
                arrival,
                factor,
            });
            p = p.next();
        }
        out.retain(|m| m.period >= first);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn city(seed: u64) -> (GenSpec, Vec<Profile>) {
        let spec = GenSpec {
            seed,
            ..GenSpec::default()
        };
        let all = (0..765)
            .map(|i| Profile::new(&spec, i, &[]).unwrap())
            .collect();
        (spec, all)
    }

    #[test]
    fn the_largest_hundred_make_about_thirty_percent_of_output() {
        for seed in [1, 2026, 99] {
            let (_, all) = city(seed);
            let mut sizes: Vec<f64> = all.iter().map(|e| e.annual).collect();
            sizes.sort_by(|a, b| b.total_cmp(a));
            let share = sizes[..100].iter().sum::<f64>() / sizes.iter().sum::<f64>();
            assert!((0.27..=0.33).contains(&share), "seed {seed}: {share}");
        }
    }

    #[test]
    fn above_scale_revenue_clears_the_threshold_and_output_is_seasonal() {
        let (spec, all) = city(2026);
        let mut by_month = [0i64; 12];
        let mut below = 0;
        for e in &all {
            let months = e.months(&spec);
            // October 2022 to December, 2023, 2024, then 2025.
            let december = &months[38];
            assert_eq!(december.period.to_string(), "2025-12");
            // A bad spell last year may take a small one below the threshold (a 退库 candidate
            // the registry still lists); a year without one never does.
            if december.figures.revenue_ytd < 2_000 * 10_000 {
                assert!(e.episode_in(&spec, 2025).is_some(), "{}", e.name);
                below += 1;
            }
            for m in &months[27..39] {
                by_month[m.period.month() as usize - 1] += m.figures.output;
            }
        }
        assert!(below < all.len() / 10, "{below} below the threshold");
        let mean = by_month.iter().sum::<i64>() / 12;
        assert!(by_month[0] < mean * 8 / 10 && by_month[1] < mean * 8 / 10);
        assert_eq!(by_month.iter().max(), Some(&by_month[11]));
    }

    #[test]
    fn an_enterprise_is_a_function_of_seed_and_index() {
        let (spec, all) = city(2026);
        let again = Profile::new(&spec, 300, &[]).unwrap();
        assert_eq!(
            (&again.credit_code, &again.name),
            (&all[300].credit_code, &all[300].name)
        );
        let (a, b) = (again.months(&spec), all[300].months(&spec));
        assert_eq!(a.len(), 49);
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.figures == y.figures && x.arrival == y.arrival)
        );
        // Year to date is the sum of the months and restarts in January.
        let sum: i64 = a[39..].iter().map(|m| m.figures.output).sum();
        assert_eq!(a[48].figures.output_ytd, sum);
        assert_eq!(a[39].figures.output_ytd, a[39].figures.output);
    }

    #[test]
    fn a_month_does_not_depend_on_where_generation_starts() {
        let (spec, all) = city(2026);
        let from = |y, m| Period::new(y, m).unwrap();
        for e in all.iter().step_by(37) {
            let long = e.months_since(&spec, from(2021, 11));
            let short = e.months_since(&spec, from(2025, 1));
            let mid = e.months(&spec);
            assert_eq!((long.len(), short.len(), mid.len()), (60, 22, 49));
            for (x, y) in long[38..]
                .iter()
                .zip(&short)
                .chain(long[11..].iter().zip(&mid))
            {
                assert_eq!(
                    (x.period, x.figures, x.arrival, x.factor),
                    (y.period, y.figures, y.arrival, y.factor)
                );
            }
            // The years before last grow into it: 2023's output below 2024's below 2025's, on
            // the sum of the months normal in both years (the noise of a month is ±5%, the
            // growth some points a year; a bad spell is no growth).
            let normal = |y: i32| -> Vec<&Month> {
                long.iter()
                    .filter(|m| m.period.year() == y && m.factor == 1.0)
                    .collect()
            };
            let g = |y: i32| {
                let base: Vec<&Month> = normal(y - 1);
                let (mut a, mut b) = (0i64, 0i64);
                for m in normal(y) {
                    if let Some(o) = base.iter().find(|o| o.period == m.period.year_ago()) {
                        a += m.figures.output;
                        b += o.figures.output;
                    }
                }
                a as f64 / b as f64 - 1.0
            };
            assert!(g(2024) > -0.07, "{}", e.name);
            assert!(g(2025) > -0.07, "{}", e.name);
        }
    }

    #[test]
    fn bad_spells_happen_in_every_year_not_only_this_one() {
        // So that the nowcast's 24 months of history have seen what a stoppage does to
        // electricity and output (issue 21): about as many enterprises have a spell each year.
        let (spec, all) = city(2026);
        let mut with_spell = [0usize; 4];
        for e in &all {
            let months = e.months_since(&spec, Period::new(2023, 1).unwrap());
            for (k, y) in (2023..=2026).enumerate() {
                let spell = months
                    .iter()
                    .any(|m| m.period.year() == y && m.factor < 1.0);
                with_spell[k] += usize::from(spell);
                assert_eq!(spell, e.episode_in(&spec, y).is_some(), "{} {y}", e.name);
            }
        }
        let this_year = with_spell[3] as f64;
        for (k, n) in with_spell.iter().enumerate() {
            let share = *n as f64 / this_year;
            assert!((0.7..=1.3).contains(&share), "{}: {with_spell:?}", 2023 + k);
        }
    }

    #[test]
    fn the_planted_enterprises_sit_where_the_plan_says() {
        let (spec, all) = city(2026);
        let roles: Vec<Role> = all.iter().map(|e| e.role).collect();
        assert_eq!(roles[2], Role::Maintenance);
        assert_eq!(roles[153], Role::Divergence);
        assert_eq!(roles[76], Role::Revision);
        assert_eq!(all[2].industry, city::REFINERY);
        let months = all[2].months(&spec);
        assert_eq!(months[47].figures.output, 0);
        assert_eq!(months[48].figures.output, 0);
        assert_eq!((months[47].factor, months[46].factor), (0.0, 1.0));
        assert!(all.iter().take(100).all(|e| e.key && e.owner.is_some()));
        assert!(all.iter().skip(100).all(|e| !e.key && e.owner.is_none()));
    }
}
