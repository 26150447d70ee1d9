//! Properties of the analysis on random cities: the pulls of a unit add up to its growth, the
//! city's figures are the aggregate of its enterprises, and every enterprise that reported is
//! either counted in the growth or counted as left out.

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
        earlier: HashMap::new(),
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
            prop_assert_eq!(u.counted + u.excluded, u.reported, "{}", u.code);
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
        // The city, computed here from the months alone: every above-scale enterprise that
        // reported P with every month of this year and of last year to P, once (no form
        // figures here, so a year to date is complete only when all its months are there).
        let (mut cur, mut prev) = (0i64, 0i64);
        let m = month as usize;
        for (_, above, months) in &specs {
            let this: Option<Vec<u32>> = months[WINDOW - m..].iter().copied().collect();
            let before: Option<Vec<u32>> = months[WINDOW - 12 - m..WINDOW - 12].iter().copied().collect();
            if let (true, Some(this), Some(before)) = (*above, this, before) {
                cur += this.iter().map(|v| i64::from(*v) * 10_000).sum::<i64>();
                prev += before.iter().map(|v| i64::from(*v) * 10_000).sum::<i64>();
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
