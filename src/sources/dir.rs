//! Inbox folders: district staff drop files; each is imported in name order, then moved to
//! `archive/` when committed or to `rejected/` with a `NAME.reason.txt` beside it.
//!
//! A file still being written is left alone: hidden and temporary names (`.x`, `*.tmp`,
//! `*.part`, `*~`) and files modified less than `settle_secs` ago. A file is refused
//! (`rejected/`, its reasons, and a message to the source's `contact`) for its content: rows
//! rejected, unreadable, not a table, or a reader that failed on it; a file whose import failed
//! for another reason (the database, the file system) stays in the inbox for the next pull.
//! A file that killed the process while it was read is recognised by its attempt marker
//! ([`super::attempts`]) and refused after `max_attempts` such deaths. One committed before a
//! crash that kept it from moving is recognised by its sha256 and archived without being
//! ingested again.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::{Ended, Tally, attempts};
use crate::config::{Config, SourceConfig};
use crate::ingest::{ImportError, ImportOptions, ImportReport, import_file};
use crate::notify::refused::{LISTED, Refusal, enqueue};
use crate::store::Store;

/// Where committed files go, inside the inbox.
pub const ARCHIVE: &str = "archive";
/// Where rejected files go, with their reasons, inside the inbox.
pub const REJECTED: &str = "rejected";

/// What one pull of an inbox works with.
struct Inbox<'a> {
    store: &'a Store,
    config: &'a Config,
    src: &'a SourceConfig,
    dir: &'a Path,
    opts: &'a ImportOptions,
}

/// Pulls one inbox folder.
pub(crate) async fn pull(
    store: &Store,
    config: &Config,
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
    let ctx = Inbox {
        store,
        config,
        src,
        dir: inbox,
        opts,
    };
    for file in ready {
        one_file(&ctx, &file, tally).await?;
    }
    Ok(Ended::default())
}

/// Imports one ready file and moves it where it belongs; `Err` leaves it in the inbox.
async fn one_file(ctx: &Inbox<'_>, file: &Path, tally: &mut Tally) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let base = file_name(file)?;
    let (sha, size) =
        sha256_file(file).with_context(|| format!("无法读取 {name} (cannot read file)"))?;
    tally.pages += 1;
    tally.bytes += size;
    if ctx.store.last_committed_sha(&ctx.src.name, &name).await? == Some(sha.clone()) {
        let to = move_into(file, &ctx.dir.join(ARCHIVE))?;
        attempts::clear(ctx.dir, &base)?;
        tally.notes.push(format!(
            "{name}: 与上次入库的文件完全相同，不再导入，已归档为 {} (identical to the file last committed; archived, not ingested again)",
            to.display()
        ));
        return Ok(());
    }
    let died = attempts::died(ctx.dir, &base, &sha);
    if died > 0 {
        tracing::warn!(source = %ctx.src.name, file = %name, died, max_attempts = ctx.src.max_attempts,
            "上次读取该文件时进程异常终止 (the process died while reading this file before)");
    }
    if died >= ctx.src.max_attempts {
        let reasons = vec![format!(
            "处理该文件时进程异常终止{died}次 (the process died {died} times while reading this file)"
        )];
        refuse(ctx, file, &sha, Why::Reasons(&reasons), tally).await?;
        attempts::clear(ctx.dir, &base)?;
        return Ok(());
    }
    let attempt = attempts::begin(ctx.dir, &base, &sha, died + 1).with_context(|| {
        format!(
            "无法写入尝试标记 {} (cannot write the attempt marker)",
            attempts::path(ctx.dir, &base).display()
        )
    })?;
    match import_file(ctx.store, file, ctx.opts).await {
        Ok(report) if report.committed => {
            tally.add(&report);
            let to = move_into(file, &ctx.dir.join(ARCHIVE))?;
            if report.rejected > 0 {
                write_reasons(&to, &report)?;
            }
            tally.notes.push(format!(
                "{name} → {}: {}",
                to.display(),
                crate::ingest::summary_line(&report)
            ));
        }
        Ok(report) => {
            tally.add(&report);
            refuse(ctx, file, &sha, Why::Report(&report), tally).await?;
        }
        Err(ImportError::Content { reason }) => {
            refuse(ctx, file, &sha, Why::Reasons(&[reason]), tally).await?;
        }
        Err(ImportError::Store(e)) => {
            return Err(e.context(format!(
                "导入 {name} 失败，文件留在收件夹 (import failed; the file stays in the inbox)"
            )));
        }
    }
    attempt.end().with_context(|| {
        format!(
            "无法删除尝试标记 {} (cannot remove the attempt marker)",
            attempts::path(ctx.dir, &base).display()
        )
    })
}

/// Why a file is refused: the rejects of its import, or reasons of its own.
enum Why<'a> {
    Report(&'a ImportReport),
    Reasons(&'a [String]),
}

/// Refuses a file: tells the source's contacts (first, so that a database fault leaves the
/// file in place and the message is not lost), then moves it to `rejected/` with its reasons.
async fn refuse(
    ctx: &Inbox<'_>,
    file: &Path,
    sha: &str,
    why: Why<'_>,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let dir = ctx.dir.join(REJECTED);
    let planned = dir.join(file_name(file)?);
    let (reasons, total, run_id): (Vec<String>, u64, Option<i64>) = match &why {
        Why::Report(r) => (
            r.rejects
                .iter()
                .take(LISTED)
                .map(ToString::to_string)
                .collect(),
            r.rejected.max(r.rejects.len() as u64),
            Some(r.run_id),
        ),
        Why::Reasons(x) => (x.to_vec(), x.len() as u64, None),
    };
    let refusal = Refusal {
        file: &name,
        sha256: sha,
        reasons: &reasons,
        total,
        moved_to: Some(planned.display().to_string()),
        run_id,
    };
    let told = enqueue(ctx.store, ctx.config, ctx.src, &refusal, ctx.opts.now)
        .await
        .with_context(|| {
            format!("无法排队拒收通知，{name} 留在收件夹 (cannot queue the refusal notice; the file stays in the inbox)")
        })?;
    let to = move_into(file, &dir)?;
    match &why {
        Why::Report(r) => write_reasons(&to, r)?,
        Why::Reasons(x) => {
            tally.rejected += 1;
            write_text(&to, &reasons_text(&name, x))?;
        }
    }
    let summary = match &why {
        Why::Report(r) => crate::ingest::summary_line(r),
        Why::Reasons(x) => x.join("；"),
    };
    tally.notes.push(format!(
        "{name} → {}: {summary}{}",
        to.display(),
        if told > 0 {
            format!("；已通知 {told} 位联系人 (contacts told)")
        } else {
            String::new()
        }
    ));
    tracing::warn!(source = %ctx.src.name, file = %name, to = %to.display(), told,
        "文件被拒收 (file refused)");
    Ok(())
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
pub(crate) fn move_into(file: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("无法创建文件夹 {} (cannot create folder)", dir.display()))?;
    let name = file_name(file)?;
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
        text.push_str(NOTHING_COMMITTED);
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
    write_text(moved, &text)
}

const NOTHING_COMMITTED: &str = "整份文件未入库，请修正下列问题后重新放入收件夹 (nothing of the file was committed; fix these and drop it again):\n";

/// The reason file of a file refused without an import report (a reader that failed, a
/// process that died reading it).
fn reasons_text(file: &str, reasons: &[String]) -> String {
    let mut text = format!("文件 (file): {file}\n{NOTHING_COMMITTED}");
    for r in reasons {
        text.push_str(&format!("{r}\n"));
    }
    text
}

pub(crate) fn write_text(moved: &Path, text: &str) -> anyhow::Result<()> {
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

fn file_name(file: &Path) -> anyhow::Result<String> {
    Ok(file
        .file_name()
        .with_context(|| format!("{} 不是文件 (not a file)", file.display()))?
        .to_string_lossy()
        .into_owned())
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
