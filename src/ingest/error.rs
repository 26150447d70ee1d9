//! Why an import failed, classified where the caller must decide what becomes of the file: a
//! refused content is moved aside and its sender told; a failed database or file system leaves
//! the file where it is, to be tried again.

use std::any::Any;

/// Why [`super::import_file`] or [`super::import_bytes`] failed. Rows a file gets wrong are not
/// errors (they are the report's rejects); these are the failures around them.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The content could not be read, in a way the reader could not report as a reject (it
    /// panicked). The same bytes would fail again: refuse them, do not retry.
    #[error("{reason}")]
    Content { reason: String },
    /// The database or the file system failed; the content may be fine. Try again later.
    #[error(transparent)]
    Store(anyhow::Error),
}

impl ImportError {
    /// The error of a reader that panicked, with what it said.
    pub fn panicked(payload: &(dyn Any + Send)) -> ImportError {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "未知原因 (unknown)".into());
        let what: String = what.chars().take(300).collect();
        ImportError::Content {
            reason: format!(
                "读取该文件时读取程序异常中止，文件可能已损坏或含有无法处理的内容 (the reader failed on this file: {what})"
            ),
        }
    }

    /// Classifies an error from inside the import: a [`ImportError`] raised there keeps its
    /// class; anything else is the store's or the file system's.
    pub fn classify(e: anyhow::Error) -> ImportError {
        match e.downcast::<ImportError>() {
            Ok(known) => known,
            Err(other) => ImportError::Store(other),
        }
    }

    /// Whether the content is at fault (refuse the file) rather than the store (retry it).
    pub fn is_content(&self) -> bool {
        matches!(self, ImportError::Content { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_content_error_keeps_its_class_through_anyhow_and_context() {
        let inner: anyhow::Error = ImportError::Content {
            reason: "坏 (bad)".into(),
        }
        .into();
        let e = ImportError::classify(inner.context("while importing x.xlsx"));
        assert!(e.is_content(), "{e:?}");
        let e = ImportError::classify(anyhow::anyhow!("database is locked"));
        assert!(!e.is_content(), "{e:?}");
    }

    #[test]
    fn a_panic_payload_becomes_its_reason() {
        let p = std::panic::catch_unwind(|| panic!("attempt to subtract with overflow"))
            .expect_err("panics");
        let e = ImportError::panicked(&*p);
        assert!(
            e.to_string().contains("attempt to subtract with overflow"),
            "{e}"
        );
        let p = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).expect_err("panics");
        assert!(ImportError::panicked(&*p).to_string().contains("unknown"));
    }
}
