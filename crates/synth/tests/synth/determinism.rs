use std::collections::BTreeMap;
use std::path::Path;
use synth::{Options, Size};

const TINY: Size = Size {
    admissions: 1_500.0,
    emergency: 1_500.0,
    practitioner_factor: 0.3,
    partitions: 4,
    faers_reports: 2_000,
};

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn run(seed: u64, name: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let options = Options {
        seed,
        scale: "tiny".to_string(),
        size: TINY,
    };
    synth::generate(&options, &dir).unwrap();
    let out = files(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    out
}

#[test]
fn the_same_seed_writes_byte_identical_files_and_another_seed_does_not() {
    let first = run(42, "determinism-a");
    let again = run(42, "determinism-b");
    let other = run(43, "determinism-c");
    assert_eq!(first.len(), 35, "{:?}", first.keys().collect::<Vec<_>>());
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        again.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &first {
        assert!(
            bytes == &again[name],
            "{name} differs between two runs with seed 42"
        );
    }
    for name in [
        "fhir/Encounter.ndjson",
        "faers/ASCII/DEMO23Q1.txt",
        "surveillance/weekly.csv",
        "truth.json",
    ] {
        assert_ne!(
            first[name], other[name],
            "{name} is the same for seeds 42 and 43"
        );
    }
}

#[test]
fn an_unknown_scale_and_an_unwritable_folder_are_errors_not_panics() {
    let error = "huge".parse::<synth::Scale>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown scale `huge`: use small, medium or large"
    );
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("synth-not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let options = Options {
        seed: 1,
        scale: "tiny".to_string(),
        size: TINY,
    };
    let error = synth::generate(&options, &file.join("out")).unwrap_err();
    assert!(error.to_string().contains("synth-not-a-folder"), "{error}");
}
