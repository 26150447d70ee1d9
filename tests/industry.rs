//! The report's industries, efficiency and investment end to end, on SQLite and PostgreSQL:
//! files imported as districts send them, the snapshot built from the store, every figure
//! computed by hand below. This proves the window read keeps the figures the sections need
//! (sales, revenue, profit, export of P and P−12) on both backends' fast paths.
//!
//! 云州市 (3307): E1 化工 C2614 in 东岭区, E2 水泥 3011 and E3 (no industry code) in 西湖县.
//!
//! | | output ytd 2026-10 / 2025-10 | sales | revenue | profit | electricity (month) | export |
//! |---|---|---|---|---|---|---|
//! | E1 | 1200 / 1000 | 1170 / 950 | 1300 / 1100 | 60 / 50 | 22 / 20 | 150 / 100 |
//! | E2 | 450 / 500 | 400 / 480 | 470 / 520 | −5 / 10 | 9 / 10 | 0 / 0 |
//! | E3 | 110 / 100 | 110 / 100 | 110 / 100 | 1 / 1 | 1 / 1 | 0 / 0 |
//!
//! City output 1760 on 1600 (+10%). 26: +20%, pull 200/1600 = 12.5 pp; 30: −10%, pull −3.125 pp;
//! unclassified +10%, pull 0.625 pp. Revenue 1880 on 1720; profit 56 on 61; one loss-maker of
//! three; 产销率 1680/1760 = 95.45% against 1530/1600 = 95.625% a year earlier; export 150 on
//! 100 (+50%); electricity 32 on 31. Investment 9000 of 12000 (75%) in October, 8.3 points
//! behind time progress: 进度滞后; a year earlier 7500, so +20%.

mod common;

use common::*;
use indmon::config::Config;
use indmon::credit_code::CreditCode;
use indmon::report;
use serde_json::Value;

fn code(i: u32) -> String {
    CreditCode::with_check(&format!("91330781MA{i:07}"))
        .expect("valid code")
        .to_string()
}

fn files(dir: &tempfile::TempDir) -> Vec<std::path::PathBuf> {
    let units = "code,name,kind,parent\n3307,云州市,city,\n330781,东岭区,district,3307\n330782,西湖县,district,3307\n";
    let ents = format!(
        "credit_code,name,unit_code,zone_code,industry_code,scale,key,owner\n\
         {},一号化工有限公司,330781,,C2614,above,否,\n\
         {},二号水泥有限公司,330782,,3011,above,否,\n\
         {},三号实业有限公司,330782,,,above,否,\n",
        code(1),
        code(2),
        code(3)
    );
    let mut subs = String::from(
        "credit_code,period,output,output_ytd,sales_ytd,revenue_ytd,profit_ytd,electricity,export_ytd\n",
    );
    for (i, ago, now) in [
        (
            1,
            "100,1000,950,1100,50,20,100",
            "120,1200,1170,1300,60,22,150",
        ),
        (2, "50,500,480,520,10,10,0", "40,450,400,470,-5,9,0"),
        (3, "10,100,100,100,1,1,0", "10,110,110,110,1,1,0"),
    ] {
        subs.push_str(&format!(
            "{},2025-10,{ago}\n{},2026-10,{now}\n",
            code(i),
            code(i)
        ));
    }
    let figures = "unit_code,period,indicator,value\n3307,2026-10,investment,9000\n3307,2025-10,investment,7500\n";
    let targets =
        "year,unit_code,indicator,kind,annual,milestones\n2026,3307,investment,volume,12000,\n";
    vec![
        write(dir, "units.csv", units),
        write(dir, "enterprises.csv", ents),
        write(dir, "submissions.csv", subs),
        write(dir, "unit_indicators.csv", figures),
        write(dir, "targets.csv", targets),
    ]
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(v: &Value, expected: f64) -> bool {
    (num(v) - expected).abs() < 1e-9
}

#[tokio::test]
async fn snapshot_carries_industries_efficiency_and_investment_on_both_backends() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        let paths = files(&dir);
        let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
        import_ok(&db.store, &refs).await;
        let snap = report::build(&db.store, &Config::default(), "2026-11-H1".parse().unwrap())
            .await
            .unwrap();
        let j = serde_json::to_value(&snap).unwrap();
        let b = db.name;
        assert_eq!(j["period"], "2026-10", "{b}");

        let ind = &j["industries"];
        let codes: Vec<&str> = ind["divisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["26", "30"], "{b}");
        assert!(close(&ind["divisions"][0]["growth_pct"], 20.0), "{b}");
        assert!(close(&ind["divisions"][0]["pull_pp"], 12.5), "{b}");
        assert!(close(&ind["divisions"][1]["pull_pp"], -3.125), "{b}");
        assert!(close(&ind["unclassified"]["pull_pp"], 0.625), "{b}");
        assert_eq!(ind["missing_codes"], 1, "{b}");
        assert_eq!(
            (ind["growing"].as_u64(), ind["with_base"].as_u64()),
            (Some(1), Some(2))
        );
        let high_energy = ind["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "六大高耗能行业")
            .unwrap();
        assert!(close(&high_energy["ytd_wan"], 1650.0), "{b}");

        let c = &j["efficiency"]["city"];
        assert!(close(&c["revenue_wan"], 1880.0), "{b}");
        assert!(
            close(&c["revenue_growth_pct"], (1880.0 / 1720.0 - 1.0) * 100.0),
            "{b}"
        );
        assert!(
            close(&c["profit_growth_pct"], (56.0 / 61.0 - 1.0) * 100.0),
            "{b}"
        );
        assert_eq!(c["loss_making"], 1, "{b}");
        assert!(close(&c["sales_ratio_pct"], 1680.0 / 1760.0 * 100.0), "{b}");
        assert!(
            close(&c["sales_ratio_prev_pct"], 1530.0 / 1600.0 * 100.0),
            "{b}"
        );
        assert!(close(&c["export_growth_pct"], 50.0), "{b}");
        assert!(
            close(&c["electricity_growth_pct"], (32.0 / 31.0 - 1.0) * 100.0),
            "{b}"
        );
        assert_eq!(j["efficiency"]["districts"].as_array().unwrap().len(), 2);

        let inv = &j["investment"]["rows"][0];
        assert_eq!(inv["code"], "3307", "{b}");
        assert!(close(&inv["completion_pct"], 75.0), "{b}");
        assert!(close(&inv["growth_pct"], 20.0), "{b}");
        assert_eq!(inv["lagging"], true, "{b}");
        let summary = j["investment"]["summary"].as_str().unwrap();
        assert!(
            summary.contains("全市完成工业投资9,000.0万元，同比增长20.0%，完成年度目标12,000.0万元的75.0%，慢于时间进度8.3个百分点"),
            "{b}: {summary}"
        );
        db.cleanup().await;
    }
}

/// Generates the demo city (765 enterprises, 2025-01..2026-10) and imports it.
async fn load_demo(store: &indmon::store::Store) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let spec = indmon::demo::GenSpec {
        http_pages: false,
        ..indmon::demo::GenSpec::default()
    };
    indmon::demo::generate(&spec, dir.path()).unwrap();
    let d = dir.path();
    let mut files: Vec<std::path::PathBuf> = [
        "units.csv",
        "enterprises.csv",
        "targets.csv",
        "unit_indicators.csv",
    ]
    .iter()
    .map(|f| d.join(f))
    .collect();
    let mut months: Vec<std::path::PathBuf> = std::fs::read_dir(d.join("submissions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    months.sort_by_key(|p| {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        (name.contains("revision"), name.contains("late"), name)
    });
    files.extend(months);
    let refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    import_ok(store, &refs).await;
    dir
}

/// On the demo city the industries' pulls add up to the city's output growth, every code is
/// known, and the efficiency and investment sections have figures.
#[tokio::test]
async fn the_demo_city_has_every_section() {
    let db = TestDb::sqlite().await;
    let _data = load_demo(&db.store).await;
    let snap = report::build(&db.store, &Config::default(), "2026-11-H1".parse().unwrap())
        .await
        .unwrap();
    let city = snap.units.iter().find(|u| u["kind"] == "city").unwrap();
    let growth = (num(&city["ytd"]) / num(&city["ytd_prev"]) - 1.0) * 100.0;
    let ind = &snap.industries;
    assert!(ind.divisions.len() >= 20, "{}", ind.divisions.len());
    assert!(ind.unclassified.is_none() && ind.unknown_codes.is_empty());
    let pulls: f64 = ind.divisions.iter().map(|d| d.pull_pp.unwrap()).sum();
    assert!((pulls - growth).abs() < 1e-6, "{pulls} vs {growth}");
    let shares: f64 = ind.divisions.iter().map(|d| d.share_pct.unwrap()).sum();
    assert!((shares - 100.0).abs() < 1e-6, "{shares}");
    assert_eq!(ind.groups.len(), 3);
    assert!(
        ind.summary.starts_with("1—10月，全市规上工业涉及"),
        "{}",
        ind.summary
    );
    let c = snap.efficiency.city.as_ref().unwrap();
    let ratio = c.sales_ratio_pct.unwrap();
    assert!((90.0..100.0).contains(&ratio), "{ratio}");
    assert!(c.revenue_growth_pct.is_some() && c.electricity_growth_pct.is_some());
    assert!(!snap.efficiency.districts.is_empty());
    assert!(
        snap.investment
            .rows
            .iter()
            .any(|r| r.kind == "city" && r.completion_pct.is_some())
    );
    db.cleanup().await;
}
