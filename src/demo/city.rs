//! The made-up city: its units, industries, targets, and how an enterprise index becomes a
//! unique name and a valid credit code.

use crate::credit_code::CreditCode;

/// A unit of the synthetic city and how its economy behaves this year.
pub struct UnitSpec {
    pub code: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub parent: &'static str,
    /// Short place name used in enterprise names and project names.
    pub place: &'static str,
    /// Share of the city's enterprises that report under it (0 = not a reporting unit).
    pub weight: u32,
    /// Its enterprises' output ytd growth in the last period, in percent (calibrated).
    pub growth: f64,
    /// Its `value_added_growth` target this year, in percent.
    pub target: f64,
}

/// The city, eight districts and counties, four zones. Five districts lag their targets by
/// 0.5 to 4 points (blue to red), four reporting units beat them; the city lands near 6%.
pub const UNITS: &[UnitSpec] = &[
    u("3399", "云州市", "city", "", "云州", 0, 0.0, 7.0),
    u("339902", "东岭区", "district", "3399", "东岭", 14, 8.2, 7.5),
    u("339903", "西湖区", "district", "3399", "西湖", 12, 7.4, 7.0),
    u("339904", "南港区", "district", "3399", "南港", 10, 3.5, 7.0),
    u("339921", "北山县", "district", "3399", "北山", 9, 5.6, 6.5),
    u("339922", "清河县", "district", "3399", "清河", 8, 2.0, 6.0),
    u("339923", "青石县", "district", "3399", "青石", 8, 7.2, 7.0),
    u("339981", "临江市", "district", "3399", "临江", 12, 5.2, 8.0),
    u("339982", "安平市", "district", "3399", "安平", 9, 6.5, 6.0),
    u(
        "ZQ01",
        "云州高新技术产业开发区",
        "zone",
        "3399",
        "高新",
        8,
        10.0,
        9.0,
    ),
    u(
        "ZQ02",
        "云州经济技术开发区",
        "zone",
        "3399",
        "经开",
        0,
        0.0,
        8.0,
    ),
    u(
        "ZQ03",
        "东岭工业集中区",
        "zone",
        "339902",
        "东岭",
        0,
        0.0,
        8.5,
    ),
    u(
        "ZQ04",
        "临江工业园区",
        "zone",
        "339981",
        "临江",
        0,
        0.0,
        8.0,
    ),
];

#[allow(clippy::too_many_arguments)]
const fn u(
    code: &'static str,
    name: &'static str,
    kind: &'static str,
    parent: &'static str,
    place: &'static str,
    weight: u32,
    growth: f64,
    target: f64,
) -> UnitSpec {
    UnitSpec {
        code,
        name,
        kind,
        parent,
        place,
        weight,
        growth,
        target,
    }
}

/// Index of the city in [`UNITS`].
pub const CITY: usize = 0;
/// Index of 经开区, a zone some enterprises of every district also count in.
pub const ZONE_ALL: usize = 10;
/// (district, zone): a zone that part of one district's enterprises also count in.
pub const ZONE_OF: &[(usize, usize)] = &[(1, 11), (7, 12)];

/// An industry (GB/T 4754-2017 class) as the generator uses it.
pub struct Industry {
    pub code: &'static str,
    /// The word in a company name (…化工有限公司).
    pub word: &'static str,
    pub weight: u32,
    /// Electricity per output, 万千瓦时 per 万元.
    pub intensity: f64,
}

const fn ind(code: &'static str, word: &'static str, weight: u32, intensity: f64) -> Industry {
    Industry {
        code,
        word,
        weight,
        intensity,
    }
}

/// Industries of sections B–D with their weights in the city.
pub const INDUSTRIES: &[Industry] = &[
    ind("B0610", "煤业", 2, 0.12),
    ind("B1011", "矿业", 2, 0.10),
    ind("C1311", "粮油", 4, 0.02),
    ind("C1440", "乳业", 2, 0.03),
    ind("C1512", "酒业", 2, 0.02),
    ind("C1711", "纺织", 6, 0.08),
    ind("C1810", "服饰", 4, 0.02),
    ind("C2031", "木业", 2, 0.04),
    ind("C2221", "纸业", 2, 0.12),
    ind("C2511", "石化", 1, 0.05),
    ind("C2614", "化工", 6, 0.15),
    ind("C2710", "药业", 4, 0.04),
    ind("C2927", "塑业", 4, 0.06),
    ind("C3011", "水泥", 3, 0.30),
    ind("C3021", "建材", 5, 0.05),
    ind("C3120", "钢铁", 2, 0.20),
    ind("C3216", "铝业", 1, 0.60),
    ind("C3311", "金属制品", 5, 0.04),
    ind("C3411", "机械", 8, 0.03),
    ind("C3670", "汽车零部件", 6, 0.03),
    ind("C3841", "电池", 3, 0.04),
    ind("C3982", "电子", 5, 0.03),
    ind("D4411", "电力", 1, 0.08),
    ind("D4610", "水务", 1, 0.10),
];

/// Index of the refinery industry, used for the planned maintenance (停产检修).
pub const REFINERY: usize = 9;

const FIRST: [char; 40] = [
    '华', '恒', '金', '鑫', '宏', '永', '泰', '盛', '丰', '瑞', '隆', '安', '联', '润', '德', '鸿',
    '嘉', '富', '新', '远', '祥', '振', '通', '源', '顺', '亿', '利', '正', '天', '宝', '锦', '中',
    '凯', '建', '昌', '伟', '万', '星', '龙', '银',
];
const SECOND: [char; 40] = [
    '泰', '达', '通', '源', '盛', '兴', '业', '昌', '荣', '丰', '祥', '瑞', '华', '利', '茂', '发',
    '鑫', '康', '信', '诚', '宇', '辉', '光', '明', '晟', '峰', '科', '海', '邦', '力', '创', '威',
    '美', '特', '远', '佳', '汇', '基', '阳', '博',
];
const THIRD: [char; 40] = [
    '实', '新', '达', '宏', '远', '星', '泰', '和', '顺', '福', '强', '力', '成', '旺', '盈', '嘉',
    '腾', '豪', '卓', '越', '精', '工', '凯', '尚', '诺', '恩', '润', '菱', '驰', '晶', '川', '岳',
    '峻', '奥', '普', '航', '昊', '炬', '铭', '拓',
];
const SUFFIX: [&str; 5] = [
    "有限公司",
    "股份有限公司",
    "集团有限公司",
    "实业有限公司",
    "科技有限公司",
];
/// Places used as name prefixes (the city and the districts).
const PLACES: [&str; 9] = [
    "云州", "东岭", "西湖", "南港", "北山", "清河", "青石", "临江", "安平",
];

/// Names with a two-character trade name (字号) cover this many enterprises; beyond, three.
const TWO_CHAR_SPACE: u64 = (PLACES.len() * 40 * 40 * SUFFIX.len()) as u64;
const THREE_CHAR_SPACE: u64 = TWO_CHAR_SPACE * 40;
/// A multiplier coprime to both spaces, so that index → name slot is a bijection.
const NAME_STEP: u64 = 7_919;

/// The unique name of enterprise `index` among `total`: place + 字号 + industry word + suffix.
/// Distinct indices get distinct (place, 字号, suffix) slots, and no suffix ends an industry
/// word, so names never collide.
pub fn enterprise_name(seed: u64, index: u64, total: u64, industry: &Industry) -> String {
    let space = if total <= TWO_CHAR_SPACE {
        TWO_CHAR_SPACE
    } else {
        THREE_CHAR_SPACE
    };
    let mut slot = (index.wrapping_mul(NAME_STEP) % space + seed % space) % space;
    let mut take = |n: u64| {
        let d = slot % n;
        slot /= n;
        d as usize
    };
    let place = PLACES[take(PLACES.len() as u64)];
    let suffix = SUFFIX[take(SUFFIX.len() as u64)];
    let mut name = String::with_capacity(40);
    name.push_str(place);
    name.push(FIRST[take(40)]);
    name.push(SECOND[take(40)]);
    if space == THREE_CHAR_SPACE {
        name.push(THIRD[take(40)]);
    }
    name.push_str(industry.word);
    name.push_str(suffix);
    name
}

const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// 31^9, the number of organisation-code parts.
const ORG_SPACE: u64 = 26_439_622_160_671;
/// A multiplier coprime to 31, so that index → organisation code is a bijection.
const ORG_STEP: u128 = 7_316_028_913_589;

/// A valid credit code for enterprise `index`: `91` (企业), the district's six-digit code,
/// nine characters that are a bijection of the index, and the GB 32100 check character.
pub fn credit_code(seed: u64, index: u64, region: &str) -> Option<CreditCode> {
    let space = u128::from(ORG_SPACE);
    let mut v = ((u128::from(index) * ORG_STEP + u128::from(super::rng::mix(seed))) % space) as u64;
    let mut org = [b'0'; 9];
    for c in org.iter_mut().rev() {
        *c = CHARSET[(v % 31) as usize];
        v /= 31;
    }
    let org = std::str::from_utf8(&org).ok()?;
    CreditCode::with_check(&format!("91{region}{org}"))
}

/// The six-digit region for a credit code: a district's own code, the city's for a zone.
pub fn region_of(unit: usize) -> &'static str {
    let c = UNITS[unit].code;
    if c.len() == 6 { c } else { "339901" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_codes_are_unique_and_valid() {
        for total in [765u64, 80_000] {
            let mut names = HashSet::new();
            let mut codes = HashSet::new();
            for i in 0..total {
                let ind = &INDUSTRIES[(i % INDUSTRIES.len() as u64) as usize];
                assert!(names.insert(enterprise_name(9, i, total, ind)), "{i}");
                let c = credit_code(9, i, "339902").unwrap();
                assert!(c.as_str().parse::<CreditCode>().is_ok());
                assert!(codes.insert(c), "{i}");
            }
        }
    }

    #[test]
    fn units_and_industries_are_importable() {
        for i in INDUSTRIES {
            assert!(
                crate::registry::check_industry_code(i.code).is_ok(),
                "{}",
                i.code
            );
        }
        assert_eq!(INDUSTRIES[REFINERY].code, "C2511");
        assert_eq!(UNITS[CITY].kind, "city");
        assert_eq!(UNITS[ZONE_ALL].kind, "zone");
        for (d, z) in ZONE_OF {
            assert_eq!(UNITS[*d].kind, "district");
            assert_eq!(UNITS[*z].parent, UNITS[*d].code);
        }
    }
}
