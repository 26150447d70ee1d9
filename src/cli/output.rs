//! Standard output of the commands. `println!` panics when the reader has gone away
//! (`indmon outbox list | head`); here a closed pipe silences the rest of the output and the
//! command finishes its work, and any other write error is reported once at the end.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once the reader of standard output has gone away.
static CLOSED: AtomicBool = AtomicBool::new(false);
/// The first write error other than a closed pipe.
static FAILED: Mutex<Option<String>> = Mutex::new(None);

/// Prints a line on standard output, like `println!`, without panicking on a closed pipe.
macro_rules! out {
    () => {
        $crate::cli::output::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::line(format_args!($($arg)*))
    };
}
pub(crate) use out;

/// Writes one line; see the module's note.
pub fn line(args: std::fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let written = super::progress::suspend(|| {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_fmt(args)
            .and_then(|()| stdout.write_all(b"\n"))
    });
    if let Err(e) = written {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe
            && let Ok(mut failed) = FAILED.lock()
        {
            failed.get_or_insert_with(|| e.to_string());
        }
    }
}

/// The first write error other than a closed pipe, if any; the caller exits non-zero with it.
pub fn failure() -> Option<String> {
    if let Err(e) = std::io::stdout().lock().flush()
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Some(e.to_string());
    }
    FAILED.lock().ok().and_then(|f| f.clone())
}
