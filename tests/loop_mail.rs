//! Digests that link into the answer loop, and 督办, over SMTP on loopback on both backends:
//! each digest opens with its reader's standing (growth, gap, rank, computed by hand below),
//! every item links to its case page under `[console] public_url`, the footer says how to
//! answer; an overdue case reminds its owner once, and past its 督办 time tells the owner's
//! supervisor (or the city when the owner has none) once.

mod common;

use std::fmt::Write as _;

use common::mail::{BEIGANG, EVIL, NANHU, apply, dispatch_and_send, finding, open, parsed, to_of};
use common::smtp::SmtpServer;
use common::{TestDb, fixture, import_ok, shanghai, write};
use indmon::cases::{AnswerInput, Desk, Who};
use indmon::config::Config;
use indmon::credit_code::CreditCode;
use indmon::evaluate;
use indmon::rules::Severity;
use indmon::store::cases::CaseQuery;

const MAIL: &str = r#"
[mail]
from = "市工信局运行监测 <indmon@gxj.example.cn>"
transport = "smtp"
host = "127.0.0.1"
port = {port}
security = "plain"
timeout_secs = 2
repeat_interval_hours = 10000

[console]
listen = "127.0.0.1:18080"
public_url = "https://jc.example.cn/"

[[recipients]]
id = "city"
name = "市工信局"
email = "city@gxj.example.cn"
role = "city"
label = "全市"
"#;

fn config(port: u16, rest: &str) -> Config {
    let text = format!("{}{rest}", MAIL.replace("{port}", &port.to_string()));
    let c = Config::parse(&text).expect("config");
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    c
}

fn code(i: u32) -> String {
    CreditCode::with_check(&format!("91330781MA{i:07}"))
        .unwrap()
        .to_string()
}

/// 东岭区 (330781) has A: 100 a month in 2025, 105 in 2026 → 1050/1000 = +5.0% against 7.0
/// (gap −2.0), first of two districts. 西湖县 (330782) has B: 100 a month, 0 in October 2026 →
/// 900/1000 = −10.0% against 6.0 (gap −16.0), second. The city: 1950/2000 = −2.5% against 6.5
/// (gap −9.0).
async fn world(store: &indmon::store::Store, dir: &tempfile::TempDir) {
    let ent = format!(
        "credit_code,name,unit_code,zone_code,industry_code,scale,key,owner\n\
         {},甲机械有限公司,330781,,C3411,above,否,\n\
         {},乙纺织有限公司,330782,,C1711,above,否,\n",
        code(1),
        code(2)
    );
    let targets = "year,unit_code,indicator,kind,annual,milestones\n\
        2026,3307,value_added_growth,growth,6.5,\n\
        2026,330781,value_added_growth,growth,7.0,\n\
        2026,330782,value_added_growth,growth,6.0,\n";
    let mut subs = String::from("credit_code,period,output,output_ytd,revenue_ytd,electricity\n");
    for m in 1..=12 {
        for i in [1, 2] {
            writeln!(subs, "{},2025-{m:02},100,,,", code(i)).unwrap();
        }
    }
    for m in 1..=10 {
        writeln!(subs, "{},2026-{m:02},105,,,", code(1)).unwrap();
        let b = if m == 10 { 0 } else { 100 };
        writeln!(subs, "{},2026-{m:02},{b},,,", code(2)).unwrap();
    }
    let files = [
        fixture("units.csv"),
        write(dir, "enterprises.csv", ent),
        write(dir, "targets.csv", targets),
        write(dir, "submissions.csv", subs),
    ];
    let refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    import_ok(store, &refs).await;
}

const DISTRICTS: &str = r#"
[[recipients]]
id = "dongling"
name = "东岭区经信局"
email = "dl@example.cn"
role = "district"
units = ["330781"]
case_owner = true

[[recipients]]
id = "xihu"
name = "西湖县经信局"
email = "xh@example.cn"
role = "district"
units = ["330782"]
case_owner = true
"#;

#[tokio::test]
async fn a_digest_opens_with_the_readers_standing_and_links_each_case_to_its_page() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        world(&db.store, &dir).await;
        let server = SmtpServer::start().await;
        let c = config(server.port, DISTRICTS);
        let t0 = shanghai(2026, 11, 23, 10);
        evaluate::run(&db.store, &c, "2026-10".parse().unwrap(), t0, false)
            .await
            .expect("evaluate");
        dispatch_and_send(&db.store, &c, t0).await;
        let got = server.messages();
        let body = |to: &str| {
            let m = got.iter().find(|m| to_of(m) == to).expect(to);
            let m = parsed(&m.data);
            (
                m.body_text(0).unwrap().to_string(),
                m.body_html(0).unwrap().to_string(),
            )
        };
        let (dl, dl_html) = body("dl@example.cn");
        let (xh, _) = body("xh@example.cn");
        let (city, _) = body("city@gxj.example.cn");
        let want = "东岭区1—10月规上工业产值增长5.0%，低于目标2.0个百分点（目标7.0%），在2个县区中居第1位。";
        assert!(dl.contains(want), "{}: {dl}", db.name);
        assert!(dl_html.contains(want), "{dl_html}");
        assert!(
            xh.contains("西湖县1—10月规上工业产值下降10.0%，低于目标16.0个百分点（目标6.0%），在2个县区中居第2位。"),
            "{xh}"
        );
        assert!(
            city.contains("示例市1—10月规上工业产值下降2.5%，低于目标9.0个百分点（目标6.5%）。"),
            "{city}"
        );
        let at = |s: &str| dl.find(s).unwrap_or(usize::MAX);
        assert!(
            at("【概况】") < at(want) && at(want) < at("自上次通报以来"),
            "{dl}"
        );
        assert!(dl.contains("本次新增预警"), "{dl}");
        // Every case of the district is linked from its line, in both parts.
        let cases = db.store.cases(&CaseQuery::default()).await.unwrap();
        let mine: Vec<_> = cases.iter().filter(|c| c.unit_code == "330781").collect();
        assert!(!mine.is_empty(), "{}: {cases:?}", db.name);
        for case in mine {
            let link = format!("https://jc.example.cn/cases/{}", case.id);
            assert!(dl.contains(&format!("办理：{link}")), "{link}: {dl}");
            assert!(dl_html.contains(&format!("href=\"{link}\"")), "{dl_html}");
            assert!(!xh.contains(&link), "another district's case");
        }
        for text in [&dl, &dl_html, &xh, &city] {
            assert!(text.contains("https://jc.example.cn/todo"), "{text}");
            assert!(text.contains("反馈表"), "{text}");
            assert!(!text.contains("indmon alerts"), "{text}");
        }
        db.cleanup().await;
    }
}

const CHASED: &str = r#"
[[recipients]]
id = "east"
name = "东城区经信局"
email = "east@example.cn"
role = "district"
units = ["330781"]
case_owner = true
supervisor = "boss"

[[recipients]]
id = "west"
name = "西城区经信局"
email = "west@example.cn"
role = "district"
units = ["330782"]
case_owner = true

[[recipients]]
id = "boss"
name = "赵副市长"
email = "boss@example.cn"
role = "owner"
"#;

/// (to, subject, text, html) of the messages received since `before`.
fn since(server: &SmtpServer, before: usize) -> Vec<(String, String, String, String)> {
    let mut v: Vec<_> = server.messages()[before..]
        .iter()
        .map(|m| {
            let p = parsed(&m.data);
            (
                to_of(m).to_string(),
                p.subject().unwrap_or("").to_string(),
                p.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
                p.body_html(0).map(|t| t.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Delivered Monday 23 November: due Monday 30 November 18:00 (five working days), 督办 Thursday
/// 3 December 18:00 (three more). The east's case reminds the east and then its supervisor 赵副
/// 市长; the west's unanswered case reminds the west and then the city (no supervisor); the
/// west's answered case is never chased; nothing is sent twice.
#[tokio::test]
async fn overdue_cases_remind_their_owner_then_the_supervisor_once_each() {
    for db in TestDb::all().await {
        let s = &db.store;
        let server = SmtpServer::start().await;
        let c = config(server.port, CHASED);
        let t0 = shanghai(2026, 11, 23, 10);
        let third = code(3);
        apply(
            s,
            vec![
                open(finding(
                    "enterprise_stalled",
                    NANHU,
                    EVIL,
                    "330781",
                    None,
                    Severity::Red,
                    1,
                )),
                open(finding(
                    "enterprise_semi_stalled",
                    BEIGANG,
                    "北港化工",
                    "330782",
                    None,
                    Severity::Orange,
                    1,
                )),
                open(finding(
                    "enterprise_reduced",
                    &third,
                    "丙建材",
                    "330782",
                    None,
                    Severity::Yellow,
                    1,
                )),
            ],
            t0,
        )
        .await;
        let desk = Desk::new(s.clone(), &c).unwrap();
        desk.sync(t0).await.unwrap();
        dispatch_and_send(s, &c, t0).await;
        let delivered = server.messages().len();
        assert_eq!(delivered, 3, "{}: city, east, west", db.name);
        let cases = s.cases(&CaseQuery::default()).await.unwrap();
        let id_of = |subject: &str| cases.iter().find(|c| c.subject == subject).unwrap().id;
        let (east_case, west_case, answered) = (id_of(NANHU), id_of(BEIGANG), id_of(&third));
        let west = Who::recipient("west", None);
        let v = desk.get(&west, answered, t0).await.unwrap().case.version;
        let input = AnswerInput {
            cause: "订单不足/市场需求".into(),
            situation: "订单减少".into(),
            measures: "对接采购商".into(),
            resume_month: Some("2026-12".into()),
            coordination: String::new(),
            expected_version: Some(v),
            via: "console".into(),
        };
        desk.answer(&west, answered, &input, shanghai(2026, 11, 25, 9))
            .await
            .unwrap();
        let case = desk.get(&west, west_case, t0).await.unwrap().case;
        assert_eq!(
            case.due_at,
            Some(shanghai(2026, 11, 30, 18).timestamp_millis())
        );
        assert_eq!(
            case.escalate_at,
            Some(shanghai(2026, 12, 3, 18).timestamp_millis())
        );

        // Before the due time: nothing.
        dispatch_and_send(s, &c, shanghai(2026, 11, 30, 17)).await;
        assert_eq!(server.messages().len(), delivered, "{}", db.name);

        // Past it: each owner is reminded of its own overdue case, with its link.
        dispatch_and_send(s, &c, shanghai(2026, 11, 30, 19)).await;
        let got = since(&server, delivered);
        let subjects: Vec<(&str, &str)> =
            got.iter().map(|m| (m.0.as_str(), m.1.as_str())).collect();
        assert_eq!(
            subjects,
            [
                ("east@example.cn", "【督办】超期未反馈提醒：1件"),
                ("west@example.cn", "【督办】超期未反馈提醒：1件"),
            ],
            "{}",
            db.name
        );
        let east_link = format!("https://jc.example.cn/cases/{east_case}");
        assert!(
            got[0].2.contains(&format!("办理：{east_link}")),
            "{}",
            got[0].2
        );
        assert!(
            got[0].2.contains("反馈期限11月30日，督办期限12月3日"),
            "{}",
            got[0].2
        );
        assert!(got[0].3.contains("&lt;script&gt;"), "{}", got[0].3);
        assert!(!got[0].3.contains("<script>"), "{}", got[0].3);
        assert!(
            got[1].2.contains("北港化工") && !got[1].2.contains("丙建材"),
            "{}",
            got[1].2
        );
        let reminded = server.messages().len();

        // Never twice.
        dispatch_and_send(s, &c, shanghai(2026, 11, 30, 20)).await;
        assert_eq!(server.messages().len(), reminded, "{}", db.name);

        // Past the 督办 time: the east's supervisor, and the city for the west.
        dispatch_and_send(s, &c, shanghai(2026, 12, 3, 19)).await;
        let got = since(&server, reminded);
        let subjects: Vec<(&str, &str)> =
            got.iter().map(|m| (m.0.as_str(), m.1.as_str())).collect();
        assert_eq!(
            subjects,
            [
                ("boss@example.cn", "【督办】超过督办期限未反馈：1件"),
                ("city@gxj.example.cn", "【督办】超过督办期限未反馈：1件"),
            ],
            "{}",
            db.name
        );
        assert!(got[0].2.contains("责任人 东城区经信局"), "{}", got[0].2);
        assert!(got[0].2.contains(&east_link), "{}", got[0].2);
        assert!(got[1].2.contains("北港化工"), "{}", got[1].2);
        let escalated = server.messages().len();
        dispatch_and_send(s, &c, shanghai(2026, 12, 4, 10)).await;
        assert_eq!(server.messages().len(), escalated, "{}", db.name);

        // Each is in the case's history.
        let kinds: Vec<String> = s
            .case_events(east_case)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds.iter().filter(|k| *k == "reminded").count(),
            1,
            "{kinds:?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| *k == "escalated").count(),
            1,
            "{kinds:?}"
        );
        db.cleanup().await;
    }
}
