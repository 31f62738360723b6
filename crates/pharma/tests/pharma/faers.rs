//! FAERS import against hand-made quarterly extracts (tests/fixtures/faers: two quarters, a
//! superseded version, a tie on fda_dt, a deleted case, a Latin-1 byte, lines with and without a
//! trailing `$`), and bad input reported with file and line.

use pharma::PharmaError;
use pharma::faers::{
    DrugField, Faers, FaersOptions, QuarterSources, Role, Source, load_dir, read_quarters,
};
use std::io::Cursor;
use std::path::PathBuf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/faers")
}

/// The occurrences as sorted "primaryid DRUG event" strings.
fn triples(faers: &Faers) -> Vec<String> {
    let p = &faers.pairs;
    let mut out: Vec<String> = p
        .occurrences
        .iter()
        .map(|&(r, d, e)| {
            format!(
                "{} {} {}",
                p.reports.name(r),
                p.drugs.name(d),
                p.events.name(e)
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn suspect_drugs_of_the_latest_version_of_each_undeleted_case_are_paired_with_its_events() {
    let faers = load_dir(&fixture(), FaersOptions::default()).unwrap();
    assert_eq!(
        triples(&faers),
        vec![
            // Case 100: version 2 (primaryid 1002, later fda_dt) replaces 1001; "ibuprofen" upper-cased;
            // "NAUSEA" is the term first written "Nausea".
            "1002 ASPIRIN Nausea",
            "1002 ASPIRIN Vomiting",
            "1002 IBUPROFEN Nausea",
            "1002 IBUPROFEN Vomiting",
            // Case 200: the concomitant paracetamol is left out; the Latin-1 É is read as É.
            "2001 CAFÉINE Nausea",
            "2001 CAFÉINE Rash",
            "2001 IBUPROFEN Nausea",
            "2001 IBUPROFEN Rash",
            // Case 400: two versions on the same fda_dt, the higher primaryid wins.
            "4002 DRUGY Headache",
        ]
    );
    let s = &faers.summary;
    assert_eq!(s.quarters, vec!["24Q1", "24Q2"]);
    assert_eq!(
        (s.demo_rows, s.cases, s.superseded_versions, s.deleted_cases),
        (7, 5, 2, 1)
    );
    // Case 500 names only a concomitant drug, so it is not a report of this analysis.
    assert_eq!(
        (s.reports, s.drug_rows, s.drug_rows_used, s.reac_rows),
        (3, 10, 5, 9)
    );
    assert_eq!(s.latin1_lines, 1);
}

#[test]
fn with_every_role_concomitant_drugs_count_too() {
    let faers = load_dir(
        &fixture(),
        FaersOptions {
            role: Role::All,
            drug_field: DrugField::DrugName,
        },
    )
    .unwrap();
    let t = triples(&faers);
    assert!(t.contains(&"2001 PARACETAMOL Rash".to_string()));
    assert!(t.contains(&"5001 OMEPRAZOLE Nausea".to_string()));
    assert_eq!((t.len(), faers.summary.reports), (12, 4));
}

#[test]
fn by_active_ingredient_a_drug_without_one_is_left_out_and_counted() {
    let faers = load_dir(
        &fixture(),
        FaersOptions {
            role: Role::Suspect,
            drug_field: DrugField::ProdAi,
        },
    )
    .unwrap();
    let t = triples(&faers);
    assert!(t.contains(&"2001 CAFFEINE Rash".to_string()));
    assert!(!t.iter().any(|x| x.starts_with("4002")));
    assert_eq!(
        (faers.summary.drug_rows_unnamed, faers.summary.reports),
        (1, 2)
    );
}

const DEMO: &str = "primaryid$caseid$caseversion$fda_dt\n11$1$1$20240101\n21$2$1$20240102\n";
const DRUG: &str =
    "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai\n11$1$1$PS$A$A\n21$2$1$PS$B$B\n";
const REAC: &str = "primaryid$caseid$pt$drug_rec_act\n11$1$Rash$\n21$2$Rash$\n";

fn quarter(demo: &str, drug: &str, reac: &str) -> Vec<QuarterSources<Cursor<Vec<u8>>>> {
    let source = |name: &str, text: &str| Source {
        name: name.to_string(),
        reader: Cursor::new(text.as_bytes().to_vec()),
    };
    vec![QuarterSources {
        quarter: "24Q1".into(),
        demo: source("DEMO24Q1.txt", demo),
        drug: source("DRUG24Q1.txt", drug),
        reac: source("REAC24Q1.txt", reac),
        deleted: Vec::new(),
    }]
}

fn error(demo: &str, drug: &str, reac: &str) -> String {
    match read_quarters(quarter(demo, drug, reac), FaersOptions::default()) {
        Err(e @ PharmaError::BadInput { .. }) => e.to_string(),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("bad input was accepted"),
    }
}

#[test]
fn a_minimal_quarter_read_from_memory_pairs_each_drug_with_its_event() {
    let faers = read_quarters(quarter(DEMO, DRUG, REAC), FaersOptions::default()).unwrap();
    assert_eq!(triples(&faers), vec!["11 A Rash", "21 B Rash"]);
}

#[test]
fn a_missing_column_is_reported_on_the_header_line() {
    let drug = DRUG.replace("role_cod", "role");
    assert!(error(DEMO, &drug, REAC).starts_with("DRUG24Q1.txt:1: missing column `role_cod`"));
}

#[test]
fn a_row_with_the_wrong_number_of_fields_is_reported_with_its_line() {
    let reac = "primaryid$caseid$pt$drug_rec_act\n11$1$Rash$\n21$2$Rash$x$y\n";
    assert_eq!(
        error(DEMO, DRUG, reac),
        "REAC24Q1.txt:3: expected 4 `$`-separated fields, found 5"
    );
}

#[test]
fn a_drug_row_whose_primaryid_is_in_no_demo_file_is_an_error_not_a_silent_drop() {
    let drug = format!("{DRUG}99$9$1$PS$C$C\n");
    assert_eq!(
        error(DEMO, &drug, REAC),
        "DRUG24Q1.txt:4: primaryid 99 is in no DEMO file"
    );
}

#[test]
fn an_empty_quarter_is_an_error() {
    assert_eq!(
        error("primaryid$caseid$caseversion$fda_dt\n", DRUG, REAC),
        "DEMO24Q1.txt:1: empty quarter 24Q1: the DEMO file has no reports"
    );
    assert_eq!(
        error("", DRUG, REAC),
        "DEMO24Q1.txt:0: empty file: no header line"
    );
}

#[test]
fn a_malformed_date_or_id_names_the_field() {
    let demo = DEMO.replace("20240102", "2024-01-02");
    assert_eq!(
        error(&demo, DRUG, REAC),
        "DEMO24Q1.txt:3: fda_dt `2024-01-02` is not a YYYYMMDD date"
    );
    let demo = DEMO.replace("21$2", "2x$2");
    assert_eq!(
        error(&demo, DRUG, REAC),
        "DEMO24Q1.txt:3: primaryid `2x` is not a number"
    );
}

#[test]
fn a_directory_without_a_quarter_or_with_an_incomplete_one_says_so() {
    let dir = std::env::temp_dir().join(format!("rounds-faers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = load_dir(&dir, FaersOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no FAERS quarter"), "{err}");
    std::fs::write(dir.join("DEMO24Q3.txt"), DEMO).unwrap();
    std::fs::write(dir.join("DRUG24Q3.txt"), DRUG).unwrap();
    let err = load_dir(&dir, FaersOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("quarter 24Q3 has no REAC24Q3.txt"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
