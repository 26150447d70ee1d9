//! `power_memory.rs`'s large power-daily file on PostgreSQL, in a test binary of its own so that
//! the peak (`VmHWM`, process-wide) is this import's alone. The lines go to the server through
//! one staging `COPY` fed while the file is read (`store::copy_feed`), at most two batches
//! queued: were the queue unbounded, a server slower than the parsing would leave the file's
//! encoded lines (~75 MiB) waiting here.

#[path = "power_memory/body.rs"]
mod body;
mod common;

use common::TestDb;

/// The bound on the peak's growth: the mapping and two batches, far below the file.
const BOUND_MIB: u64 = 40;

#[tokio::test]
async fn a_large_power_daily_file_imports_in_bounded_memory_on_postgres() {
    if let Some(db) = TestDb::postgres().await {
        body::import_in_bounded_memory(db, BOUND_MIB).await;
    }
}
