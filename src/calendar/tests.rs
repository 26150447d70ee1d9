use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn official() -> Calendar {
    Calendar::official().expect("the shipped calendar parses")
}

#[test]
fn the_shipped_calendar_covers_2022_to_2026() {
    let c = official();
    assert_eq!(c.covered_from(), d("2022-01-01"));
    assert_eq!(c.covered_through(), d("2026-12-31"));
}

#[test]
fn spring_festival_2022_and_2023_with_their_weekends_worked() {
    let c = official();
    // 2022 (国办发明电〔2021〕11号): 1月31日至2月6日放假，1月29日（六）、30日（日）上班.
    assert!(c.is_workday(d("2022-01-29")).unwrap() && c.is_workday(d("2022-01-30")).unwrap());
    assert!(!c.is_workday(d("2022-01-31")).unwrap() && !c.is_workday(d("2022-02-06")).unwrap());
    assert_eq!(c.add_workdays(d("2022-01-28"), 3).unwrap(), d("2022-02-07"));
    // 2023 (国办发明电〔2022〕16号): 元旦 from Saturday 31 December 2022, 春节 1月21日至27日,
    // Saturday 28 and Sunday 29 January worked.
    assert!(c.is_workday(d("2022-12-30")).unwrap(), "a Friday");
    assert!(!c.is_workday(d("2023-01-02")).unwrap(), "元旦 Monday off");
    assert_eq!(c.add_workdays(d("2022-12-30"), 1).unwrap(), d("2023-01-03"));
    assert_eq!(c.add_workdays(d("2023-01-20"), 1).unwrap(), d("2023-01-28"));
    assert_eq!(c.add_workdays(d("2023-01-20"), 2).unwrap(), d("2023-01-29"));
    // 中秋节、国庆节 2023: 9月29日至10月6日, Saturday 7 and Sunday 8 October worked.
    assert_eq!(c.add_workdays(d("2023-09-28"), 1).unwrap(), d("2023-10-07"));
    assert_eq!(c.add_workdays(d("2023-10-08"), 1).unwrap(), d("2023-10-09"));
    // A weekend inside a holiday period is a holiday; an ordinary weekend is not.
    assert!(
        c.is_holiday(d("2022-12-31")).unwrap(),
        "Saturday, 元旦 2023"
    );
    assert!(!c.is_holiday(d("2022-12-24")).unwrap());
    assert!(!c.is_holiday(d("2023-01-28")).unwrap(), "worked");
    assert!(c.is_holiday(d("2021-12-31")).is_err());
}

#[test]
fn spring_festival_2025_counts_the_sunday_worked_before_it() {
    let c = official();
    // Delivered Friday 24 January: Sunday the 26th is worked (调休), the 27th is worked, then
    // 28 January–4 February are off.
    assert!(c.is_workday(d("2025-01-26")).unwrap());
    assert!(!c.is_workday(d("2025-01-28")).unwrap());
    assert_eq!(c.add_workdays(d("2025-01-24"), 2).unwrap(), d("2025-01-27"));
    assert_eq!(c.add_workdays(d("2025-01-24"), 5).unwrap(), d("2025-02-07"));
    // Saturday 8 February is worked too.
    assert_eq!(c.add_workdays(d("2025-02-07"), 1).unwrap(), d("2025-02-08"));
}

#[test]
fn spring_festival_2026_skips_nine_days_off() {
    let c = official();
    assert!(c.is_workday(d("2026-02-14")).unwrap(), "Saturday worked");
    for off in ["2026-02-15", "2026-02-19", "2026-02-23"] {
        assert!(!c.is_workday(d(off)).unwrap(), "{off}");
    }
    assert_eq!(c.add_workdays(d("2026-02-12"), 5).unwrap(), d("2026-02-26"));
    assert!(
        c.is_workday(d("2026-02-28")).unwrap(),
        "Saturday worked after"
    );
}

#[test]
fn national_day_2025_with_mid_autumn_and_its_makeup_days() {
    let c = official();
    // 28 September (Sunday) and 11 October (Saturday) are worked; 1–8 October are off.
    assert!(c.is_workday(d("2025-09-28")).unwrap());
    assert!(!c.is_workday(d("2025-10-06")).unwrap(), "中秋节");
    assert!(!c.is_workday(d("2025-10-08")).unwrap());
    assert!(c.is_workday(d("2025-10-11")).unwrap());
    assert!(
        !c.is_workday(d("2025-10-12")).unwrap(),
        "an ordinary Sunday"
    );
    let due = c.add_workdays(d("2025-09-26"), 5).unwrap();
    assert_eq!(due, d("2025-10-10"));
    // 督办 three working days later: the make-up Saturday counts.
    assert_eq!(c.add_workdays(due, 3).unwrap(), d("2025-10-14"));
}

#[test]
fn a_weekend_makeup_workday_counts_and_an_ordinary_weekend_does_not() {
    let c = official();
    // 2024: Saturday 11 May worked for 劳动节; Saturday 18 May not.
    assert!(c.is_workday(d("2024-05-11")).unwrap());
    assert!(!c.is_workday(d("2024-05-18")).unwrap());
    assert_eq!(c.add_workdays(d("2024-05-10"), 1).unwrap(), d("2024-05-11"));
    assert_eq!(c.add_workdays(d("2024-05-17"), 1).unwrap(), d("2024-05-20"));
    assert_eq!(c.add_workdays(d("2024-05-17"), 0).unwrap(), d("2024-05-17"));
}

#[test]
fn due_at_is_six_in_the_evening_shanghai_counted_from_the_shanghai_day() {
    let c = official();
    // 01:00 on Friday 26 September in Shanghai is still the 25th in UTC.
    let delivered = Shanghai
        .with_ymd_and_hms(2025, 9, 26, 1, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let due = c.due_at(delivered, 5).unwrap();
    assert_eq!(
        due,
        Shanghai
            .with_ymd_and_hms(2025, 10, 10, 18, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    );
    assert_eq!(due, Utc.with_ymd_and_hms(2025, 10, 10, 10, 0, 0).unwrap());
}

#[test]
fn running_past_the_covered_years_is_an_error_not_a_guess() {
    let c = official();
    let e = c.add_workdays(d("2026-12-28"), 5).unwrap_err();
    assert_eq!(e.date, d("2027-01-01"));
    assert_eq!(e.through, d("2026-12-31"));
    assert!(e.to_string().contains("[calendar] extra"), "{e}");
    assert!(c.is_workday(d("2021-12-31")).is_err());
    assert_eq!(c.add_workdays(d("2026-12-28"), 3).unwrap(), d("2026-12-31"));
}

#[test]
fn the_coverage_note_speaks_when_less_than_sixty_days_are_left() {
    let c = official();
    assert_eq!(c.coverage_note(d("2026-11-01")), None);
    let note = c.coverage_note(d("2026-11-02")).expect("59 days left");
    assert!(
        note.contains("2026-12-31") && note.contains("2027"),
        "{note}"
    );
}

#[test]
fn an_operator_file_adds_a_year() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("2027.csv");
    std::fs::write(
        &path,
        "\u{feff}date,kind,name\r\n2027-01-01,holiday,元旦\r\n2027-02-06,workday,春节\r\n",
    )
    .unwrap();
    let c = Calendar::load(Some(&path)).unwrap();
    assert_eq!(c.covered_through(), d("2027-12-31"));
    assert!(!c.is_workday(d("2027-01-01")).unwrap());
    assert!(c.is_workday(d("2027-02-06")).unwrap());
    assert_eq!(c.add_workdays(d("2026-12-31"), 1).unwrap(), d("2027-01-04"));
    assert_eq!(c.coverage_note(d("2026-12-03")), None);
}

#[test]
fn a_bad_operator_file_is_refused_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("extra.csv");
    std::fs::write(
        &path,
        "date,kind,name\n2027-13-01,holiday,元旦\n2027-01-04,off,x\n2027-01-05,workday,春节\n2027-01-01,holiday,\n2027-01-01,holiday,元旦\n",
    )
    .unwrap();
    let problems = Calendar::load(Some(&path)).unwrap_err();
    let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let want = [
        (2, "A", "2027-13-01"),
        (3, "B", "off"),
        (4, "A", "周六或周日"),
        (5, "C", "名称"),
        (6, "A", "重复"),
    ];
    assert_eq!(problems.len(), want.len(), "{shown:#?}");
    for (p, (line, col, text)) in problems.iter().zip(want) {
        assert_eq!((p.line, p.column), (line, col), "{p}");
        assert!(p.message.contains(text), "{p}");
        assert!(
            p.to_string().starts_with(&path.display().to_string()),
            "{p}"
        );
    }

    std::fs::write(&path, "date,kind\n").unwrap();
    let problems = Calendar::load(Some(&path)).unwrap_err();
    assert_eq!((problems[0].line, problems[0].column), (1, ""));

    std::fs::write(&path, "date,kind,name\n2026-10-09,holiday,国庆节\n").unwrap();
    let problems = Calendar::load(Some(&path)).unwrap_err();
    assert!(problems[0].message.contains("已内置"), "{problems:?}");
    assert_eq!(problems[0].line, 2);

    std::fs::write(&path, "date,kind,name\n2028-01-01,holiday,元旦\n").unwrap();
    let problems = Calendar::load(Some(&path)).unwrap_err();
    assert!(problems[0].message.contains("2027"), "{problems:?}");

    let cfg = CalendarConfig {
        extra: Some(dir.path().join("missing.csv")),
    };
    let keys = cfg.problems();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].0, "calendar.extra");
}
