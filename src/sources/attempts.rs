//! Attempt markers of an inbox: before a file is read, `.indmon/attempts/NAME.json` (its
//! sha256 and how many reads of it have begun) is written beside it, and it is removed once the
//! file is archived, refused, or left in place after a database fault. A marker found at the
//! start of a pull is therefore a read that a dead process never finished: a file that kills
//! the process while it is read (an allocation abort, a kill by the OOM killer) is recognised
//! and, after the source's `max_attempts` such deaths, refused instead of read again.
//!
//! The marker is a file in the inbox, not a database row: it must be written before the read
//! and survive the process whatever happens to the database, it describes a file of that
//! folder and goes away with it, and it needs no schema. The hidden folder is passed over by
//! [`super::dir::candidates`] like every hidden name.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The folder of the markers, inside the inbox.
pub const DIR: &str = ".indmon/attempts";

/// What a marker says.
#[derive(Debug, Serialize, Deserialize)]
pub struct Marker {
    /// The file's name in the inbox.
    pub file: String,
    /// The content being read: a different file under the same name starts again from zero.
    pub sha256: String,
    /// Reads of this content begun and not finished, this one included.
    pub attempts: u32,
    /// When the last read began (RFC 3339, UTC).
    pub started_at: String,
    /// The process that began it.
    pub pid: u32,
}

/// Where the marker of the file `name` lives: `NAME.json`, or a hash of the name when the
/// name is too long to take a suffix.
pub fn path(inbox: &Path, name: &str) -> PathBuf {
    let file = if name.len() <= 200 {
        format!("{name}.json")
    } else {
        format!("{:x}.json", Sha256::digest(name.as_bytes()))
    };
    inbox.join(DIR).join(file)
}

/// How many reads of this content a dead process began and never finished (0: none). A marker
/// of other content, or one that cannot be read, counts for nothing.
pub fn died(inbox: &Path, name: &str, sha256: &str) -> u32 {
    std::fs::read(path(inbox, name))
        .ok()
        .and_then(|b| serde_json::from_slice::<Marker>(&b).ok())
        .filter(|m| m.sha256 == sha256)
        .map_or(0, |m| m.attempts)
}

/// A read in progress. Its marker is removed by [`Attempt::end`], or when the attempt is
/// dropped (the pull was cancelled or unwound); only a dead process leaves it behind.
#[derive(Debug)]
pub struct Attempt {
    path: PathBuf,
    ended: bool,
}

/// Records that a read of this content begins: the `attempts`-th. Written to a temporary name,
/// synced and renamed, so that a marker is whole or absent whenever the process dies.
pub fn begin(inbox: &Path, name: &str, sha256: &str, attempts: u32) -> std::io::Result<Attempt> {
    let path = path(inbox, name);
    let dir = inbox.join(DIR);
    std::fs::create_dir_all(&dir)?;
    let marker = Marker {
        file: name.to_string(),
        sha256: sha256.to_string(),
        attempts,
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        pid: std::process::id(),
    };
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(&marker).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(Attempt { path, ended: false })
}

impl Attempt {
    /// The read is over, whatever became of the file.
    pub fn end(mut self) -> std::io::Result<()> {
        self.ended = true;
        remove(&self.path)
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.ended {
            let _ = remove(&self.path);
        }
    }
}

/// Removes the marker of `name`, if any.
pub fn clear(inbox: &Path, name: &str) -> std::io::Result<()> {
    remove(&path(inbox, name))
}

fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_counts_only_for_its_own_content_and_goes_when_the_read_ends() {
        let inbox = tempfile::tempdir().expect("tempdir");
        let p = inbox.path();
        assert_eq!(died(p, "a.xlsx", "aa"), 0);
        let a = begin(p, "a.xlsx", "aa", 1).expect("begin");
        assert!(p.join(".indmon/attempts/a.xlsx.json").exists());
        // As a dead process leaves it: the marker stays.
        std::mem::forget(a);
        assert_eq!(died(p, "a.xlsx", "aa"), 1);
        assert_eq!(
            died(p, "a.xlsx", "bb"),
            0,
            "other content under the same name"
        );
        let a = begin(p, "a.xlsx", "aa", 2).expect("begin");
        assert_eq!(died(p, "a.xlsx", "aa"), 2);
        a.end().expect("end");
        assert_eq!(died(p, "a.xlsx", "aa"), 0);
        // Dropped (cancelled, unwound) rather than ended: removed too.
        drop(begin(p, "a.xlsx", "aa", 1).expect("begin"));
        assert_eq!(died(p, "a.xlsx", "aa"), 0);
        let long = "长".repeat(100);
        assert!(path(p, &long).file_name().is_some_and(|n| n.len() < 100));
    }
}
