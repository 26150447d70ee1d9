//! indmon: an unattended monitor of a city's above-scale industrial enterprises.
//!
//! Data flows one way through the modules, in the order they are listed:
//! inputs are fetched from HTTP sources and inbox folders by [`sources`] (or named on the
//! command line), decoded and validated by [`ingest`], kept with their revisions by
//! [`store`], and described by the small value types ([`period`], [`amount`],
//! [`credit_code`], [`indicator`], [`registry`]) that every stage shares. [`analysis`] computes
//! growth, pulls and states from plain data, [`rules`] turns them into findings, [`alerts`] keeps
//! their lifecycle, and [`evaluate`] runs that chain for one period against the store; [`notify`]
//! mails per-official digests of what changed through a durable outbox, and [`report`] writes the
//! semimonthly analysis snapshot from an evaluation; [`cases`] assigns warnings to officials
//! and follows their answers (交办 → 反馈 → 销号) on the working days of [`calendar`];
//! [`export`] writes submissions, alerts and evaluations as CSV or XLSX for people; [`console`]
//! is the officials' web console that `indmon serve` runs on a listener of its own.
//!
//! `unsafe` is allowed in two modules only: `store::sqlite_raw` (direct SQLite calls for the
//! bulk reads) and `heap` (glibc's `malloc_trim`).
#![deny(unsafe_code)]

pub mod alerts;
pub mod amount;
pub mod analysis;
pub mod calendar;
pub mod cases;
pub mod causes;
pub mod cli;
pub mod config;
pub mod console;
pub mod credit_code;
pub mod daemon;
pub mod demo;
pub mod evaluate;
pub mod export;
pub mod feedback;
pub mod forecast;
pub mod heap;
pub mod indicator;
pub mod ingest;
pub mod notify;
pub mod period;
pub mod power;
pub mod record;
pub mod registry;
pub mod report;
pub mod rules;
pub mod sources;
pub mod store;
