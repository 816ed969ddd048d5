//! `hotline generate`: a deterministic, Beijing-like synthetic archive in the canonical schema.
//!
//! Volume and category mix come from per-day category intensities (heating season, summer
//! noise and rain, wage arrears before Spring Festival, school places in spring, cold waves,
//! 每月一题 topics that bend their categories down after the topic month). Every ticket draws
//! from its own hash-seeded random stream, so the archive is identical whatever the thread count.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::parquet::arrow::ArrowWriter;
use rayon::prelude::*;

use crate::reference;
use crate::schema;

#[derive(Debug, Clone)]
pub struct Options {
    pub out: PathBuf,
    /// Tickets per year (all contacts), before the year-over-year growth trend.
    pub tickets_per_year: u64,
    pub years: Vec<i32>,
    pub seed: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub tickets: u64,
    pub dispatched: u64,
    pub files: usize,
    pub bytes: u64,
}

/// Parse `2025`, `2024-2025` or `2023,2025`.
pub fn parse_years(text: &str) -> Result<Vec<i32>, crate::error::UserError> {
    let bad = || {
        crate::error::usage(format!("invalid --years `{text}`"))
            .hint("use a year (2025), a range (2024-2025) or a list (2023,2025)")
    };
    let year = |s: &str| -> Result<i32, crate::error::UserError> {
        let y: i32 = s.trim().parse().map_err(|_| bad())?;
        if (2000..=2100).contains(&y) { Ok(y) } else { Err(bad()) }
    };
    let mut years: Vec<i32> = if let Some((a, b)) = text.split_once('-') {
        let (a, b) = (year(a)?, year(b)?);
        if a > b {
            return Err(bad());
        }
        (a..=b).collect()
    } else {
        text.split(',').map(year).collect::<Result<_, _>>()?
    };
    years.sort_unstable();
    years.dedup();
    if years.is_empty() || years.len() > 50 {
        return Err(bad());
    }
    Ok(years)
}

// ---------------------------------------------------------------------------------------------
// Random numbers: SplitMix64, one stream per ticket.

#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn for_key(parts: &[u64]) -> Self {
        let mut h = 0x9E37_79B9_7F4A_7C15u64;
        for p in parts {
            h = mix(h ^ p.wrapping_mul(0xA24B_AED4_963E_E407));
        }
        Rng(h)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }
    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u1 = self.f().max(1e-300);
        let u2 = self.f();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// Index drawn from cumulative weights.
    fn pick(&mut self, cumulative: &[f64]) -> usize {
        let total = *cumulative.last().expect("non-empty weights");
        let x = self.f() * total;
        cumulative.partition_point(|c| *c <= x).min(cumulative.len() - 1)
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn text_key(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .into_iter()
        .map(|w| {
            acc += w.max(0.0);
            acc
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The synthetic city.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Season {
    None,
    Heating,
    Summer,
    Rain,
    Wages,
    School,
}

struct Dept {
    name: &'static str,
    quality: f64,
}

/// Municipal departments and public-service enterprises (names as in official Beijing texts).
const DEPARTMENTS: &[&str] = &[
    "市城市管理委",
    "市规划自然资源委",
    "市住房城乡建设委",
    "市水务局",
    "市园林绿化局",
    "市交通委",
    "市公安局公安交通管理局",
    "市公安局",
    "市人力资源社会保障局",
    "市市场监管局",
    "市卫生健康委",
    "市教委",
    "市民政局",
    "市生态环境局",
    "市城管执法局",
    "市医保局",
    "市商务局",
    "市文化和旅游局",
    "市发展改革委",
    "市农业农村局",
    "市体育局",
    "市邮政管理局",
    "市司法局",
    "市应急管理局",
    "市科委、中关村管委会",
    "市国资委",
    "市委金融办",
    "市退役军人事务局",
    "市政务服务和数据管理局",
    "市通信管理局",
    "市热力集团",
    "市燃气集团",
    "国网北京市电力公司",
    "市自来水集团",
    "市排水集团",
    "北京公交集团",
    "北京市地铁运营有限公司",
    "中国移动北京公司",
    "中国联通北京市分公司",
    "中国电信北京分公司",
];

/// How a category behaves: (level-2 name, level-3 name or "*"), handling department,
/// share dispatched to that department (the rest go to the street office), volume weight,
/// season, difficulty (lowers resolution), utility (urgency class 水电气热).
struct Rule {
    l2: &'static str,
    l3: &'static str,
    dept: &'static str,
    dept_share: f64,
    weight: f64,
    season: Season,
    difficulty: f64,
    utility: bool,
}

const fn rule(l2: &'static str, l3: &'static str, dept: &'static str, dept_share: f64, weight: f64) -> Rule {
    Rule { l2, l3, dept, dept_share, weight, season: Season::None, difficulty: 0.0, utility: false }
}

const fn seasonal(r: Rule, season: Season) -> Rule {
    Rule { season, ..r }
}

const fn hard(r: Rule, difficulty: f64) -> Rule {
    Rule { difficulty, ..r }
}

const fn utility(r: Rule) -> Rule {
    Rule { utility: true, ..r }
}

/// First matching rule wins; `*` matches any level-3 name. Categories no rule names get
/// their department from [`level1_default`].
const RULES: &[Rule] = &[
    utility(seasonal(rule("城市建设和市政管理", "冬季采暖", "市热力集团", 0.85, 160.0), Season::Heating)),
    utility(rule("城市建设和市政管理", "燃气供应", "市燃气集团", 0.85, 6.0)),
    utility(rule("城市建设和市政管理", "电力供应", "国网北京市电力公司", 0.85, 8.0)),
    utility(rule("城市建设和市政管理", "自来水供应", "市自来水集团", 0.85, 7.0)),
    utility(seasonal(rule("城市建设和市政管理", "基础设施", "市排水集团", 0.6, 6.0), Season::Rain)),
    rule("城市建设和市政管理", "公共汽车", "北京公交集团", 0.9, 8.0),
    rule("城市建设和市政管理", "地铁城铁", "北京市地铁运营有限公司", 0.9, 5.0),
    rule("城市建设和市政管理", "园林绿化", "市园林绿化局", 0.5, 4.0),
    rule("城市建设和市政管理", "公园管理", "市园林绿化局", 0.7, 4.0),
    rule("城市建设和市政管理", "环境卫生", "市城市管理委", 0.2, 15.0),
    rule("城市建设和市政管理", "园林绿化环卫", "市城市管理委", 0.2, 6.0),
    hard(rule("城市建设和市政管理", "城管执法", "市城管执法局", 0.2, 20.0), 0.4),
    rule("城市建设和市政管理", "小区管理", "市住房城乡建设委", 0.1, 15.0),
    rule("城市建设和市政管理", "*", "市城市管理委", 0.15, 10.0),
    hard(rule("住房保障与房地产", "物业服务", "市住房城乡建设委", 0.15, 45.0), 0.6),
    hard(rule("住房保障与房地产", "房产证登记、办理", "市规划自然资源委", 0.6, 10.0), 1.2),
    rule("住房保障与房地产", "房屋租赁", "市住房城乡建设委", 0.4, 8.0),
    rule("住房保障与房地产", "*", "市住房城乡建设委", 0.4, 2.0),
    hard(rule("城乡规划", "违章建筑", "市城管执法局", 0.25, 12.0), 0.8),
    rule("城乡规划", "*", "市规划自然资源委", 0.5, 1.0),
    rule("安全生产", "*", "市应急管理局", 0.5, 2.0),
    hard(rule("工程质量", "*", "市住房城乡建设委", 0.4, 2.0), 0.5),
    hard(rule("建筑市场", "拖欠工程款", "市住房城乡建设委", 0.5, 4.0), 1.0),
    rule("建筑市场", "*", "市住房城乡建设委", 0.5, 1.0),
    hard(rule("国有土地上房屋征收与补偿", "*", "市住房城乡建设委", 0.5, 1.0), 1.0),
    hard(rule("集体土地上房屋拆迁与补偿", "*", "市住房城乡建设委", 0.5, 0.8), 1.0),
    rule("村镇建设", "*", "市农业农村局", 0.4, 1.0),
    rule("邮政管理", "快递市场管理", "市邮政管理局", 0.8, 6.0),
    rule("出租车管理", "网约车问题", "市交通委", 0.8, 5.0),
    rule("交通管理", "交通安全管理", "市公安局公安交通管理局", 0.6, 12.0),
    rule("交通管理", "*", "市公安局公安交通管理局", 0.6, 3.0),
    rule("户籍证件", "户籍管理", "市公安局", 0.7, 10.0),
    rule("户籍证件", "*", "市公安局", 0.7, 3.0),
    rule("社会治安", "*", "市公安局", 0.5, 1.5),
    rule("法律服务", "*", "市司法局", 0.7, 1.5),
    rule("仲裁与调解", "*", "市司法局", 0.6, 1.0),
    hard(seasonal(rule("工资福利", "工资发放", "市人力资源社会保障局", 0.5, 12.0), Season::Wages), 1.0),
    hard(seasonal(rule("劳动关系", "农民工权益", "市人力资源社会保障局", 0.5, 4.0), Season::Wages), 1.0),
    hard(rule("劳动关系", "劳动合同纠纷", "市人力资源社会保障局", 0.5, 6.0), 0.7),
    rule("就业培训", "就业和再就业", "市人力资源社会保障局", 0.6, 5.0),
    rule("城镇职工社会保险", "职工医疗保险", "市医保局", 0.7, 8.0),
    rule("城镇居民社会保险", "城镇居民医疗保险", "市医保局", 0.7, 4.0),
];

/// Department and weight for categories no rule names, by level-1 class.
fn level1_default(l1: &str, l2: &str) -> (&'static str, f64, Season) {
    match l1 {
        "交通运输" => ("市交通委", 1.5, Season::None),
        "劳动和社会保障" => ("市人力资源社会保障局", 1.5, Season::None),
        "卫生计生" if l2 == "食品药品监管" => ("市市场监管局", 2.5, Season::Summer),
        "卫生计生" => ("市卫生健康委", 2.5, Season::None),
        "商贸旅游" if l2 == "旅游管理" => ("市文化和旅游局", 2.0, Season::Summer),
        "商贸旅游" if l2 == "商业贸易" => ("市商务局", 1.0, Season::None),
        "商贸旅游" => ("市市场监管局", 4.0, Season::None),
        "环境保护" => ("市生态环境局", 2.0, Season::Summer),
        "教育文体" if l2 == "体育" => ("市体育局", 1.0, Season::None),
        "教育文体" if l2 == "文化" || l2 == "文物管理" => ("市文化和旅游局", 0.8, Season::None),
        "教育文体" => ("市教委", 2.0, Season::School),
        "民政" if l2 == "优抚" || l2 == "复退安置" => ("市退役军人事务局", 0.8, Season::None),
        "民政" => ("市民政局", 2.0, Season::None),
        "科技与信息产业" if l2 == "电信" => ("中国移动北京公司", 3.0, Season::None),
        "科技与信息产业" => ("市科委、中关村管委会", 0.5, Season::None),
        "经济管理" if l2 == "金融财税" || l2 == "保险证券期货" => ("市委金融办", 1.5, Season::None),
        "经济管理" if l2 == "国资监管" || l2 == "企业破产" => ("市国资委", 0.5, Season::None),
        "经济管理" if l2 == "安全生产" => ("市应急管理局", 1.0, Season::None),
        "经济管理" => ("市发展改革委", 0.8, Season::None),
        "国土资源" => ("市规划自然资源委", 0.8, Season::None),
        "农村农业" if l2 == "林业管理" => ("市园林绿化局", 0.5, Season::None),
        "农村农业" if l2 == "水利水电" => ("市水务局", 0.8, Season::Rain),
        "农村农业" => ("市农业农村局", 0.5, Season::None),
        "政法" => ("市公安局", 0.8, Season::None),
        "党务政务" | "纪检监察" => ("市政务服务和数据管理局", 0.3, Season::None),
        _ => ("市政务服务和数据管理局", 1.0, Season::None),
    }
}

/// 每月一题 topics bent into the generator's trends: (year, topic month, level-3 categories).
/// After the topic month a category's volume falls by up to 25% over six months and its
/// resolution improves (see docs and ../shared/meiyueyiti.md for the measured effects).
const TOPICS: &[(i32, u32, &[&str])] = &[
    (2024, 4, &["物业服务"]),
    (2024, 6, &["大气污染"]),
    (2024, 9, &["快递市场管理"]),
    (2025, 3, &["劳动合同纠纷", "职工工伤保险"]),
    (2025, 5, &["医疗技术和服务"]),
    (2025, 7, &["施工安全"]),
];

struct Cat {
    l1: String,
    l2: String,
    l3: String,
    dept: usize,
    dept_share: f64,
    weight: f64,
    season: Season,
    difficulty: f64,
    utility: bool,
    /// (year, first day of the topic month) when this category is a 每月一题 topic.
    topics: Vec<NaiveDate>,
}

struct StreetUnit {
    name: String,
    office: usize,
}

struct World {
    districts: Vec<reference::District>,
    district_quality: Vec<f64>,
    /// Per district: cumulative street weights and the street indices.
    district_streets: Vec<(Vec<f64>, Vec<usize>)>,
    district_cumulative: Vec<f64>,
    streets: Vec<StreetUnit>,
    depts: Vec<Dept>,
    cats: Vec<Cat>,
}

fn quality(seed: u64, name: &str) -> f64 {
    Rng::for_key(&[seed, text_key(name), 7]).normal()
}

fn build_world(seed: u64) -> World {
    let districts = reference::districts();
    let per_capita = |kind: &str| match kind {
        "core" => 1.35,
        "central" => 1.1,
        "new-development" => 0.95,
        _ => 0.8,
    };
    let district_weights: Vec<f64> = districts.iter().map(|d| d.population as f64 * per_capita(&d.kind)).collect();
    let district_quality = districts.iter().map(|d| quality(seed, &d.name)).collect();

    let mut depts: Vec<Dept> = DEPARTMENTS.iter().map(|n| Dept { name: n, quality: quality(seed, n) }).collect();
    let mut streets = Vec::new();
    let mut district_streets = vec![(Vec::new(), Vec::new()); districts.len()];
    let mut weights: Vec<Vec<f64>> = vec![Vec::new(); districts.len()];
    for s in reference::streets() {
        let d = districts.iter().position(|d| d.name == s.district).expect("street's district exists");
        let office: &'static str = Box::leak(
            if s.kind == "街道" { format!("{}办事处", s.name) } else { format!("{}人民政府", s.name) }.into_boxed_str(),
        );
        depts.push(Dept { name: office, quality: quality(seed, office) });
        // Urban streets are denser than townships.
        let base = if s.kind == "街道" { 1.4 } else { 0.7 };
        let w = base * (0.5 + Rng::for_key(&[seed, text_key(&s.district), text_key(&s.name), 3]).f());
        weights[d].push(w);
        district_streets[d].1.push(streets.len());
        streets.push(StreetUnit { name: s.name, office: depts.len() - 1 });
    }
    for (d, w) in weights.into_iter().enumerate() {
        district_streets[d].0 = cumulative(w);
    }

    let dept_index: HashMap<&str, usize> = depts.iter().enumerate().map(|(i, d)| (d.name, i)).collect();
    let cats = reference::categories()
        .into_iter()
        .map(|c| {
            let r = RULES.iter().find(|r| r.l2 == c.l2 && (r.l3 == c.l3 || r.l3 == "*"));
            let (dept, dept_share, mut weight, season, difficulty, utility) = match r {
                Some(r) => (r.dept, r.dept_share, r.weight, r.season, r.difficulty, r.utility),
                None => {
                    let (dept, w, season) = level1_default(&c.l1, &c.l2);
                    (dept, 0.45, w, season, 0.2, false)
                }
            };
            if c.l3 == "其他" {
                weight *= 0.15;
            }
            if c.l3 == "噪音污染" {
                weight = 25.0;
            }
            if c.l3 == "大气污染" {
                weight = 8.0;
            }
            let mut weight = weight * (0.6 + 0.8 * Rng::for_key(&[seed, text_key(&c.l3), text_key(&c.l2)]).f());
            if c.l1 == "党务政务" || c.l1 == "纪检监察" {
                weight *= 0.5;
            }
            let topics = TOPICS
                .iter()
                .filter(|(_, _, l3s)| l3s.contains(&c.l3.as_str()))
                .map(|(y, m, _)| NaiveDate::from_ymd_opt(*y, *m, 1).expect("topic month"))
                .collect();
            Cat {
                dept: dept_index[dept],
                dept_share,
                weight,
                season,
                difficulty,
                utility,
                topics,
                l1: c.l1,
                l2: c.l2,
                l3: c.l3,
            }
        })
        .collect();
    let district_cumulative = cumulative(district_weights);
    World { districts, district_quality, district_streets, district_cumulative, streets, depts, cats }
}

/// Spring Festival (春节) dates, for the holiday dip and the wage-arrears peak before it.
fn spring_festival(year: i32) -> NaiveDate {
    let (m, d) = match year {
        2019 => (2, 5),
        2020 => (1, 25),
        2021 => (2, 12),
        2022 => (2, 1),
        2023 => (1, 22),
        2024 => (2, 10),
        2025 => (1, 29),
        2026 => (2, 17),
        2027 => (2, 6),
        2028 => (1, 26),
        _ => (2, 5),
    };
    NaiveDate::from_ymd_opt(year, m, d).expect("festival date")
}

fn season_factor(season: Season, day: NaiveDate, cold_wave: bool) -> f64 {
    let (m, d) = (day.month(), day.day());
    let md = m * 100 + d;
    match season {
        Season::None => 1.0,
        Season::Heating => {
            let base = if (1107..=1114).contains(&md) {
                0.5
            } else if (1115..=1130).contains(&md) {
                1.8 // complaints spike in the first weeks of the season
            } else if md >= 1201 || md <= 315 {
                1.0
            } else {
                0.04
            };
            if cold_wave && base >= 1.0 { base * 2.2 } else { base }
        }
        Season::Summer => match m {
            6..=8 => 1.6,
            5 | 9 => 1.2,
            _ => 0.75,
        },
        Season::Rain => {
            if (710..=820).contains(&md) {
                4.0
            } else if m == 6 || m == 9 {
                1.4
            } else {
                0.7
            }
        }
        Season::Wages => {
            let festival = spring_festival(day.year());
            let before = (festival - day).num_days();
            let next = (spring_festival(day.year() + 1) - day).num_days();
            if (0..=40).contains(&before) || (0..=40).contains(&next) { 3.0 } else { 0.85 }
        }
        Season::School => match m {
            3 | 6 => 2.0,
            4 | 5 => 3.0,
            8 => 1.5,
            _ => 0.6,
        },
    }
}

/// Volume multiplier of a 每月一题 topic category on `day`, and the resolution boost.
fn topic_effect(cat: &Cat, day: NaiveDate) -> (f64, f64) {
    let mut volume = 1.0;
    let mut boost = 0.0;
    for start in &cat.topics {
        let days = (day - *start).num_days();
        if days >= 0 {
            let progress = (days as f64 / 180.0).min(1.0);
            volume *= 1.0 - 0.25 * progress;
            boost += 0.8 * progress;
        }
    }
    (volume, boost)
}

const HOURS: [f64; 24] = [
    0.4, 0.25, 0.15, 0.1, 0.1, 0.2, 0.6, 1.5, 3.2, 5.2, 5.8, 5.4, 3.8, 3.6, 5.0, 5.4, 5.0, 4.0, 3.0, 2.6, 2.3, 2.0,
    1.4, 0.8,
];

/// Per-day tables of one year: day intensity and cumulative category weights.
struct YearPlan {
    year: i32,
    days: Vec<NaiveDate>,
    intensity: Vec<f64>,
    cat_cumulative: Vec<Vec<f64>>,
}

fn plan_year(world: &World, seed: u64, year: i32) -> YearPlan {
    let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("year start");
    let n = NaiveDate::from_ymd_opt(year + 1, 1, 1).expect("year end").signed_duration_since(first).num_days();
    let days: Vec<NaiveDate> = (0..n).map(|i| first + Duration::days(i)).collect();
    // Three cold waves per winter, three days each, on seeded dates in Dec–Feb.
    let mut cold = vec![false; days.len()];
    let mut rng = Rng::for_key(&[seed, year as u64, 11]);
    for _ in 0..3 {
        let start = if rng.chance(0.5) { 335 + rng.below(25) } else { rng.below(55) } as usize;
        cold.iter_mut().skip(start).take(3).for_each(|c| *c = true);
    }
    let festival = spring_festival(year);
    let mut intensity = Vec::with_capacity(days.len());
    let mut cat_cumulative = Vec::with_capacity(days.len());
    for (k, day) in days.iter().enumerate() {
        let weights: Vec<f64> = world
            .cats
            .iter()
            .map(|c| c.weight * season_factor(c.season, *day, cold[k]) * topic_effect(c, *day).0)
            .collect();
        let total: f64 = weights.iter().sum();
        let dow = match day.weekday() {
            Weekday::Sat => 0.72,
            Weekday::Sun => 0.68,
            _ => 1.0,
        };
        let holiday = if (0..7).contains(&(*day - festival).num_days()) { 0.6 } else { 1.0 };
        intensity.push(total * dow * holiday);
        cat_cumulative.push(cumulative(weights));
    }
    YearPlan { year, days, intensity, cat_cumulative }
}

// ---------------------------------------------------------------------------------------------
// Tickets.

struct Ticket {
    received: NaiveDateTime,
    channel: &'static str,
    request_type: &'static str,
    cat: usize,
    urgency: Option<&'static str>,
    district: usize,
    street: Option<usize>,
    dept: Option<usize>,
    dispatched: Option<NaiveDateTime>,
    responded: Option<NaiveDateTime>,
    closed: Option<NaiveDateTime>,
    resolved: Option<bool>,
    satisfaction: Option<&'static str>,
    excluded: Option<&'static str>,
    caller: u64,
    phone: u64,
    content_form: u8,
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn seconds(s: f64) -> Duration {
    Duration::milliseconds((s * 1000.0) as i64)
}

/// What every ticket of one year is drawn from.
struct YearJob<'a> {
    world: &'a World,
    plan: &'a YearPlan,
    seed: u64,
    first_year: i32,
    /// Data end: later events (closing, follow-up) have not happened yet.
    as_of: NaiveDateTime,
}

fn make_ticket(job: &YearJob, day_cum: &[f64], day_offset: usize, hours: &[f64], rng: &mut Rng) -> Ticket {
    let (world, plan, first_year, as_of) = (job.world, job.plan, job.first_year, job.as_of);
    let k = day_offset + rng.pick(day_cum);
    let day = plan.days[k];
    let hour = rng.pick(hours) as i64;
    let received =
        day.and_hms_opt(0, 0, 0).expect("midnight") + Duration::seconds(hour * 3600 + rng.below(3600) as i64);
    let cat_i = rng.pick(&plan.cat_cumulative[k]);
    let cat = &world.cats[cat_i];
    let years_in = (plan.year - first_year) as f64 + day.ordinal() as f64 / 366.0;

    let online = 0.12 + 0.025 * years_in;
    let channel = if !rng.chance(online) {
        "phone"
    } else {
        ["web", "wechat", "wechat", "app", "app", "weibo", "other"][rng.below(7) as usize]
    };
    let t = rng.f();
    let request_type = if t < 0.55 {
        "consultation"
    } else if t < 0.775 {
        "help"
    } else if t < 0.885 {
        "complaint"
    } else if t < 0.91 {
        "report"
    } else if t < 0.975 {
        "suggestion"
    } else if t < 0.98 {
        "praise"
    } else {
        "other"
    };
    let district = rng.pick(&world.district_cumulative);
    let (street_cum, street_ids) = &world.district_streets[district];
    let street = if rng.chance(0.012) { None } else { Some(street_ids[rng.pick(street_cum)]) };

    let dispatched_flag = match request_type {
        "consultation" => rng.chance(0.03),
        "praise" => false,
        _ => true,
    };
    let mut tk = Ticket {
        received,
        channel,
        request_type,
        cat: cat_i,
        urgency: None,
        district,
        street,
        dept: None,
        dispatched: None,
        responded: None,
        closed: None,
        resolved: None,
        satisfaction: None,
        excluded: None,
        caller: {
            // 30% of contacts come from a small pool of frequent callers
            let pool = if rng.chance(0.3) { 40_000 } else { 5_000_000 };
            rng.below(pool)
        },
        phone: rng.below(1_000_000_000),
        content_form: rng.below(4) as u8,
    };
    if !dispatched_flag {
        // Answered directly by the call taker: closed in minutes, never scored.
        tk.closed = Some(received + seconds(120.0 + rng.f() * 600.0)).filter(|c| *c <= as_of);
        return tk;
    }

    // Urgency class.
    let u = rng.f();
    tk.urgency = if cat.utility {
        Some(if u < 0.06 {
            "emergency"
        } else if u < 0.9 {
            "utility"
        } else {
            "general"
        })
    } else if u < 0.015 {
        Some("emergency")
    } else if u < 0.07 {
        Some("complex")
    } else if u < 0.10 {
        None // null = general
    } else {
        Some("general")
    };
    let urgency = tk.urgency.unwrap_or("general");

    // Handling unit: the category's department, else the street office.
    let dept = match street {
        Some(s) if !rng.chance(cat.dept_share) => world.streets[s].office,
        _ => {
            if cat.l2 == "电信" {
                // three carriers share telecom complaints
                world
                    .depts
                    .iter()
                    .position(|d| d.name.starts_with(["中国移动", "中国联通", "中国电信"][rng.below(3) as usize]))
                    .unwrap_or(cat.dept)
            } else {
                cat.dept
            }
        }
    };
    tk.dept = Some(dept);
    let q = 0.75 * world.depts[dept].quality + 0.35 * world.district_quality[district];
    let (_, topic_boost) = topic_effect(cat, day);

    let dispatch_delay = if channel == "phone" { 60.0 + rng.f() * 420.0 } else { 300.0 + rng.f() * 5400.0 };
    let dispatched = received + seconds(dispatch_delay);
    tk.dispatched = Some(dispatched);

    // First contact: log-normal delay, better units are faster; a few never call back.
    if !rng.chance(0.004 * (1.0 - 0.5 * q).max(0.2)) {
        let median = if urgency == "emergency" { 1500.0 } else { 9000.0 } * (-0.3 * q).exp();
        let sigma = if urgency == "emergency" { 0.9 } else { 1.15 };
        let responded = dispatched + seconds(median * (sigma * rng.normal()).exp());
        tk.responded = Some(responded).filter(|r| *r <= as_of);
    }
    // Closing.
    let (median, sigma) = match urgency {
        "emergency" => (3000.0, 0.5),
        "utility" => (6.0 * 3600.0, 0.7),
        "complex" => (6.0 * 86400.0, 0.6),
        _ => (2.5 * 86400.0, 0.62),
    };
    let close = dispatched + seconds(median * (-0.25 * q).exp() * (sigma * rng.normal()).exp());
    if close <= as_of {
        tk.closed = Some(close);
        // Follow-up call one to three days after closing, if it happened before the data ends.
        let follow_up = close + seconds(86400.0 * (1.0 + 2.0 * rng.f()));
        if follow_up <= as_of && !rng.chance(0.09) {
            let base = 3.45 + 0.35 * years_in;
            let p = logistic(base + 0.9 * q - cat.difficulty + topic_boost);
            let resolved = rng.chance(p);
            if !rng.chance(0.03) {
                tk.resolved = Some(resolved);
            }
            if !rng.chance(0.04) {
                let s = rng.f();
                tk.satisfaction = Some(if resolved {
                    if s < 0.9 {
                        "satisfied"
                    } else if s < 0.993 {
                        "basically_satisfied"
                    } else {
                        "dissatisfied"
                    }
                } else if s < 0.12 {
                    "satisfied"
                } else if s < 0.3 {
                    "basically_satisfied"
                } else {
                    "dissatisfied"
                });
            }
        }
    }
    if rng.chance(0.012) {
        tk.excluded = Some(
            ["duplicate", "duplicate", "invalid", "out_of_scope", "malicious", "appeal_approved"]
                [rng.below(6) as usize],
        );
    }
    tk
}

const CONTENT_FORMS: [&str; 4] = [
    "市民来电反映{place}{topic}问题，希望相关部门尽快处理。",
    "来电人称{place}存在{topic}方面的情况，已持续多日，请求协调解决。",
    "市民咨询{topic}相关政策，涉及{place}。",
    "来电反映{place}{topic}，希望给予答复。",
];

fn write_month(job: &YearJob, month: u32, count: u64, dir: &Path) -> Result<(u64, u64, u64)> {
    let (world, plan, seed) = (job.world, job.plan, job.seed);
    let day_range: Vec<usize> =
        plan.days.iter().enumerate().filter(|(_, d)| d.month() == month).map(|(i, _)| i).collect();
    let offset = day_range[0];
    let day_cum = cumulative(day_range.iter().map(|i| plan.intensity[*i]));
    let hours = cumulative(HOURS);
    let mut tickets: Vec<Ticket> = (0..count)
        .map(|i| {
            let mut rng = Rng::for_key(&[seed, plan.year as u64, month as u64, i]);
            make_ticket(job, &day_cum, offset, &hours, &mut rng)
        })
        .collect();
    tickets.sort_by_key(|t| t.received);

    let micros = |t: &Option<NaiveDateTime>| t.map(|t| t.and_utc().timestamp_micros());
    let n = tickets.len();
    let mut ids = Vec::with_capacity(n);
    let mut contents = Vec::with_capacity(n);
    let mut callers = Vec::with_capacity(n);
    let mut phones = Vec::with_capacity(n);
    for (i, t) in tickets.iter().enumerate() {
        ids.push(format!("{}{:02}{:08}", plan.year, month, i + 1));
        let cat = &world.cats[t.cat];
        let place = match t.street {
            Some(s) => format!("{}{}", world.districts[t.district].name, world.streets[s].name),
            None => world.districts[t.district].name.clone(),
        };
        contents.push(CONTENT_FORMS[t.content_form as usize].replace("{place}", &place).replace("{topic}", &cat.l3));
        callers.push(format!("P{:010x}", mix(t.caller ^ seed) >> 24));
        phones.push(format!("1{}{:09}", [3, 5, 7, 8, 9][(t.phone % 5) as usize], t.phone));
    }
    let s = |v: Vec<Option<&str>>| -> ArrayRef { Arc::new(StringArray::from(v)) };
    let ts = |v: Vec<Option<i64>>| -> ArrayRef { Arc::new(TimestampMicrosecondArray::from(v)) };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(ids.iter())),
        ts(tickets.iter().map(|t| micros(&Some(t.received))).collect()),
        s(tickets.iter().map(|t| Some(t.channel)).collect()),
        s(tickets.iter().map(|t| Some(t.request_type)).collect()),
        s(tickets.iter().map(|t| Some(world.cats[t.cat].l1.as_str())).collect()),
        s(tickets.iter().map(|t| Some(world.cats[t.cat].l2.as_str())).collect()),
        s(tickets.iter().map(|t| Some(world.cats[t.cat].l3.as_str())).collect()),
        s(tickets.iter().map(|t| t.urgency).collect()),
        s(tickets.iter().map(|t| Some(world.districts[t.district].name.as_str())).collect()),
        s(tickets.iter().map(|t| t.street.map(|x| world.streets[x].name.as_str())).collect()),
        s(tickets.iter().map(|t| t.dept.map(|x| world.depts[x].name)).collect()),
        ts(tickets.iter().map(|t| micros(&t.dispatched)).collect()),
        ts(tickets.iter().map(|t| micros(&t.responded)).collect()),
        ts(tickets.iter().map(|t| micros(&t.closed)).collect()),
        ts(vec![None; tickets.len()]), // due_at: 12345 tickets have time limits, not a source due time
        Arc::new(BooleanArray::from(tickets.iter().map(|t| t.resolved).collect::<Vec<_>>())),
        s(tickets.iter().map(|t| t.satisfaction).collect()),
        s(tickets.iter().map(|t| t.excluded).collect()),
        Arc::new(StringArray::from_iter_values(callers.iter())),
        Arc::new(StringArray::from_iter_values(phones.iter())),
        Arc::new(StringArray::from_iter_values(contents.iter())),
    ];
    let batch = RecordBatch::try_new(schema::file_schema(), columns)?;
    let dispatched = tickets.iter().filter(|t| t.dispatched.is_some()).count() as u64;

    let part_dir = dir.join(format!("year={}", plan.year)).join(format!("month={month:02}"));
    std::fs::create_dir_all(&part_dir)?;
    let path = part_dir.join("part-0.parquet");
    let props = schema::archive_writer_properties();
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    for start in (0..n).step_by(256 * 1024) {
        writer.write(&batch.slice(start, (n - start).min(256 * 1024)))?;
    }
    writer.close()?;
    let bytes = std::fs::metadata(&path)?.len();
    Ok((n as u64, dispatched, bytes))
}

/// Generate the archive; writes into a temporary folder beside `out` and swaps it in when done.
pub fn generate(opts: &Options, progress: &(dyn Fn(&str) + Sync)) -> Result<Summary> {
    if opts.tickets_per_year == 0 {
        bail!(crate::error::usage("--tickets must be at least 1"));
    }
    let world = build_world(opts.seed);
    let first_year = opts.years[0];
    let last_year = *opts.years.last().expect("years");
    // Data "as of" the last second of the last year: tickets still open then have no close time.
    let as_of = NaiveDate::from_ymd_opt(last_year, 12, 31).expect("date").and_hms_opt(23, 59, 59).expect("time");

    let parent = opts.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = opts.out.file_name().and_then(|n| n.to_str()).unwrap_or("archive");
    let tmp = tempfile::Builder::new().prefix(&format!(".{name}.tmp-")).tempdir_in(parent)?;
    let _staged = crate::cleanup::stage(tmp.path());

    let mut summary = Summary::default();
    for &year in &opts.years {
        let plan = plan_year(&world, opts.seed, year);
        // Volume grows ~7% a year; months get tickets in proportion to their intensity.
        let growth = 1.07f64.powf((year - first_year) as f64 - (opts.years.len() as f64 - 1.0) / 2.0);
        let total = (opts.tickets_per_year as f64 * growth).round() as u64;
        let sum: f64 = plan.intensity.iter().sum();
        let mut cum = 0.0;
        let mut prev = 0u64;
        let mut counts = Vec::new();
        for m in 1..=12u32 {
            cum += plan.days.iter().zip(&plan.intensity).filter(|(d, _)| d.month() == m).map(|(_, w)| w).sum::<f64>();
            let upto = (total as f64 * cum / sum).round() as u64;
            counts.push((m, upto - prev));
            prev = upto;
        }
        let job = YearJob { world: &world, plan: &plan, seed: opts.seed, first_year, as_of };
        let results: Vec<(u64, u64, u64)> =
            counts.par_iter().map(|(m, n)| write_month(&job, *m, *n, tmp.path())).collect::<Result<_>>()?;
        let (n, d, b) = results.iter().fold((0, 0, 0), |a, r| (a.0 + r.0, a.1 + r.1, a.2 + r.2));
        progress(&format!("generated {year}: {n} tickets ({d} dispatched), 12 files, {:.1} MiB", b as f64 / 1048576.0));
        summary.tickets += n;
        summary.dispatched += d;
        summary.files += results.len();
        summary.bytes += b;
    }
    // the archive's manifest: each file's size, rows and SHA-256, verified by every later read
    crate::manifest::record(tmp.path())?;
    replace_dir(tmp.keep(), &opts.out)?;
    Ok(summary)
}

/// Move `new` to `target`, replacing what was there; the old folder is removed only after
/// the new one is in place.
pub fn replace_dir(new: PathBuf, target: &Path) -> Result<()> {
    // the new folder must be there: a stop signal may have removed it (src/cleanup.rs), and
    // moving the target aside for nothing would lose it
    if !new.is_dir() {
        anyhow::bail!("{} is gone; {} is left as it was", new.display(), target.display());
    }
    if !target.exists() {
        std::fs::rename(&new, target).with_context(|| format!("moving {} into place", target.display()))?;
        return Ok(());
    }
    // Linux: swap the two folders in one step, so the target is never missing, even for an
    // instant; then remove the old one (now at the staging path).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::errno::Errno;
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        match renameat2(AT_FDCWD, new.as_path(), AT_FDCWD, target, RenameFlags::RENAME_EXCHANGE) {
            Ok(()) => {
                std::fs::remove_dir_all(&new).with_context(|| format!("removing the old {}", new.display()))?;
                return Ok(());
            }
            // only a file system without the exchange takes the two-step way below
            Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {}
            Err(e) => return Err(anyhow::anyhow!("swapping {} into place: {e}", target.display())),
        }
    }
    let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let old = parent.join(format!(
        ".{}.old-{}",
        target.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
        std::process::id()
    ));
    std::fs::rename(target, &old).with_context(|| format!("moving aside {}", target.display()))?;
    if let Err(e) = std::fs::rename(&new, target) {
        // put the old one back rather than leave nothing in place
        let _ = std::fs::rename(&old, target);
        return Err(anyhow::Error::from(e).context(format!("moving {} into place", target.display())));
    }
    std::fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_parse() {
        assert_eq!(parse_years("2024-2025").unwrap(), vec![2024, 2025]);
        assert_eq!(parse_years("2025,2023").unwrap(), vec![2023, 2025]);
        assert_eq!(parse_years("2025").unwrap(), vec![2025]);
        assert!(parse_years("2025-2024").is_err());
        assert!(parse_years("abc").is_err());
    }

    #[test]
    fn every_category_maps_to_a_department() {
        let w = build_world(1);
        assert_eq!(w.cats.len(), 517);
        assert_eq!(w.depts.len(), DEPARTMENTS.len() + 343);
        assert!(w.cats.iter().all(|c| c.weight > 0.0 && c.dept < w.depts.len()));
        let heating = w.cats.iter().find(|c| c.l3 == "冬季采暖").unwrap();
        assert_eq!(w.depts[heating.dept].name, "市热力集团");
    }

    #[test]
    fn heating_intensity_follows_the_season() {
        let jan = season_factor(Season::Heating, NaiveDate::from_ymd_opt(2025, 1, 10).unwrap(), false);
        let jul = season_factor(Season::Heating, NaiveDate::from_ymd_opt(2025, 7, 10).unwrap(), false);
        let nov = season_factor(Season::Heating, NaiveDate::from_ymd_opt(2025, 11, 20).unwrap(), false);
        assert!(jan > 20.0 * jul && nov > jan);
    }
}
