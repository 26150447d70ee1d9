//! Inbox folders: district staff drop files; each is imported in name order, then moved to
//! `archive/` when committed or to `rejected/` with a `NAME.reason.txt` beside it.
//!
//! A file still being written is left alone: hidden and temporary names (`.x`, `*.tmp`,
//! `*.part`, `*~`) and files modified less than `settle_secs` ago. A file whose import failed
//! for a reason other than its content (the database) stays in the inbox for the next pull;
//! one committed before a crash that kept it from moving is recognised by its sha256 and
//! archived without being ingested again.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::{Ended, Tally};
use crate::config::SourceConfig;
use crate::ingest::{ImportOptions, ImportReport, import_file};
use crate::store::Store;

/// Where committed files go, inside the inbox.
pub const ARCHIVE: &str = "archive";
/// Where rejected files go, with their reasons, inside the inbox.
pub const REJECTED: &str = "rejected";

/// Pulls one inbox folder.
pub(crate) async fn pull(
    store: &Store,
    src: &SourceConfig,
    opts: &ImportOptions,
    tally: &mut Tally,
) -> anyhow::Result<Ended> {
    let inbox = src
        .path
        .as_deref()
        .with_context(|| format!("来源“{}”没有 path (dir source without path)", src.name))?;
    let settle = Duration::from_secs(src.settle_secs);
    let (ready, waiting) = candidates(inbox, settle, SystemTime::now()).with_context(|| {
        format!(
            "无法读取收件文件夹 {} (cannot read the inbox folder)",
            inbox.display()
        )
    })?;
    for w in waiting {
        tally.notes.push(format!(
            "{}: 可能仍在写入，下次再处理 (may still be being written; left for the next pull)",
            w.display()
        ));
    }
    for file in ready {
        let name = file.display().to_string();
        let (sha, size) =
            sha256_file(&file).with_context(|| format!("无法读取 {name} (cannot read file)"))?;
        tally.pages += 1;
        tally.bytes += size;
        if store.last_committed_sha(&src.name, &name).await? == Some(sha) {
            let to = move_into(&file, &inbox.join(ARCHIVE))?;
            tally.notes.push(format!(
                "{name}: 与上次入库的文件完全相同，不再导入，已归档为 {} (identical to the file last committed; archived, not ingested again)",
                to.display()
            ));
            continue;
        }
        let report = import_file(store, &file, opts).await.with_context(|| {
            format!("导入 {name} 失败，文件留在收件夹 (import failed; the file stays in the inbox)")
        })?;
        tally.add(&report);
        let to = if report.committed {
            let to = move_into(&file, &inbox.join(ARCHIVE))?;
            if report.rejected > 0 {
                write_reasons(&to, &report)?;
            }
            to
        } else {
            let to = move_into(&file, &inbox.join(REJECTED))?;
            write_reasons(&to, &report)?;
            to
        };
        tally.notes.push(format!(
            "{name} → {}: {}",
            to.display(),
            crate::ingest::summary_line(&report)
        ));
    }
    Ok(Ended::default())
}

/// Files ready to import, in name order, and those that may still be being written.
pub fn candidates(
    inbox: &Path,
    settle: Duration,
    now: SystemTime,
) -> std::io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut ready = Vec::new();
    let mut waiting = Vec::new();
    for entry in std::fs::read_dir(inbox)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if !meta.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_temporary(&name) {
            waiting.push(entry.path());
            continue;
        }
        let young = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_none_or(|age| age < settle);
        if young && !settle.is_zero() {
            waiting.push(entry.path());
        } else {
            ready.push(entry.path());
        }
    }
    ready.sort();
    waiting.sort();
    Ok((ready, waiting))
}

/// Names that editors, browsers and copy tools give files they have not finished writing.
fn is_temporary(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with('.')
        || name.starts_with("~$")
        || lower.ends_with(".tmp")
        || lower.ends_with(".part")
        || lower.ends_with(".crdownload")
        || name.ends_with('~')
}

fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((format!("{:x}", h.finalize()), size))
}

/// Moves a file into `dir` (created if missing); a name already there gets a time prefix.
fn move_into(file: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("无法创建文件夹 {} (cannot create folder)", dir.display()))?;
    let name = file
        .file_name()
        .with_context(|| format!("{} 不是文件 (not a file)", file.display()))?
        .to_string_lossy()
        .into_owned();
    let mut to = dir.join(&name);
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let mut n = 0;
    while to.exists() {
        n += 1;
        to = dir.join(if n == 1 {
            format!("{stamp}_{name}")
        } else {
            format!("{stamp}_{n}_{name}")
        });
    }
    std::fs::rename(file, &to).with_context(|| {
        format!(
            "无法把 {} 移到 {} (cannot move file)",
            file.display(),
            to.display()
        )
    })?;
    Ok(to)
}

/// Writes `NAME.reason.txt` beside a moved file: what was wrong, line by line, in Chinese and English.
fn write_reasons(moved: &Path, r: &ImportReport) -> anyhow::Result<()> {
    let mut text = format!(
        "文件 (file): {}\n导入批次 (import run): {}\n{}\n",
        r.file,
        r.run_id,
        crate::ingest::summary_line(r)
    );
    if r.committed {
        text.push_str(
            "其余行已入库；以下行被拒收 (the other rows were committed; these were rejected):\n",
        );
    } else {
        text.push_str("整份文件未入库，请修正下列问题后重新放入收件夹 (nothing of the file was committed; fix these and drop it again):\n");
    }
    for rej in &r.rejects {
        text.push_str(&format!("{rej}\n"));
    }
    if r.rejected as usize > r.rejects.len() {
        text.push_str(&format!(
            "…… 共拒收 {} 行，全部明细见数据库 reject 表 run_id = {} (all rejects are in the reject table)\n",
            r.rejected, r.run_id
        ));
    }
    let mut reason = moved.as_os_str().to_owned();
    reason.push(".reason.txt");
    std::fs::write(&reason, text).with_context(|| {
        format!(
            "无法写入 {} (cannot write the reason file)",
            Path::new(&reason).display()
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn temporary_names_are_left_alone() {
        for n in [".x.csv", "a.csv.tmp", "a.csv.part", "a.csv~", "~$a.xlsx"] {
            assert!(super::is_temporary(n), "{n}");
        }
        assert!(!super::is_temporary("东岭区10月.csv"));
    }
}
