//! Parity tests: each method against values produced by its reference implementation.
//! Fixtures live in `tests/fixtures/<area>/`; the tests never need R or Python.
#[path = "parity/funnel.rs"]
mod funnel;
#[path = "parity/pv.rs"]
mod pv;
#[path = "parity/riskadj.rs"]
mod riskadj;
#[path = "parity/spc.rs"]
mod spc;
#[path = "parity/surveillance.rs"]
mod surveillance;
