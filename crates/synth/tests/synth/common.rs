//! One generated system shared by the tests of this binary, and readers for its files.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use synth::{Options, Size, Truth};

/// Between small and medium where the planted signals need cases (inpatient stays), small where
/// they do not (ED visits); few practitioners, so the planted ones have many cases each.
pub const TEST_SIZE: Size = Size {
    admissions: 30_000.0,
    emergency: 3_000.0,
    practitioner_factor: 0.3,
    partitions: 8,
    faers_reports: 20_000,
};

pub struct Generated {
    pub dir: PathBuf,
    pub truth: Truth,
}

pub fn generated() -> &'static Generated {
    static GENERATED: OnceLock<Generated> = OnceLock::new();
    GENERATED.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("synth-shared");
        let _ = std::fs::remove_dir_all(&dir);
        let options = Options {
            seed: 20_261_124,
            scale: "test".to_string(),
            size: TEST_SIZE,
        };
        let truth = synth::generate(&options, &dir).expect("the test system is written");
        let read: Truth = serde_json::from_slice(&std::fs::read(dir.join("truth.json")).unwrap())
            .expect("truth.json reads back");
        assert_eq!(read, truth);
        Generated { dir, truth }
    })
}

pub fn ndjson(dir: &Path, resource: &str) -> Vec<Value> {
    let text =
        std::fs::read_to_string(dir.join("fhir").join(format!("{resource}.ndjson"))).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON resource"))
        .collect()
}

pub fn signal<'a>(truth: &'a Truth, kind: &str) -> &'a synth::Signal {
    truth
        .signals
        .iter()
        .find(|s| s.kind == kind)
        .unwrap_or_else(|| panic!("truth.json has a {kind} signal"))
}
