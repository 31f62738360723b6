//! The one integration-test binary of rounds-synth: the generated system is deterministic and
//! well-formed, and the platform's own statistics find what was planted and little else.

#[path = "synth/common.rs"]
mod common;
#[path = "synth/determinism.rs"]
mod determinism;
#[path = "synth/faers.rs"]
mod faers;
#[path = "synth/fhir.rs"]
mod fhir;
#[path = "synth/signals.rs"]
mod signals;
#[path = "synth/surveillance.rs"]
mod surveillance;
