//! The held years of an import written out as runs ([`super::year_runs`]) on a blocking
//! thread while the import goes on holding the next rows. Without it the import waited for
//! each run's sort and writing (500,000 enterprises × 25 months: 56 runs, 13–17 s of the
//! parse's 18–20 s) with one core idle, since the parser stops when its few batches wait.
//!
//! One run is written at a time, in file order, so that a month repeated between runs is
//! still found where they are merged (the earlier line stands).

use tokio::task::JoinHandle;

use super::held::Held;
use super::year_runs::{Repeat, Runs};

/// What writing a run gives back: its rows let go (their room kept), every run so far, and
/// the months repeated between runs that writing found.
type Written = anyhow::Result<(Held, Runs, Vec<Repeat>)>;

/// The runs written, and the one being written.
#[derive(Default)]
pub(super) struct RunWriter {
    runs: Runs,
    /// The run being written, which holds the runs before it meanwhile.
    writing: Option<JoinHandle<Written>>,
}

impl RunWriter {
    /// Whether a run was written or is being written.
    pub(super) fn any(&self) -> bool {
        self.writing.is_some() || !self.runs.is_empty()
    }

    /// Starts writing `years` as the next run, once the run before it is written; returns the
    /// rows of the run before, let go, for the next rows. Months found repeated go to
    /// `repeats`.
    pub(super) async fn write(
        &mut self,
        years: Held,
        repeats: &mut Vec<Repeat>,
    ) -> anyhow::Result<Option<Held>> {
        let spare = self.wait(repeats).await?;
        let mut runs = std::mem::take(&mut self.runs);
        self.writing = Some(tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let mut years = years;
            let mut repeats = Vec::new();
            runs.write(&years, &mut repeats)?;
            tracing::debug!(
                years = years.len(),
                ms = started.elapsed().as_millis() as u64,
                "held rows written out as a sorted run"
            );
            years.clear();
            Ok((years, runs, repeats))
        }));
        Ok(spare)
    }

    /// Waits for the run being written, if one is: returns its rows, let go.
    pub(super) async fn wait(&mut self, repeats: &mut Vec<Repeat>) -> anyhow::Result<Option<Held>> {
        let Some(writing) = self.writing.take() else {
            return Ok(None);
        };
        let (years, runs, more) = writing.await??;
        self.runs = runs;
        repeats.extend(more);
        Ok(Some(years))
    }

    /// Every run, written, for the merge.
    pub(super) async fn finish(mut self, repeats: &mut Vec<Repeat>) -> anyhow::Result<Runs> {
        self.wait(repeats).await?;
        Ok(self.runs)
    }
}
