//! Writes a snapshot's folder atomically: every file goes into `DIR/.tmp-<half>` first, then
//! the folder is renamed to `DIR/<half>`, so a reader (or the mailer) never sees half a
//! snapshot. `manifest.json` lists each file with its SHA-256 and size, the data vintage, the
//! period, the half and the generator version — and nothing from the wall clock, so the same
//! data gives the same bytes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::charts;
use super::model::Snapshot;
use super::{Half, docx, html, xlsx};

/// A written snapshot: its folder and the SHA-256 of its manifest.
#[derive(Clone, Debug)]
pub struct Written {
    pub dir: PathBuf,
    pub manifest_sha256: String,
    pub files: Vec<(String, String)>,
}

/// The files of a snapshot as (name, bytes), manifest last.
pub fn render(s: &Snapshot, city_name: &str) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let half: Half = s.half.parse().map_err(anyhow::Error::msg)?;
    let mut files = vec![
        (
            "report.html".to_string(),
            html::render(s, city_name)?.into_bytes(),
        ),
        (
            "report.docx".to_string(),
            docx::render(s, half, &html::title(city_name, s), &chart_images(s))?,
        ),
        ("report.xlsx".to_string(), xlsx::render(s, half, city_name)?),
        ("snapshot.json".to_string(), {
            let mut v = serde_json::to_vec_pretty(s)?;
            v.push(b'\n');
            v
        }),
    ];
    let listed: Vec<_> = files
        .iter()
        .map(|(name, bytes)| json!({"name": name, "sha256": sha256(bytes), "bytes": bytes.len()}))
        .collect();
    let manifest = json!({
        "half": s.half,
        "period": s.period,
        "vintage": s.vintage,
        "generator": s.generator,
        "files": listed,
    });
    let mut m = serde_json::to_vec_pretty(&manifest)?;
    m.push(b'\n');
    files.push(("manifest.json".to_string(), m));
    Ok(files)
}

/// The page's charts as PNG for the Word version, titled; none when no CJK font file is found
/// (a warning says so), since their labels would not show.
fn chart_images(s: &Snapshot) -> Vec<docx::Chart> {
    let font = match charts::ChartFont::find(None) {
        Ok(font) => font,
        Err(e) => {
            tracing::warn!(error = %e, "report.docx 不含图表 (report.docx is written without its charts)");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for chart in charts::report_charts(s) {
        match charts::png(&chart, &font) {
            Ok(png) => out.push((chart.title().to_string(), png)),
            Err(e) => {
                tracing::warn!(error = %e, chart = chart.title(), "图表未能生成 (a chart could not be drawn)")
            }
        }
    }
    out
}

/// Hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Renders and writes the snapshot into `out/<half>/`, replacing an earlier one of that half.
pub fn write(s: &Snapshot, city_name: &str, out: &Path) -> anyhow::Result<Written> {
    write_rendered(s, &render(s, city_name)?, out)
}

/// Writes the files [`render`] gave for `s` into `out/<half>/`, replacing an earlier one.
pub fn write_rendered(
    s: &Snapshot,
    files: &[(String, Vec<u8>)],
    out: &Path,
) -> anyhow::Result<Written> {
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let tmp = out.join(format!(".tmp-{}", s.half));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).with_context(|| format!("removing {}", tmp.display()))?;
    }
    fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    for (name, bytes) in files {
        let p = tmp.join(name);
        let mut f = fs::File::create(&p).with_context(|| format!("writing {}", p.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    let dir = out.join(&s.half);
    // A rename cannot replace a non-empty folder: move the old one aside first, then drop it.
    let old = out.join(format!(".old-{}", s.half));
    if dir.exists() {
        if old.exists() {
            fs::remove_dir_all(&old)?;
        }
        fs::rename(&dir, &old).with_context(|| format!("moving {} aside", dir.display()))?;
    }
    fs::rename(&tmp, &dir).with_context(|| format!("renaming into {}", dir.display()))?;
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    if let Ok(d) = fs::File::open(out) {
        let _ = d.sync_all();
    }
    let manifest_sha256 = files.last().map(|(_, b)| sha256(b)).unwrap_or_default();
    Ok(Written {
        dir,
        manifest_sha256,
        files: files.iter().map(|(n, b)| (n.clone(), sha256(b))).collect(),
    })
}
