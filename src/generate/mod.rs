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

mod world;
use world::*;

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
    crate::cleanup::publish(|| swap_dir(&new, target))
}

fn swap_dir(new: &Path, target: &Path) -> Result<()> {
    // the new folder must be there: a stop signal may have removed it (src/cleanup.rs), and
    // moving the target aside for nothing would lose it
    if !new.is_dir() {
        anyhow::bail!("{} is gone; {} is left as it was", new.display(), target.display());
    }
    if !target.exists() {
        std::fs::rename(new, target).with_context(|| format!("moving {} into place", target.display()))?;
        return Ok(());
    }
    // Linux: swap the two folders in one step, so the target is never missing, even for an
    // instant; then remove the old one (now at the staging path).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::errno::Errno;
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        match renameat2(AT_FDCWD, new, AT_FDCWD, target, RenameFlags::RENAME_EXCHANGE) {
            Ok(()) => {
                std::fs::remove_dir_all(new).with_context(|| format!("removing the old {}", new.display()))?;
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
    if let Err(e) = std::fs::rename(new, target) {
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
