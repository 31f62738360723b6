//! Pure numerics for Rounds. No I/O: every function takes plain values and returns plain values.
//! Each method names the reference implementation it is checked against in its module docs, and
//! `tests/parity.rs` holds the parity tests against values produced by that reference.

pub mod disproportionality;
pub mod error;
pub mod funnel;
pub mod logistic;
pub mod riskadj;
pub mod rt;
pub mod spc;
pub mod surveillance;

pub use error::StatsError;
