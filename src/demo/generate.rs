//! The generator's one pass: registry files first, then enterprise by enterprise into the
//! month files, then what needs the whole city (unit figures, the plan).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;

use super::GenSpec;
use super::city::{self, INDUSTRIES, UNITS};
use super::enterprise::{Arrival, Profile, Role};
use super::plan::{Plan, PlanBuilder, Revision, target_for};
use super::power::PowerFiles;
use super::projects::{self, ProjectPlan};
use super::write::SubmissionFile;
use crate::amount::Amount;
use crate::period::Period;

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    Ok(BufWriter::new(File::create(path).with_context(|| {
        format!("无法创建 {} (cannot create file)", path.display())
    })?))
}

/// Generates the city of `spec` into `out` (created if needed; files in it are overwritten)
/// and returns the plan, also written to `plan.json`.
pub fn generate(spec: &GenSpec, out: &Path) -> anyhow::Result<Plan> {
    spec.check()?;
    std::fs::create_dir_all(out.join("submissions"))
        .with_context(|| format!("无法创建目录 {} (cannot create folder)", out.display()))?;
    write_units(out)?;
    let projects = projects::write(spec, out)?;
    write_targets(spec, out, &projects)?;

    let last = spec.months_to;
    let mut periods = Vec::new();
    let mut p = spec.months_from;
    while p <= last {
        periods.push(p);
        p = p.next();
    }
    let file = |stem: &str| SubmissionFile::create(out, stem, spec.http_pages, spec.page_size);
    let mut months = periods
        .iter()
        .map(|p| file(&p.to_string()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut late = file(&format!("{last}-late"))?;
    let revision_stem = format!("{last}-revision");
    let mut revised = file(&revision_stem)?;
    let mut revision = None;

    let mut reg = create(&out.join("enterprises.csv"))?;
    writeln!(
        reg,
        "credit_code,name,unit_code,zone_code,industry_code,scale,key,owner"
    )?;
    // The month after the last, when its first days are metered.
    let through = match spec.power_from {
        Some(_) if spec.power_days_after > 0 => last.next(),
        _ => last,
    };
    let mut power = match spec.power_from {
        Some(from) => Some(PowerFiles::create(
            out,
            from,
            through,
            spec.power_days_after,
        )?),
        None => None,
    };
    let earliest = spec
        .power_from
        .map_or(spec.months_from, |p| p.min(spec.months_from));
    let calibration = calibrate(spec)?;
    let mut plan = PlanBuilder::new(spec);
    for index in 0..(spec.enterprises + spec.below_scale) as u64 {
        let e = Profile::new(spec, index, &calibration)
            .with_context(|| format!("enterprise {index}: no valid credit code"))?;
        writeln!(
            reg,
            "{},{},{},{},{},{},{},{}",
            e.credit_code,
            e.name,
            UNITS[e.unit].code,
            e.zone.map_or("", |z| UNITS[z].code),
            INDUSTRIES[e.industry].code,
            if e.above { "above" } else { "below" },
            if e.key { "是" } else { "否" },
            e.owner.as_deref().unwrap_or("")
        )?;
        let all = e.months_between(spec, earliest, through);
        if let Some(power) = &mut power {
            power.add(spec, &e, &all)?;
        }
        let series: Vec<_> = all
            .into_iter()
            .filter(|m| m.period >= spec.months_from && m.period <= last)
            .collect();
        for (m, f) in series.iter().zip(months.iter_mut()) {
            match m.arrival {
                Arrival::Never => {}
                Arrival::Late => late.row(&e.credit_code, m.period, &m.figures)?,
                Arrival::OnTime if e.role == Role::Revision && m.period == last => {
                    // First sent with this month's output short by a third, ytd likewise.
                    let mut sent = m.figures;
                    let short = m.figures.output / 3 / 1_000 * 1_000;
                    sent.output -= short;
                    sent.output_ytd -= short;
                    f.row(&e.credit_code, m.period, &sent)?;
                    revised.row(&e.credit_code, m.period, &m.figures)?;
                    revision = Some(Revision {
                        credit_code: e.credit_code.to_string(),
                        period: last.to_string(),
                        file: format!("submissions/{revision_stem}.csv"),
                        output_sent: Amount(sent.output).to_string(),
                        output_revised: Amount(m.figures.output).to_string(),
                    });
                }
                Arrival::OnTime => f.row(&e.credit_code, m.period, &m.figures)?,
            }
        }
        plan.add(&e, &series);
    }
    reg.flush()?;
    if let Some(power) = power {
        power.finish()?;
    }
    for f in months {
        f.finish()?;
    }
    late.finish()?;
    revised.finish()?;
    write_unit_indicators(spec, out, &plan, &projects)?;
    let plan = plan.finish(projects, revision);
    let mut w = create(&out.join("plan.json"))?;
    serde_json::to_writer_pretty(&mut w, &plan)?;
    writeln!(w)?;
    w.flush()?;
    Ok(plan)
}

/// A first pass without writing: the factor per reporting unit that turns the ytd growth the
/// random draws happened to give into the unit's designed growth, so that which districts lag
/// does not depend on where the seed put a stalled giant.
fn calibrate(spec: &GenSpec) -> anyhow::Result<Vec<f64>> {
    let mut plan = PlanBuilder::new(spec);
    for index in 0..spec.enterprises as u64 {
        let e = Profile::new(spec, index, &[])
            .with_context(|| format!("enterprise {index}: no valid credit code"))?;
        plan.add_growth(&e, &e.months(spec));
    }
    let month = spec.months_to.month() as usize;
    Ok(UNITS
        .iter()
        .enumerate()
        .map(|(i, u)| match plan.ytd[i][month - 1] {
            (c, p) if c > 0 && p > 0 && u.weight > 0 => {
                (1.0 + u.growth / 100.0) * p as f64 / c as f64
            }
            _ => 1.0,
        })
        .collect())
}

fn write_units(out: &Path) -> anyhow::Result<()> {
    let mut w = create(&out.join("units.csv"))?;
    writeln!(w, "code,name,kind,parent")?;
    for u in UNITS {
        writeln!(w, "{},{},{},{}", u.code, u.name, u.kind, u.parent)?;
    }
    w.flush()?;
    Ok(())
}

/// Growth targets for `value_added_growth` with 开门红/双过半 milestones (March one point above
/// the annual target, June half a point above), and `investment` volume targets for the units
/// that have projects.
fn write_targets(spec: &GenSpec, out: &Path, projects: &ProjectPlan) -> anyhow::Result<()> {
    let year = spec.months_to.year();
    let mut w = create(&out.join("targets.csv"))?;
    writeln!(w, "year,unit_code,indicator,kind,annual,milestones")?;
    for (i, u) in UNITS.iter().enumerate() {
        writeln!(
            w,
            "{year},{},value_added_growth,growth,{:.1},03:{:.1};06:{:.1}",
            u.code,
            u.target,
            target_for(i, 3),
            target_for(i, 6)
        )?;
    }
    for (i, u) in UNITS.iter().enumerate() {
        let t = projects::investment_target(projects, i);
        if t.raw() > 0 {
            writeln!(w, "{year},{},investment,volume,{t},", u.code)?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Official figures as the statistics bureau publishes them: `value_added_growth` for the city
/// and the districts at quarter ends only (zones and other months are left for indmon to
/// estimate), half a point below the output growth; `investment` ytd every month.
fn write_unit_indicators(
    spec: &GenSpec,
    out: &Path,
    plan: &PlanBuilder,
    projects: &ProjectPlan,
) -> anyhow::Result<()> {
    let last = spec.months_to;
    let mut w = create(&out.join("unit_indicators.csv"))?;
    writeln!(w, "unit_code,period,indicator,value")?;
    for (i, u) in UNITS.iter().enumerate() {
        for month in 1..=last.month() {
            let Some(p) = Period::new(last.year(), month) else {
                continue;
            };
            if month % 3 == 0
                && u.kind != "zone"
                && let Some(g) = plan.growth_pct(i, month)
            {
                writeln!(w, "{},{p},value_added_growth,{:.1}", u.code, g - 0.5)?;
            }
            let inv = projects::unit_investment(projects, i, month);
            if (i == city::CITY || u.weight > 0) && inv.raw() > 0 {
                writeln!(w, "{},{p},investment,{inv}", u.code)?;
            }
        }
    }
    w.flush()?;
    Ok(())
}
