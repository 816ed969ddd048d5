//! The synthetic city: departments and the category rules that route tickets to them, the
//! seasons, the 每月一题 topics, each unit's latent quality, and each year's plan of per-day
//! category intensities.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Season {
    None,
    Heating,
    Summer,
    Rain,
    Wages,
    School,
}

pub(super) struct Dept {
    pub(super) name: &'static str,
    pub(super) quality: f64,
}

/// Municipal departments and public-service enterprises (names as in official Beijing texts).
pub(super) const DEPARTMENTS: &[&str] = &[
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
pub(super) struct Rule {
    pub(super) l2: &'static str,
    pub(super) l3: &'static str,
    pub(super) dept: &'static str,
    pub(super) dept_share: f64,
    pub(super) weight: f64,
    pub(super) season: Season,
    pub(super) difficulty: f64,
    pub(super) utility: bool,
}

pub(super) const fn rule(l2: &'static str, l3: &'static str, dept: &'static str, dept_share: f64, weight: f64) -> Rule {
    Rule { l2, l3, dept, dept_share, weight, season: Season::None, difficulty: 0.0, utility: false }
}

pub(super) const fn seasonal(r: Rule, season: Season) -> Rule {
    Rule { season, ..r }
}

pub(super) const fn hard(r: Rule, difficulty: f64) -> Rule {
    Rule { difficulty, ..r }
}

pub(super) const fn utility(r: Rule) -> Rule {
    Rule { utility: true, ..r }
}

/// First matching rule wins; `*` matches any level-3 name. Categories no rule names get
/// their department from [`level1_default`].
pub(super) const RULES: &[Rule] = &[
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
pub(super) fn level1_default(l1: &str, l2: &str) -> (&'static str, f64, Season) {
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
pub(super) const TOPICS: &[(i32, u32, &[&str])] = &[
    (2024, 4, &["物业服务"]),
    (2024, 6, &["大气污染"]),
    (2024, 9, &["快递市场管理"]),
    (2025, 3, &["劳动合同纠纷", "职工工伤保险"]),
    (2025, 5, &["医疗技术和服务"]),
    (2025, 7, &["施工安全"]),
];

pub(super) struct Cat {
    pub(super) l1: String,
    pub(super) l2: String,
    pub(super) l3: String,
    pub(super) dept: usize,
    pub(super) dept_share: f64,
    pub(super) weight: f64,
    pub(super) season: Season,
    pub(super) difficulty: f64,
    pub(super) utility: bool,
    /// (year, first day of the topic month) when this category is a 每月一题 topic.
    pub(super) topics: Vec<NaiveDate>,
}

pub(super) struct StreetUnit {
    pub(super) name: String,
    pub(super) office: usize,
}

pub(super) struct World {
    pub(super) districts: Vec<reference::District>,
    pub(super) district_quality: Vec<f64>,
    /// Per district: cumulative street weights and the street indices.
    pub(super) district_streets: Vec<(Vec<f64>, Vec<usize>)>,
    pub(super) district_cumulative: Vec<f64>,
    pub(super) streets: Vec<StreetUnit>,
    pub(super) depts: Vec<Dept>,
    pub(super) cats: Vec<Cat>,
}

pub(super) fn quality(seed: u64, name: &str) -> f64 {
    Rng::for_key(&[seed, text_key(name), 7]).normal()
}

pub(super) fn build_world(seed: u64) -> World {
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
pub(super) fn spring_festival(year: i32) -> NaiveDate {
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

pub(super) fn season_factor(season: Season, day: NaiveDate, cold_wave: bool) -> f64 {
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
pub(super) fn topic_effect(cat: &Cat, day: NaiveDate) -> (f64, f64) {
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

pub(super) const HOURS: [f64; 24] = [
    0.4, 0.25, 0.15, 0.1, 0.1, 0.2, 0.6, 1.5, 3.2, 5.2, 5.8, 5.4, 3.8, 3.6, 5.0, 5.4, 5.0, 4.0, 3.0, 2.6, 2.3, 2.0,
    1.4, 0.8,
];

/// Per-day tables of one year: day intensity and cumulative category weights.
pub(super) struct YearPlan {
    pub(super) year: i32,
    pub(super) days: Vec<NaiveDate>,
    pub(super) intensity: Vec<f64>,
    pub(super) cat_cumulative: Vec<Vec<f64>>,
}

pub(super) fn plan_year(world: &World, seed: u64, year: i32) -> YearPlan {
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
