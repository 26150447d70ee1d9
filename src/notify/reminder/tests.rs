use super::*;
use crate::credit_code::CreditCode;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn enterprise(
    n: u32,
    unit: &str,
    zone: Option<&str>,
    scale: Scale,
    owner: Option<&str>,
) -> Enterprise {
    Enterprise {
        credit_code: CreditCode::with_check(&format!("91330781MA2X{n:05}")).unwrap(),
        name: format!("企业{n}"),
        unit_code: unit.into(),
        zone_code: zone.map(str::to_string),
        industry_code: None,
        scale,
        key: false,
        owner: owner.map(str::to_string),
    }
}

fn recipient(toml_text: &str) -> RecipientConfig {
    toml::from_str(toml_text).unwrap()
}

fn recipients() -> Vec<RecipientConfig> {
    vec![
        recipient("id='city'\nname='市局'\nemail='c@x.cn'\nrole='city'"),
        recipient("id='east'\nname='东城区'\nemail='e@x.cn'\nrole='district'\nunits=['330701']"),
        recipient("id='zone'\nname='高新区'\nemail='z@x.cn'\nrole='zone'\nunits=['339901']"),
        recipient("id='li'\nname='李副市长'\nemail='l@x.cn'\nrole='owner'"),
        // Asked only for red alerts: a reminder (informational) is not for them.
        recipient(
            "id='red'\nname='只看红色'\nemail='r@x.cn'\nrole='district'\nunits=['330701']\nmin_severity='red'",
        ),
        // Filtered to rules without enterprise_missing.
        recipient(
            "id='units'\nname='只看县区'\nemail='u@x.cn'\nrole='district'\nunits=['330701']\nrules=['unit_below_target']",
        ),
    ]
}

#[test]
fn the_period_due_is_last_month_until_the_end_of_its_deadline_day_in_shanghai() {
    // 8 November, 09:00 Shanghai: October is due on the 10th.
    assert_eq!(
        period_due(at("2026-11-08T09:00:00+08:00"), 10),
        Some("2026-10".parse().unwrap())
    );
    // The last second of the 10th still counts; the next does not.
    assert_eq!(
        period_due(at("2026-11-10T23:59:59+08:00"), 10),
        Some("2026-10".parse().unwrap())
    );
    assert_eq!(period_due(at("2026-11-11T00:00:00+08:00"), 10), None);
    // 1 January, 00:30 Shanghai (still 31 December in UTC): Shanghai's month decides, so the
    // period is December and its deadline is ahead.
    assert_eq!(
        period_due(at("2027-01-01T00:30:00+08:00"), 10),
        Some("2026-12".parse().unwrap())
    );
}

#[test]
fn each_official_is_reminded_of_the_unreported_above_scale_enterprises_in_their_scope() {
    let es = vec![
        enterprise(1, "330701", None, Scale::Above, None), // east, not reported
        enterprise(2, "330701", Some("339901"), Scale::Above, Some("li")), // east + zone, not reported
        enterprise(3, "330701", None, Scale::Above, None),                 // east, reported
        enterprise(4, "330702", None, Scale::Below, None), // below scale: not expected
        enterprise(5, "330702", None, Scale::Above, None), // west, not reported
    ];
    let reported: HashSet<String> = [es[2].credit_code.as_str().to_string()].into();
    let got: Vec<(String, Vec<u32>)> = plan(&recipients(), &es, &reported, Some("3307"))
        .into_iter()
        .map(|p| {
            let id = recipients()[p.recipient].id.clone();
            (id, p.enterprises.iter().map(|i| *i as u32 + 1).collect())
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("city".to_string(), vec![1, 2, 5]),
            ("east".to_string(), vec![1, 2]),
            ("zone".to_string(), vec![2]),
            ("li".to_string(), vec![2]),
        ]
    );
}

#[test]
fn nobody_is_reminded_when_everyone_reported() {
    let es = vec![
        enterprise(1, "330701", None, Scale::Above, None),
        enterprise(2, "330701", None, Scale::Below, None),
    ];
    let reported: HashSet<String> = [es[0].credit_code.as_str().to_string()].into();
    assert!(plan(&recipients(), &es, &reported, Some("3307")).is_empty());
}

#[test]
fn the_message_names_the_period_the_deadline_and_each_enterprise_escaped() {
    let mut e = enterprise(1, "330701", None, Scale::Above, Some("li"));
    e.name = "<script>alert(1)</script>机械".into();
    let units: HashMap<&str, &str> = [("330701", "东城区")].into();
    let people: HashMap<&str, &str> = [("li", "李副市长")].into();
    let ctx = Context {
        period: "2026-10".parse().unwrap(),
        due: deadline("2026-10".parse().unwrap(), 10),
        now: at("2026-11-08T09:00:00+08:00"),
        units: &units,
        people: &people,
    };
    let r = &recipients()[1];
    assert_eq!(
        subject(r, &[&e], &ctx),
        "【报送提醒】2026年10月 东城区：1家规上企业尚未报送（11月10日24时截止）"
    );
    let t = text(r, &[&e], &ctx);
    assert!(t.contains("截至11月8日09:00"), "{t}");
    assert!(t.contains("【东城区（330701）】1家"), "{t}");
    assert!(t.contains("包抓领导 李副市长"), "{t}");
    let h = html(r, &[&e], &ctx);
    assert!(
        h.contains("&lt;script&gt;alert(1)&lt;/script&gt;机械"),
        "{h}"
    );
    assert!(!h.contains("<script>"), "{h}");
}
