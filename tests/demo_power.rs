//! The synthetic city's metered electricity (issue 21): every month's days sum to the
//! enterprise's reported electricity times its meter factor (so to its output times its own
//! intensity) within the daily noise, January and February each alone; the Spring Festival's
//! dip is in the 旬 the calendar puts it in, every year, and its month's output is the lower;
//! the files import without a reject on both backends.

mod common;

use std::collections::HashMap;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use common::*;
use indmon::demo::city::INDUSTRIES;
use indmon::demo::enterprise::{Profile, Role};
use indmon::demo::power::{DAY_NOISE, meter};
use indmon::demo::{GenSpec, generate};
use indmon::period::Period;

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Metered kWh by credit code and day, the accounts summed.
fn metered(dir: &Path) -> HashMap<String, HashMap<NaiveDate, i64>> {
    let owner: HashMap<String, String> = csv_rows(&dir.join("power/accounts.csv"))
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let mut out: HashMap<String, HashMap<NaiveDate, i64>> = HashMap::new();
    for f in std::fs::read_dir(dir.join("power/daily")).unwrap() {
        for r in csv_rows(&f.unwrap().path()) {
            let day = NaiveDate::parse_from_str(&r[1], "%Y-%m-%d").unwrap();
            *out.entry(owner[&r[0]].clone())
                .or_default()
                .entry(day)
                .or_default() += r[2].parse::<i64>().unwrap();
        }
    }
    out
}

/// (output, electricity) by credit code and month, as finally reported (late rows and the
/// revision applied).
fn reported(dir: &Path) -> HashMap<(String, String), (i64, i64)> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("submissions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort_by_key(|p| p.to_string_lossy().contains("revision"));
    let raw = |s: &str| (s.parse::<f64>().unwrap() * 10_000.0).round() as i64;
    let mut out = HashMap::new();
    for f in files {
        for r in csv_rows(&f) {
            out.insert((r[0].clone(), r[1].clone()), (raw(&r[2]), raw(&r[7])));
        }
    }
    out
}

fn month_of(day: NaiveDate) -> String {
    format!("{}-{:02}", day.year(), day.month())
}

#[test]
fn the_days_sum_to_the_month_and_follow_output_and_the_festival_moves() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec::default();
    generate(&spec, dir.path()).unwrap();
    let days = metered(dir.path());
    let months = reported(dir.path());
    let first = Period::new(2022, 10).unwrap();
    let (mut checked, mut normal_months) = (0, 0);
    for index in 0..spec.enterprises as u64 {
        let e = Profile::new(&spec, index, &[]).unwrap();
        let code = e.credit_code.to_string();
        let Some(m) = meter(&spec, &e) else {
            assert!(!days.contains_key(&code));
            continue;
        };
        // Month sums of the metered days, each month alone (January and February too).
        let mut sums: HashMap<String, i64> = HashMap::new();
        for (day, kwh) in &days[&code] {
            *sums.entry(month_of(*day)).or_default() += kwh;
        }
        assert_eq!(
            days[&code].len(),
            1502,
            "{code}: every day of 2022-10-01..2026-11-10"
        );
        let factors: HashMap<String, f64> = e
            .months_between(&spec, first, Period::new(2026, 11).unwrap())
            .iter()
            .map(|m| (m.period.to_string(), m.factor))
            .collect();
        for (key, sum) in &sums {
            let parts = [key.clone()];
            let Some(figures) = parts
                .iter()
                .map(|p| months.get(&(code.clone(), p.clone())).copied())
                .collect::<Option<Vec<_>>>()
            else {
                continue; // a month never reported
            };
            let electricity: i64 = figures.iter().map(|f| f.1).sum();
            let output: i64 = figures.iter().map(|f| f.0).sum();
            let stops_in_month = key == "2026-10"
                && e.episode.is_some_and(|ep| ep.first == 10)
                && factors[key] < 1.0;
            if stops_in_month {
                // Two days at the normal level on top of the month's base: above the reported.
                assert!(*sum as f64 > electricity as f64 * m.factor * 0.96, "{code}");
                continue;
            }
            // Each day within ±4% of its share: the month within ±4%, plus rounding.
            let want = electricity as f64 * m.factor;
            assert!(
                (*sum as f64 - want).abs() <= DAY_NOISE * want + 62.0,
                "{code} {key}: {sum} against {want}"
            );
            checked += 1;
            let normal = parts.iter().all(|p| factors[p] == 1.0)
                && !(e.role == Role::Divergence && key == "2026-10");
            if normal && output > 0 {
                // Electricity per output: the industry's intensity × the meter factor, within
                // the reported electricity's ±3% and the days' ±4% (and rounding).
                let ratio =
                    *sum as f64 / output as f64 / (INDUSTRIES[e.industry].intensity * m.factor);
                assert!((0.92..=1.08).contains(&ratio), "{code} {key}: {ratio}");
                normal_months += 1;
            }
        }
    }
    assert!(
        checked > 600 * 30 && normal_months > 600 * 28,
        "{checked} {normal_months}"
    );

    // The month's output carries its days off as its electricity does: the city's January
    // 2023 (festival 21–27 January) well below January 2024's (festival in February), its
    // February well above.
    let city_output = |p: &str| -> i64 {
        months
            .iter()
            .filter(|((_, period), _)| period == p)
            .map(|(_, f)| f.0)
            .sum()
    };
    let jan = city_output("2023-01") as f64 / city_output("2024-01") as f64;
    let feb = city_output("2023-02") as f64 / city_output("2024-02") as f64;
    assert!(jan < 0.85 && feb > 1.15, "January {jan}, February {feb}");

    // The city's daily average per 旬 of January and February: below three quarters of the
    // year's median exactly in the 旬 holding three or more days of the festival.
    let mut city: HashMap<NaiveDate, i64> = HashMap::new();
    for d in days.values() {
        for (day, kwh) in d {
            *city.entry(*day).or_default() += kwh;
        }
    }
    let festival = [
        (2023, vec!["01-D3"]),          // 1月21日至27日
        (2024, vec!["02-D2"]),          // 2月10日至17日 (only the 10th in 上旬)
        (2025, vec!["01-D3", "02-D1"]), // 1月28日至2月4日
        (2026, vec!["02-D2", "02-D3"]), // 2月15日至23日
    ];
    for (year, want) in festival {
        let mut avg: Vec<(String, f64)> = Vec::new();
        for month in 1..=2u32 {
            for (part, from, to) in [(1, 1, 10), (2, 11, 20), (3, 21, 31)] {
                let vals: Vec<i64> = (from..=to)
                    .filter_map(|d| NaiveDate::from_ymd_opt(year, month, d))
                    .map(|d| city[&d])
                    .collect();
                let mean = vals.iter().sum::<i64>() as f64 / vals.len() as f64;
                avg.push((format!("{month:02}-D{part}"), mean));
            }
        }
        let mut sorted: Vec<f64> = avg.iter().map(|a| a.1).collect();
        sorted.sort_by(f64::total_cmp);
        let median = (sorted[2] + sorted[3]) / 2.0;
        let low: Vec<&str> = avg
            .iter()
            .filter(|a| a.1 < 0.75 * median)
            .map(|a| a.0.as_str())
            .collect();
        assert_eq!(low, want, "{year}: {avg:?}");
    }
}

#[tokio::test]
async fn the_power_files_import_without_a_reject_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        enterprises: 120,
        below_scale: 10,
        power_from: Period::new(2026, 9),
        http_pages: false,
        ..GenSpec::default()
    };
    generate(&spec, dir.path()).unwrap();
    let d = dir.path();
    let accounts = csv_rows(&d.join("power/accounts.csv"));
    let lines = csv_rows(&d.join("power/daily/2026-10.csv"));
    let owners: std::collections::HashSet<&str> = accounts.iter().map(|r| r[1].as_str()).collect();
    assert!(
        accounts.len() > owners.len(),
        "some enterprises have two accounts"
    );
    assert!((100..=120).contains(&owners.len()), "{}", owners.len());
    for db in TestDb::all().await {
        let s = &db.store;
        let files = [
            d.join("units.csv"),
            d.join("enterprises.csv"),
            d.join("power/accounts.csv"),
            d.join("power/daily/2026-09.csv"),
            d.join("power/daily/2026-10.csv"),
        ];
        let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
        let reports = import_ok(s, &refs).await;
        assert_eq!(reports[2].accepted as usize, accounts.len(), "{}", db.name);
        // The accounts of an enterprise are summed per day: one row per enterprise and day.
        assert_eq!(
            reports[4].accepted as usize,
            owners.len() * 31,
            "{}",
            db.name
        );
        let span = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
            ..=NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
        let stored = s.power_days(&[span]).await.unwrap();
        let total: i64 = stored.values().flat_map(|d| d.values()).sum();
        let in_file: i64 = lines.iter().map(|r| r[2].parse::<i64>().unwrap()).sum();
        // Stored in ten-thousandths of kWh.
        assert_eq!(total, in_file * 10_000, "{}", db.name);
        db.cleanup().await;
    }
}
