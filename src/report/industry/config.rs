//! `[industry]`: how many leading divisions the report sums (主导行业), and the groupings of
//! industries the city follows (高技术制造业, 装备制造业, 六大高耗能行业 …), each a list of GB/T
//! 4754-2017 codes of 2–4 digits. An enterprise belongs to a group when its code starts with one
//! of the group's codes, so a group can be defined by 大类 (`"26"`), 中类 (`"374"`) or 小类
//! (`"3562"`).
//!
//! ```toml
//! [industry]
//! leading = 5
//! [[industry.groups]]
//! name = "六大高耗能行业"
//! codes = ["25", "26", "30", "31", "32", "44"]
//! ```
//!
//! Without `groups` the three national groupings below apply; a `groups` list replaces them.

use std::collections::HashSet;

use serde::Deserialize;

use super::classification::group_code;

/// The `[industry]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IndustryConfig {
    /// The leading industries are the this many divisions with the largest output (主导行业).
    pub leading: usize,
    pub groups: Vec<GroupConfig>,
}

/// One grouping of industries.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub name: String,
    /// GB/T 4754-2017 codes of 2–4 digits (a section letter in front is allowed: `C2664`).
    pub codes: Vec<String>,
}

impl Default for IndustryConfig {
    fn default() -> IndustryConfig {
        IndustryConfig {
            leading: 5,
            groups: default_groups(),
        }
    }
}

/// 六大高耗能行业 (国家统计局): 石油煤炭及其他燃料加工, 化学原料和化学制品, 非金属矿物制品, 黑色
/// 金属冶炼和压延加工, 有色金属冶炼和压延加工, 电力热力生产和供应.
pub const HIGH_ENERGY: [&str; 6] = ["25", "26", "30", "31", "32", "44"];

/// 装备制造业: divisions 33–40 (金属制品 … 仪器仪表).
pub const EQUIPMENT: [&str; 8] = ["33", "34", "35", "36", "37", "38", "39", "40"];

/// 高技术制造业 after 《高技术产业（制造业）分类（2017）》 (国家统计局), written from the published
/// table as best known — check it against the city statistics bureau's list before relying on
/// it: 医药制造 27; 航空、航天器及设备制造 374, 4343 (航空航天器修理); 电子及通信设备制造 3562,
/// 3563, 3569 (电子工业专用设备), 3832, 3833 (光纤、光缆), 3841 (锂离子电池) and 392–399, which
/// with 计算机制造 391 make up all of 39; 计算机及办公设备制造 391, 3474, 3475; 医疗仪器设备及仪器
/// 仪表制造 358, 401, 402, 404, 409; 信息化学品制造 2664, 2665.
pub const HIGH_TECH: [&str; 19] = [
    "27", "374", "4343", "3562", "3563", "3569", "3832", "3833", "3841", "39", "3474", "3475",
    "358", "401", "402", "404", "409", "2664", "2665",
];

/// The national groupings: 高技术制造业, 装备制造业, 六大高耗能行业.
pub fn default_groups() -> Vec<GroupConfig> {
    let group = |name: &str, codes: &[&str]| GroupConfig {
        name: name.into(),
        codes: codes.iter().map(|c| c.to_string()).collect(),
    };
    vec![
        group("高技术制造业", &HIGH_TECH),
        group("装备制造业", &EQUIPMENT),
        group("六大高耗能行业", &HIGH_ENERGY),
    ]
}

impl IndustryConfig {
    /// Every problem as (key, message): a group without a name or codes, a name used twice, a
    /// code that is not an industrial code of 2–4 digits.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.leading == 0 {
            out.push((
                "industry.leading".into(),
                "应为正整数 (must be at least 1)".into(),
            ));
        }
        let mut names = HashSet::new();
        for (i, g) in self.groups.iter().enumerate() {
            let key = format!("industry.groups[{i}]");
            if g.name.trim().is_empty() {
                out.push((format!("{key}.name"), "不能为空 (must not be empty)".into()));
            } else if !names.insert(g.name.trim()) {
                out.push((
                    format!("{key}.name"),
                    format!("行业分组“{}”重复 (duplicate group name)", g.name),
                ));
            }
            if g.codes.is_empty() {
                out.push((
                    format!("{key}.codes"),
                    "至少写一个行业代码 (list at least one code)".into(),
                ));
            }
            for (j, c) in g.codes.iter().enumerate() {
                if let Err(e) = group_code(c) {
                    out.push((format!("{key}.codes[{j}]"), e));
                }
            }
        }
        out
    }

    /// Each group's codes as digits (codes that fail [`IndustryConfig::problems`] left out).
    pub fn prefixes(&self) -> Vec<Vec<String>> {
        self.groups
            .iter()
            .map(|g| g.codes.iter().filter_map(|c| group_code(c).ok()).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_groups_are_valid_codes() {
        let cfg = IndustryConfig::default();
        assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
        assert_eq!(cfg.groups.len(), 3);
        assert_eq!(cfg.prefixes()[2], HIGH_ENERGY.map(String::from).to_vec());
    }

    #[test]
    fn malformed_codes_are_problems_named_by_their_key() {
        let cfg: IndustryConfig = toml::from_str(
            r#"
            leading = 0
            [[groups]]
            name = "特色产业"
            codes = ["30", "3O11", "5111"]
            [[groups]]
            name = "特色产业"
            codes = []
            "#,
        )
        .unwrap();
        let problems = cfg.problems();
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "industry.leading",
                "industry.groups[0].codes[1]",
                "industry.groups[0].codes[2]",
                "industry.groups[1].name",
                "industry.groups[1].codes",
            ]
        );
    }

    #[test]
    fn check_config_names_the_key_of_a_malformed_code_or_an_unknown_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("indmon.toml");
        std::fs::write(
            &path,
            "[industry]\n[[industry.groups]]\nname = \"特色\"\ncodes = [\"26\", \"C26O\"]\n",
        )
        .unwrap();
        let cfg = crate::config::Config::load(&path).unwrap();
        let keys: Vec<String> = cfg.validate().into_iter().map(|p| p.key).collect();
        assert!(
            keys.contains(&"industry.groups[0].codes[1]".to_string()),
            "{keys:?}"
        );
        std::fs::write(&path, "[industry]\ntop = 5\n").unwrap();
        let problems = crate::config::Config::load_all(&path).unwrap_err();
        assert!(
            problems.iter().any(|p| p.to_string().contains("top")),
            "{problems:?}"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<IndustryConfig, _> = toml::from_str("top = 5");
        assert!(r.is_err());
    }
}
