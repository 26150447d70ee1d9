//! indmon: an unattended monitor of a city's above-scale industrial enterprises.
//!
//! Data flows one way through the modules, in the order they are listed:
//! inputs are decoded and validated by [`ingest`], kept with their revisions by
//! [`store`], and described by the small value types ([`period`], [`amount`],
//! [`credit_code`], [`indicator`], [`registry`]) that every stage shares.

pub mod amount;
pub mod cli;
pub mod config;
pub mod credit_code;
pub mod demo;
pub mod indicator;
pub mod ingest;
pub mod period;
pub mod registry;
pub mod store;
