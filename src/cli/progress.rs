//! A progress line on a terminal for long imports and pulls: a spinner with the rows read or
//! the pages fetched, fed by the events the import and the pull log anyway. Hidden when stderr
//! is not a terminal (indicatif draws nothing there), where the log lines stay as they are.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;

/// The progress line being shown, if any.
static CURRENT: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Whether a progress line would be drawn: stderr is a terminal (and not a dumb one).
pub fn available() -> bool {
    !ProgressDrawTarget::stderr().is_hidden()
}

/// Whether this process shows progress lines (set up by logging on a terminal).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Lets [`start`] show progress lines.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Shows a progress line for a piece of work the command starts (an import of one file).
pub fn start(text: String) {
    if ENABLED.load(Ordering::Relaxed) {
        show(text, ProgressDrawTarget::stderr);
    }
}

/// Runs `f` (a write to the terminal) with the progress line taken off the screen.
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    let bar = CURRENT.lock().ok().and_then(|b| b.clone());
    match bar {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}

/// Takes the progress line off the screen (at the end of a piece of work, or of the command).
pub fn finish() {
    if let Some(bar) = CURRENT.lock().ok().and_then(|mut b| b.take()) {
        bar.finish_and_clear();
    }
}

/// Shows `text` on the progress line, starting one if none is shown.
fn show(text: String, target: impl FnOnce() -> ProgressDrawTarget) {
    let Ok(mut current) = CURRENT.lock() else {
        return;
    };
    let bar = current.get_or_insert_with(|| {
        let bar = ProgressBar::with_draw_target(None, target());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    bar.set_message(text);
}

/// The message of the progress line shown, if any (for tests).
pub fn shown() -> Option<String> {
    CURRENT
        .lock()
        .ok()
        .and_then(|b| b.as_ref().map(ProgressBar::message))
}

/// Whether an event only reports progress (its log line is replaced by the progress line).
pub fn is_progress(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("indmon::ingest")
        && *meta.level() == tracing::Level::INFO
        && meta.fields().field("rows").is_some()
}

/// Feeds the progress line from the events of imports and pulls.
pub struct Layer {
    target: fn() -> ProgressDrawTarget,
    source: Mutex<String>,
}

impl Layer {
    /// A layer drawing on stderr.
    pub fn new() -> Layer {
        Layer::drawing_on(ProgressDrawTarget::stderr)
    }

    fn drawing_on(target: fn() -> ProgressDrawTarget) -> Layer {
        Layer {
            target,
            source: Mutex::new(String::new()),
        }
    }
}

impl Default for Layer {
    fn default() -> Layer {
        Layer::new()
    }
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for Layer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let meta = event.metadata();
        let step = {
            let Ok(mut source) = self.source.lock() else {
                return;
            };
            if f.message.starts_with("开始拉取")
                && let Some(s) = &f.source
            {
                source.clone_from(s);
            }
            describe(meta.target(), *meta.level(), &f, &source)
        };
        match step {
            Step::Show(text) => show(text, self.target),
            Step::Done => finish(),
            Step::Nothing => {}
        }
    }
}

/// What an event does to the progress line.
#[derive(Debug, PartialEq)]
enum Step {
    Show(String),
    Done,
    Nothing,
}

fn describe(target: &str, level: tracing::Level, f: &Fields, source: &str) -> Step {
    if target.starts_with("indmon::ingest") {
        let (Some(file), Some(rows)) = (f.file.as_deref(), f.rows) else {
            return Step::Nothing;
        };
        return Step::Show(if level == tracing::Level::INFO {
            format!("导入 {file}：已读 {rows} 行 (importing: {rows} rows read)")
        } else {
            // The last event of reading a file; the last rows are being stored.
            format!("导入 {file}：已读 {rows} 行，正在写入 (storing)")
        });
    }
    if target.starts_with("indmon::sources") {
        if f.message.starts_with("开始拉取") {
            return Step::Show(format!("拉取 {source} (pulling)"));
        }
        if let (Some(p), tracing::Level::DEBUG) = (f.pages, level) {
            return Step::Show(format!(
                "拉取 {source}：第 {p} 页，{} KiB (pulling: page {p})",
                f.bytes.unwrap_or(0) / 1024
            ));
        }
        // The pull's outcome, whichever it is.
        if f.source.is_some() && level <= tracing::Level::INFO {
            return Step::Done;
        }
    }
    Step::Nothing
}

/// The fields of an event that progress uses.
#[derive(Default)]
struct Fields {
    message: String,
    file: Option<String>,
    source: Option<String>,
    rows: Option<u64>,
    pages: Option<u64>,
    bytes: Option<u64>,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "rows" => self.rows = Some(value),
            "pages" => self.pages = Some(value),
            "bytes" => self.bytes = Some(value),
            _ => {}
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if let Ok(v) = u64::try_from(value) {
            self.record_u64(field, v);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "file" => self.file = Some(format!("{value:?}")),
            "source" => self.source = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

/// Log lines written around the progress line, which is taken off and redrawn.
#[derive(Clone, Copy, Default)]
pub struct Writer;

/// One log line's writer.
pub struct LineWriter;

impl<'a> MakeWriter<'a> for Writer {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter
    }
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        suspend(|| std::io::stderr().write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn the_import_and_pull_events_drive_the_progress_line() {
        let layer = Layer::drawing_on(ProgressDrawTarget::hidden);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "indmon::ingest", file = %"big.csv", rows = 500_000u64, "导入进行中 (importing)");
            assert_eq!(
                shown().as_deref(),
                Some("导入 big.csv：已读 500000 行 (importing: 500000 rows read)")
            );
            tracing::debug!(target: "indmon::ingest", file = %"big.csv", rows = 612_000u64, ms = 5u64, "rows parsed");
            assert_eq!(
                shown().as_deref(),
                Some("导入 big.csv：已读 612000 行，正在写入 (storing)")
            );
            finish();
            assert_eq!(shown(), None);
            tracing::info!(target: "indmon::sources", source = %"platform", kind = "http", "开始拉取 (pull started)");
            tracing::debug!(target: "indmon::sources::http", pages = 3u64, bytes = 4096u64, "已取得一页 (page fetched)");
            assert_eq!(
                shown().as_deref(),
                Some("拉取 platform：第 3 页，4 KiB (pulling: page 3)")
            );
            tracing::info!(target: "indmon::sources", source = %"platform", pages = 3u64, "拉取完成 (pull done)");
            assert_eq!(shown(), None);
        });
    }
}
