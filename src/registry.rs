//! The registry: reporting units, enterprises and targets, as validated values.

use crate::amount::Amount;
use crate::credit_code::CreditCode;
use crate::period::Period;

/// What kind of reporting area a unit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    City,
    District,
    Zone,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::City => "city",
            UnitKind::District => "district",
            UnitKind::Zone => "zone",
        }
    }

    /// Reads `city|district|zone` or the Chinese words officials use.
    pub fn parse(s: &str) -> Option<UnitKind> {
        match s.trim().to_lowercase().as_str() {
            "city" | "全市" | "市" | "市级" => Some(UnitKind::City),
            "district" | "county" | "县区" | "区" | "县" | "县级市" | "区县" => {
                Some(UnitKind::District)
            }
            "zone" | "park" | "园区" | "开发区" | "高新区" | "工业集中区" | "工业园区" => {
                Some(UnitKind::Zone)
            }
            _ => None,
        }
    }
}

/// A reporting area: the city, a district or county, or an industrial zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent: Option<String>,
}

/// Above or below the revenue threshold of 规模以上.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scale {
    Above,
    Below,
}

impl Scale {
    pub fn as_str(self) -> &'static str {
        match self {
            Scale::Above => "above",
            Scale::Below => "below",
        }
    }

    pub fn parse(s: &str) -> Option<Scale> {
        match s.trim().to_lowercase().as_str() {
            "above" | "规上" | "规模以上" | "是" => Some(Scale::Above),
            "below" | "规下" | "规模以下" | "否" => Some(Scale::Below),
            _ => None,
        }
    }
}

/// An enterprise as registered: where it reports, what it makes, who answers for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enterprise {
    pub credit_code: CreditCode,
    pub name: String,
    /// The unit it reports under: a district, or a zone reporting as a unit of its own.
    pub unit_code: String,
    /// A zone it also counts in.
    pub zone_code: Option<String>,
    /// GB/T 4754-2017 code within sections B–D (e.g. `C3011`, `3011`, `30`).
    pub industry_code: Option<String>,
    pub scale: Scale,
    pub key: bool,
    /// Id of the responsible official (包抓责任人).
    pub owner: Option<String>,
}

/// A growth or volume target for a unit and indicator in a year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub year: i32,
    pub unit_code: String,
    pub indicator: String,
    pub kind: TargetKind,
    /// Percent for growth targets (7.0 = 7%), an amount for volume targets.
    pub annual: Amount,
    pub milestones: Vec<Milestone>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    Growth,
    Volume,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Growth => "growth",
            TargetKind::Volume => "volume",
        }
    }

    pub fn parse(s: &str) -> Option<TargetKind> {
        match s.trim().to_lowercase().as_str() {
            "growth" | "增速" | "增长" => Some(TargetKind::Growth),
            "volume" | "总量" | "量" => Some(TargetKind::Volume),
            _ => None,
        }
    }
}

/// Where a key project (重点项目) stands: 谋划/储备 → 在建 → 竣工 → 投产.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectStatus {
    Planned,
    Started,
    Completed,
    Producing,
}

impl ProjectStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [ProjectStatus; 4] = [
        ProjectStatus::Planned,
        ProjectStatus::Started,
        ProjectStatus::Completed,
        ProjectStatus::Producing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Planned => "planned",
            ProjectStatus::Started => "started",
            ProjectStatus::Completed => "completed",
            ProjectStatus::Producing => "producing",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            ProjectStatus::Planned => "未开工",
            ProjectStatus::Started => "在建",
            ProjectStatus::Completed => "竣工未投产",
            ProjectStatus::Producing => "已投产",
        }
    }

    /// Reads `planned|started|completed|producing` or the words officials use.
    pub fn parse(s: &str) -> Option<ProjectStatus> {
        match s.trim().to_lowercase().as_str() {
            "planned" | "谋划" | "储备" | "谋划储备" | "未开工" | "拟开工" => {
                Some(ProjectStatus::Planned)
            }
            "started" | "在建" | "开工" | "已开工" | "新开工" | "续建" => {
                Some(ProjectStatus::Started)
            }
            "completed" | "竣工" | "建成" | "已竣工" | "建成未投产" | "竣工未投产" => {
                Some(ProjectStatus::Completed)
            }
            "producing" | "投产" | "已投产" | "建成投产" | "竣工投产" => {
                Some(ProjectStatus::Producing)
            }
            _ => None,
        }
    }
}

/// A key project (重点项目) as registered, with this year's investment plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub name: String,
    /// The district or zone it is in.
    pub unit_code: String,
    /// Id of the responsible official (责任单位/包抓领导), as for enterprises.
    pub owner: Option<String>,
    pub total_investment: Amount,
    /// This year's planned investment (年度计划投资); none when the plan names none.
    pub planned_year: Option<Amount>,
    pub planned_start: Option<Period>,
    pub planned_completion: Option<Period>,
    pub planned_production: Option<Period>,
    /// The status as registered; monthly progress reports supersede it.
    pub status: ProjectStatus,
}

/// One project's monthly progress report (项目进度月报). `None` is a blank cell or a column the
/// file did not have; `present` says which columns it had, so that an absent column keeps the
/// stored value and a blank cell clears it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectProgress {
    pub line: u64,
    pub project_id: String,
    pub period: Period,
    pub invested_month: Option<Amount>,
    pub invested_ytd: Option<Amount>,
    pub status: Option<ProjectStatus>,
    /// Whether the file had the `invested_month`, `invested_ytd` and `status` columns.
    pub present: [bool; 3],
}

/// Reads a planned month: a period (`2026-03`, `2026年3月`) or a date in it (`2026-03-15`).
pub fn parse_month(s: &str) -> Result<Period, String> {
    let t = s.trim();
    if let Ok(p) = t.parse::<Period>() {
        return Ok(p);
    }
    let date = t.trim_end_matches('日');
    for sep in ['-', '/', '.'] {
        if let Some((ym, day)) = date.rsplit_once(sep)
            && !day.is_empty()
            && day.len() <= 2
            && day.bytes().all(|b| b.is_ascii_digit())
            && let Ok(p) = ym.parse::<Period>()
        {
            return Ok(p);
        }
    }
    if let Some((ym, day)) = date.split_once('月')
        && day.bytes().all(|b| b.is_ascii_digit())
        && let Ok(p) = format!("{ym}月").parse::<Period>()
    {
        return Ok(p);
    }
    Err(format!(
        "“{s}”不是年月或日期，应写作 2026-03 或 2026-03-15 (expected a month or a date)"
    ))
}

/// A milestone: the growth expected by a month (`03:8.0`, ytd) or for the month itself (`m10:7.5`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Milestone {
    pub month: u32,
    pub monthly: bool,
    pub value: Amount,
}

/// Parses `03:8.0;06:7.5;m10:7.5`. Separators `;` `；` `,`; blank means none.
pub fn parse_milestones(s: &str) -> Result<Vec<Milestone>, String> {
    let mut out: Vec<Milestone> = Vec::new();
    for part in s
        .split([';', '；', ',', '，'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (m, v) = part.split_once([':', '：']).ok_or_else(|| {
            format!("节点目标“{part}”应写作 月:目标，如 06:7.5 (expected MM:value)")
        })?;
        let (monthly, m) = match m.trim().strip_prefix(['m', 'M']) {
            Some(rest) => (true, rest),
            None => (false, m.trim()),
        };
        let month: u32 = m
            .parse()
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(|| format!("节点目标“{part}”的月份无效 (month must be 01–12)"))?;
        let value: Amount = v
            .trim()
            .parse()
            .map_err(|e| format!("节点目标“{part}”：{e}"))?;
        if out.iter().any(|x| x.month == month && x.monthly == monthly) {
            return Err(format!(
                "节点目标重复了{month}月 (milestone month repeated)"
            ));
        }
        out.push(Milestone {
            month,
            monthly,
            value,
        });
    }
    out.sort_by_key(|m| (m.month, m.monthly));
    Ok(out)
}

/// Writes milestones back in their canonical text form.
pub fn format_milestones(ms: &[Milestone]) -> String {
    ms.iter()
        .map(|m| {
            format!(
                "{}{:02}:{}",
                if m.monthly { "m" } else { "" },
                m.month,
                m.value
            )
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Checks an industry code against GB/T 4754-2017 sections B–D (divisions 06–46): an optional
/// section letter, then 2–4 digits. Returns the code normalised to upper case.
pub fn check_industry_code(s: &str) -> Result<String, String> {
    let t = s.trim().to_ascii_uppercase();
    let (letter, digits) = match t.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => (Some(c), &t[1..]),
        _ => (None, t.as_str()),
    };
    if !(2..=4).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "行业代码“{s}”应为2–4位数字，可带门类字母，如 C3011 (GB/T 4754 code expected)"
        ));
    }
    let division: u32 = digits[..2].parse().unwrap_or(0);
    let section = match division {
        6..=12 => 'B',
        13..=43 => 'C',
        44..=46 => 'D',
        _ => {
            return Err(format!(
                "行业代码“{s}”不属于工业（采矿业B、制造业C、电力热力燃气及水生产和供应业D，大类06–46） (not an industrial division)"
            ));
        }
    };
    if let Some(l) = letter
        && l != section
    {
        return Err(format!(
            "行业代码“{s}”门类应为{section}，不是{l} (section letter does not match the division)"
        ));
    }
    Ok(t)
}

/// Reads a yes/no flag as officials write it.
pub fn parse_flag(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "" | "0" | "否" | "n" | "no" | "false" | "f" | "非" => Some(false),
        "1" | "是" | "y" | "yes" | "true" | "t" | "重点" => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milestones_round_trip() {
        let ms = parse_milestones("06:7.5；03:8.0;m10:7.5").unwrap();
        assert_eq!(ms.len(), 3);
        assert_eq!(
            ms[0],
            Milestone {
                month: 3,
                monthly: false,
                value: "8".parse().unwrap()
            }
        );
        assert!(ms[2].monthly);
        assert_eq!(format_milestones(&ms), "03:8;06:7.5;m10:7.5");
        assert!(parse_milestones("13:1").is_err());
        assert!(parse_milestones("03").is_err());
        assert!(parse_milestones("03:1;3:2").is_err());
        assert_eq!(parse_milestones("  ").unwrap(), vec![]);
    }

    #[test]
    fn project_statuses_and_planned_months_read_as_officials_write_them() {
        assert_eq!(ProjectStatus::parse("储备"), Some(ProjectStatus::Planned));
        assert_eq!(ProjectStatus::parse("在建"), Some(ProjectStatus::Started));
        assert_eq!(ProjectStatus::parse("建成"), Some(ProjectStatus::Completed));
        assert_eq!(ProjectStatus::parse("投产"), Some(ProjectStatus::Producing));
        assert_eq!(
            ProjectStatus::parse(" Started "),
            Some(ProjectStatus::Started)
        );
        assert_eq!(ProjectStatus::parse("停建"), None);
        let m = |s: &str| parse_month(s).map(|p| p.to_string());
        assert_eq!(m("2026-03").unwrap(), "2026-03");
        assert_eq!(m("2026-03-15").unwrap(), "2026-03");
        assert_eq!(m("2026/3/5").unwrap(), "2026-03");
        assert_eq!(m("2026年3月").unwrap(), "2026-03");
        assert_eq!(m("2026年3月15日").unwrap(), "2026-03");
        assert!(m("下半年").is_err());
    }

    #[test]
    fn industry_codes_are_industrial() {
        assert_eq!(check_industry_code("c3011").unwrap(), "C3011");
        assert_eq!(check_industry_code("06").unwrap(), "06");
        assert_eq!(check_industry_code("4611").unwrap(), "4611");
        assert!(
            check_industry_code("5111").is_err(),
            "wholesale is not industry"
        );
        assert!(check_industry_code("B3011").is_err(), "letter must match");
        assert!(check_industry_code("C30111").is_err());
        assert!(check_industry_code("05").is_err());
    }
}
