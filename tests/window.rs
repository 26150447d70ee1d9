//! The window read ([`Store::load_window`]) on SQLite and PostgreSQL: each backend's full scan
//! and its keyed read of a few enterprises give the same series, in the scope's order, with
//! the figures the window asks for in the months it names and nothing outside them.

mod common;

use std::fmt::Write as _;

use common::*;
use indmon::analysis::window::{Scope, Window};
use indmon::analysis::{Calendar, NONE, WINDOW};
use indmon::credit_code::CreditCode;
use indmon::store::Store;

fn code(i: u32) -> String {
    CreditCode::with_check(&format!("91330781MA{i:07}"))
        .expect("valid code")
        .to_string()
}

/// Five enterprises with 2023-01 to 2026-10 (enterprise 3 stops after 2026-06), output
/// `i·1000 + month index`, and electricity and its prior-year figure in October of each year.
async fn load(store: &Store, dir: &tempfile::TempDir) {
    let mut ent =
        String::from("credit_code,name,unit_code,zone_code,industry_code,scale,key,owner\n");
    let mut subs = String::from("credit_code,period,output,electricity,electricity_prev\n");
    for i in 1..=5 {
        writeln!(ent, "{},企业{i},330781,,C3411,above,否,", code(i)).unwrap();
        for k in 0..46 {
            let t = indmon::period::Period::new(2023, 1).unwrap().offset(k);
            if i == 3 && t > indmon::period::Period::new(2026, 6).unwrap() {
                continue;
            }
            let (e, ep) = if t.month() == 10 {
                (format!("{}", 10 * i), format!("{}", 9 * i))
            } else {
                (String::new(), String::new())
            };
            writeln!(subs, "{},{t},{},{e},{ep}", code(i), i as i32 * 1000 + k).unwrap();
        }
    }
    let files = [
        fixture("units.csv"),
        write(dir, "enterprises.csv", ent),
        write(dir, "submissions.csv", subs),
    ];
    let refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    import_ok(store, &refs).await;
}

#[tokio::test]
async fn a_few_enterprises_read_by_key_equal_the_same_enterprises_of_the_full_scan() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        load(&db.store, &dir).await;
        let registry = db.store.enterprises().await.unwrap();
        let cal = Calendar {
            period: "2026-10".parse().unwrap(),
            jan_feb_combined: true,
        };
        let all = Window {
            cal,
            scope: Scope::Registry(&registry),
        };
        let scanned = db.store.load_window(&all).await.unwrap();
        assert_eq!(scanned.series.len(), registry.len(), "{}", db.name);
        // A few, in an order of their own (the registry's order reversed, one left out).
        let few: Vec<_> = registry.iter().rev().skip(1).cloned().collect();
        let keyed = db
            .store
            .load_window(&Window {
                cal,
                scope: Scope::Few(&few),
            })
            .await
            .unwrap();
        assert_eq!(keyed.series.len(), few.len(), "{}", db.name);
        for (f, s) in few.iter().zip(&keyed.series) {
            let at = registry.iter().position(|e| e.credit_code == f.credit_code);
            let full = &scanned.series[at.unwrap()];
            assert_eq!(format!("{s:?}"), format!("{full:?}"), "{}", db.name);
        }
        assert_eq!(keyed.vintage, scanned.vintage, "{}", db.name);
        assert!(scanned.vintage > 0, "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_window_holds_its_24_months_and_the_figures_asked_for() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        load(&db.store, &dir).await;
        let registry = db.store.enterprises().await.unwrap();
        let cal = Calendar {
            period: "2026-10".parse().unwrap(),
            jan_feb_combined: true,
        };
        let read = db
            .store
            .load_window(&Window {
                cal,
                scope: Scope::Registry(&registry),
            })
            .await
            .unwrap();
        let of = |i: u32| {
            let at = registry
                .iter()
                .position(|e| e.credit_code.to_string() == code(i));
            &read.series[at.unwrap()]
        };
        // Month index k of the data (2023-01 = 0) is window index k − 22 (2024-11 = 0).
        let e1 = of(1);
        assert_eq!(e1.present, (1u32 << WINDOW) - 1, "{}", db.name);
        for i in 0..WINDOW {
            assert_eq!(e1.output[i], (1000 + 22 + i as i64) * 10_000, "{}", db.name);
        }
        // Electricity is read for P and P−12 only, with the prior-year figure of P.
        assert_eq!(e1.electricity, 10 * 10_000, "{}", db.name);
        assert_eq!(e1.electricity_prev, 9 * 10_000, "{}", db.name);
        assert_eq!(e1.electricity_year_ago, 10 * 10_000, "{}", db.name);
        assert_eq!(e1.revision, 1, "{}", db.name);
        // Enterprise 3 stopped after 2026-06 (window index 19).
        let e3 = of(3);
        assert_eq!(e3.present, (1u32 << 20) - 1, "{}", db.name);
        assert_eq!(e3.output[WINDOW - 1], NONE, "{}", db.name);
        assert_eq!(e3.electricity, NONE, "{}", db.name);
        assert_eq!(e3.revision, 0, "{}", db.name);
        db.cleanup().await;
    }
}
