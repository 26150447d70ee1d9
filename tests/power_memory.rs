//! A large power-daily file imports in bounded memory (issue 21: the README promises memory
//! flat in a file's size): 1,500,000 lines (50,000 accounts × 30 days) raise the peak resident
//! set by less than a bound far below what holding the file's lines would cost (some 250 bytes
//! a line: 360 MiB). Its own test binary, so that the peak (`VmHWM`, process-wide) is this
//! import's alone.

#[path = "power_memory/body.rs"]
mod body;
mod common;

use common::TestDb;

/// The bound on the peak's growth: SQLite's page cache (64 MiB) and the mapping included.
const BOUND_MIB: u64 = 100;

#[tokio::test]
async fn a_large_power_daily_file_imports_in_bounded_memory() {
    body::import_in_bounded_memory(TestDb::sqlite().await, BOUND_MIB).await;
}
