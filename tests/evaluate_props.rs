//! Properties of the analysis on random cities: the pulls of a unit add up to its growth, and
//! the city's figures are the aggregate of its enterprises.

use std::collections::HashMap;

use indmon::analysis::{Calendar, Dataset, Growth, NONE, Series, WINDOW, evaluate_units, pulls};
use indmon::credit_code::CreditCode;
use indmon::registry::{Enterprise, Scale, Unit, UnitKind};
use proptest::prelude::*;

fn unit(code: &str, kind: UnitKind) -> Unit {
    Unit {
        code: code.into(),
        name: code.into(),
        kind,
        parent: None,
    }
}

/// One enterprise: its district (0 or 1), whether it is above scale, and 24 months of output
/// (万元, `None` = not reported).
type Spec = (u8, bool, Vec<Option<u32>>);

fn dataset(specs: &[Spec], combined: bool, month: u32) -> Dataset {
    let cal = Calendar {
        period: indmon::period::Period::new(2026, month).unwrap(),
        jan_feb_combined: combined,
    };
    let mut enterprises = Vec::new();
    let mut series = Vec::new();
    for (i, (d, above, months)) in specs.iter().enumerate() {
        let code = CreditCode::with_check(&format!("91330781MA{i:07}")).unwrap();
        enterprises.push(Enterprise {
            credit_code: code,
            name: format!("企业{i}"),
            unit_code: if *d == 0 { "D0".into() } else { "D1".into() },
            zone_code: (i % 3 == 0).then(|| "Z".into()),
            industry_code: None,
            scale: if *above { Scale::Above } else { Scale::Below },
            key: false,
            owner: None,
        });
        let mut s = Series::default();
        for (w, v) in months.iter().enumerate().take(WINDOW) {
            if let Some(v) = v {
                s.present |= 1 << w;
                s.output[w] = i64::from(*v) * 10_000;
            }
        }
        series.push(s);
    }
    Dataset {
        cal,
        units: vec![
            unit("C", UnitKind::City),
            unit("D0", UnitKind::District),
            unit("D1", UnitKind::District),
            unit("Z", UnitKind::Zone),
        ],
        enterprises,
        series,
        targets: Vec::new(),
        unit_figures: HashMap::new(),
        vintage: 0,
        projects: Vec::new(),
        progress: Vec::new(),
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..2,
        prop::bool::weighted(0.9),
        prop::collection::vec(prop::option::weighted(0.9, 0u32..50_000), WINDOW),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn pulls_add_up_to_growth_and_the_city_is_the_sum_of_its_enterprises(
        specs in prop::collection::vec(spec(), 1..40),
        combined in any::<bool>(),
        month in 2u32..=12,
    ) {
        let ds = dataset(&specs, combined, month);
        let units = evaluate_units(&ds);
        let members = ds.memberships();
        for u in &units {
            let ps = pulls(&ds, &members, u);
            match u.growth {
                Some(Growth::Ratio { cur, prev }) => {
                    let total: f64 = ps.iter().map(|(_, p)| p).sum();
                    let growth = (cur as f64 / prev as f64 - 1.0) * 100.0;
                    prop_assert!((total - growth).abs() < 1e-6, "{}: {total} vs {growth}", u.code);
                }
                None => prop_assert!(u.ytd_prev <= 0),
                Some(Growth::Official(_)) => unreachable!("no official figures here"),
            }
        }
        // The city: every above-scale enterprise with both years, once.
        let last = WINDOW - 1;
        let (mut cur, mut prev) = (0i64, 0i64);
        for (e, s) in ds.series.iter().enumerate() {
            if !ds.is_above(e) { continue; }
            if let (Some(c), Some(p)) = (s.ytd_submitted(&ds.cal, last), s.ytd_prev(&ds.cal, last)) {
                cur += c;
                prev += p;
            }
        }
        let city = &units[0];
        prop_assert_eq!((city.ytd, city.ytd_prev), (cur, prev));
        prop_assert_eq!(city.growth, Growth::ratio(cur, prev));
        // Districts partition the city.
        prop_assert_eq!(units[1].ytd + units[2].ytd, city.ytd);
        prop_assert_eq!(units[1].ytd_prev + units[2].ytd_prev, city.ytd_prev);
        prop_assert_eq!(units[1].expected + units[2].expected, city.expected);
        let _ = NONE;
    }
}
