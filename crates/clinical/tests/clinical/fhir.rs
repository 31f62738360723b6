//! FHIR import on every backend: what is stored (and what is not), the derived outcomes on
//! hand-computed cases, idempotent re-import, all-or-nothing refusal with precise problems,
//! --skip-invalid, Synthea-style bundles, and a reader no input can make panic.

use super::support::{TestDb, backends};
use clinical::import::{self, Options, Summary, TypeCounts};
use clinical::{Error, history};
use sqlx::Row;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clinical/fixtures")
}

/// A fresh folder holding a copy of the NDJSON fixtures.
/// An empty directory of its own, named after what it is for.
fn empty_dir(label: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "rounds-clinical-{}-{label}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A directory with a copy of the NDJSON fixtures.
fn scratch() -> PathBuf {
    let dir = empty_dir("ndjson");
    for entry in std::fs::read_dir(fixtures().join("ndjson")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

async fn import(t: &TestDb, paths: &[PathBuf]) -> Result<Summary, Error> {
    import::run(&t.db, paths, &mut Options::default()).await
}

/// An import that keeps up to `records_in_memory` records in memory.
async fn import_keeping(
    t: &TestDb,
    records_in_memory: usize,
    paths: &[PathBuf],
) -> Result<Summary, Error> {
    let mut options = Options {
        records_in_memory,
        ..Options::default()
    };
    import::run(&t.db, paths, &mut options).await
}

/// Every backend twice: with the default memory budget, and with a budget of one record, so
/// that what the import keeps goes to temporary files from the first record on (`spill`).
async fn within_and_past_the_budget() -> Vec<(usize, TestDb)> {
    let mut out = Vec::new();
    for budget in [import::RECORDS_IN_MEMORY, 1] {
        out.extend(backends().await.into_iter().map(|t| (budget, t)));
    }
    out
}

async fn load_value_sets(t: &TestDb) {
    clinical::import::template::load_value_sets(
        &t.db,
        &fixtures().join("value-sets.csv"),
        &Options::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{}: value sets: {e}", t.name));
}

fn counts(s: &Summary, ty: &str) -> TypeCounts {
    s.types.get(ty).copied().unwrap_or_default()
}

fn tc(read: u64, created: u64, updated: u64, unchanged: u64, rejected: u64) -> TypeCounts {
    TypeCounts {
        read,
        created,
        updated,
        unchanged,
        rejected,
    }
}

async fn text(t: &TestDb, sql: &'static str, id: &str) -> Option<String> {
    sqlx::query(sql)
        .bind(id)
        .fetch_one(&t.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{}: {sql}: {e}", t.name))
        .try_get(0)
        .unwrap()
}

async fn int(t: &TestDb, sql: &'static str, id: &str) -> Option<i64> {
    sqlx::query(sql)
        .bind(id)
        .fetch_one(&t.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{}: {sql}: {e}", t.name))
        .try_get(0)
        .unwrap()
}

/// The outcome row of an encounter, by its source id.
async fn outcome(t: &TestDb, encounter: &str) -> Vec<Option<i64>> {
    let row = sqlx::query(
        "SELECT o.los_days, o.los_hours, o.in_hospital_death, o.readmission_index, o.readmitted_30, \
         (SELECT r.source_id FROM encounters r WHERE r.id = o.readmission_encounter_id) AS readmission, \
         o.or_procedure, o.return_to_or_30, o.complications \
         FROM encounter_outcomes o JOIN encounters e ON e.id = o.encounter_id WHERE e.source_id = $1",
    )
    .bind(encounter)
    .fetch_one(&t.db.pool)
    .await
    .unwrap_or_else(|e| panic!("{}: outcome of {encounter}: {e}", t.name));
    let readmission: Option<String> = row.try_get(5).unwrap();
    let mut values: Vec<Option<i64>> = (0..9)
        .filter(|i| *i != 5)
        .map(|i| row.try_get::<Option<i64>, _>(i).unwrap())
        .collect();
    // The readmission's source id as a number (e2 → 2) keeps the comparison one vector.
    values.insert(
        5,
        readmission.map(|r| r.trim_start_matches('e').parse().unwrap()),
    );
    values
}

#[tokio::test]
async fn a_bulk_export_is_stored_minimum_necessary_with_its_organisation() {
    for t in backends().await {
        let s = import(&t, &[scratch()])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(counts(&s, "Patient"), tc(3, 3, 0, 0, 0), "{}", t.name);
        assert_eq!(counts(&s, "Encounter"), tc(5, 5, 0, 0, 0), "{}", t.name);
        assert_eq!(counts(&s, "Condition"), tc(6, 6, 0, 0, 0), "{}", t.name);
        assert_eq!(counts(&s, "Procedure"), tc(3, 3, 0, 0, 0), "{}", t.name);
        assert_eq!(counts(&s, "Organization"), tc(2, 2, 0, 0, 0), "{}", t.name);
        assert_eq!(counts(&s, "Location"), tc(1, 1, 0, 0, 0), "{}", t.name);
        assert_eq!(counts(&s, "Practitioner"), tc(2, 2, 0, 0, 0), "{}", t.name);

        // The patient: birth date, sex, 3-digit ZIP, death date, and nothing else.
        let p1 = sqlx::query("SELECT source_system, birth_date, sex, zip3, death_date FROM patients WHERE source_id = 'p1'")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
        let p1: Vec<Option<String>> = (0..5).map(|i| p1.try_get(i).unwrap()).collect();
        assert_eq!(
            p1,
            ["ehr", "1940-05-01", "female", "021", "2024-01-22"].map(|s| Some(s.to_string())),
            "{}",
            t.name
        );
        assert_eq!(
            text(&t, "SELECT zip3 FROM patients WHERE source_id = $1", "p2")
                .await
                .as_deref(),
            Some("606"),
            "{}",
            t.name
        );
        assert_eq!(
            text(&t, "SELECT zip3 FROM patients WHERE source_id = $1", "p3").await,
            None,
            "{}",
            t.name
        );
        let columns = sqlx::query("SELECT * FROM patients LIMIT 1")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
        let names: Vec<&str> = sqlx::Row::columns(&columns)
            .iter()
            .map(sqlx::Column::name)
            .collect();
        assert_eq!(
            names,
            [
                "id",
                "source_system",
                "source_id",
                "birth_date",
                "sex",
                "zip3",
                "death_date",
                "content_hash",
                "import_run_id"
            ],
            "{}",
            t.name
        );

        // The organisation: the facility by CCN, its department, the ward as a unit.
        assert_eq!(
            t.number(
                "SELECT COUNT(*) FROM facilities WHERE ccn = '050454' AND name = 'General Hospital'"
            )
            .await,
            1,
            "{}",
            t.name
        );
        assert_eq!(
            t.number("SELECT COUNT(*) FROM departments WHERE name = 'Surgery'")
                .await,
            1,
            "{}",
            t.name
        );
        assert_eq!(
            t.number("SELECT COUNT(*) FROM units WHERE name = '4 West' AND kind = 'med-surg' AND beds = 28")
                .await,
            1,
            "{}",
            t.name
        );

        // The encounter: class, times in UTC, facility, department, unit, attending (ATND before
        // the admitter), admit source, disposition, MS-DRG, principal diagnosis (rank 1).
        let e3 = sqlx::query(
            "SELECT e.class, e.admit_at, e.discharge_at, f.name, d.name, u.name, p.npi, e.admit_source, e.discharge_disposition, \
             e.ms_drg, o.principal_dx_code FROM encounters e JOIN facilities f ON f.id = e.facility_id \
             JOIN encounter_outcomes o ON o.encounter_id = e.id JOIN departments d ON d.id = e.department_id JOIN units u ON u.id = e.unit_id \
             JOIN clinical_practitioners p ON p.id = e.attending_id WHERE e.source_id = 'e3'",
        )
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
        let e3: Vec<String> = (0..11).map(|i| e3.try_get(i).unwrap()).collect();
        assert_eq!(
            e3,
            [
                "inpatient",
                "2024-02-01T14:00:00.000000Z",
                "2024-02-03T14:00:00.000000Z",
                "General Hospital",
                "Surgery",
                "4 West",
                "1245319599",
                "emd",
                "home",
                "343",
                "K35.80"
            ],
            "{}",
            t.name
        );
        assert_eq!(
            int(&t, "SELECT rank FROM conditions WHERE source_id = $1", "c5").await,
            Some(3),
            "{}",
            t.name
        );
        assert_eq!(
            text(
                &t,
                "SELECT present_on_admission FROM conditions WHERE source_id = $1",
                "c4"
            )
            .await
            .as_deref(),
            Some("N"),
            "{}",
            t.name
        );
        assert_eq!(
            text(&t, "SELECT p.npi FROM procedures x JOIN clinical_practitioners p ON p.id = x.practitioner_id WHERE x.source_id = $1", "x1")
                .await
                .as_deref(),
            Some("1245319599"),
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn outcomes_follow_their_definitions_on_hand_computed_cases() {
    for t in backends().await {
        load_value_sets(&t).await;
        import(&t, &[scratch()])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_hand_computed_outcomes(&t).await;
    }
}

/// The outcomes of a patient imported earlier are recomputed from the store; those of a patient
/// new to the import from what the import holds. Both give the same answers.
#[tokio::test]
async fn outcomes_recomputed_for_patients_imported_earlier_follow_the_same_definitions() {
    for t in backends().await {
        load_value_sets(&t).await;
        let all = scratch();
        let first = scratch();
        for file in ["Encounter", "Condition", "Procedure"] {
            std::fs::remove_file(first.join(format!("{file}.ndjson"))).unwrap();
        }
        import(&t, &[first])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(
            t.number("SELECT COUNT(*) FROM encounter_outcomes").await,
            0,
            "{}",
            t.name
        );
        import(&t, &[all])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_hand_computed_outcomes(&t).await;
    }
}

async fn assert_hand_computed_outcomes(t: &TestDb) {
    // [los_days, los_hours, death, index, readmitted, readmission, or_procedure, return_to_or, complications]
    // e1: 4 midnights; readmitted by e2 15 days later (heart failure, not planned).
    assert_eq!(
        outcome(t, "e1").await,
        [
            Some(4),
            Some(98),
            Some(0),
            Some(1),
            Some(1),
            Some(2),
            Some(0),
            None,
            Some(0)
        ],
        "{}: e1",
        t.name
    );
    // e2: expired, so in-hospital death and no index stay.
    assert_eq!(
        outcome(t, "e2").await,
        [
            Some(2),
            Some(48),
            Some(1),
            Some(0),
            None,
            None,
            Some(0),
            None,
            Some(0)
        ],
        "{}: e2",
        t.name
    );
    // e3: readmitted 7 days later for chemotherapy (planned: not a readmission); back to the
    // OR the next day; one complication not present on admission (the one present is not).
    assert_eq!(
        outcome(t, "e3").await,
        [
            Some(2),
            Some(48),
            Some(0),
            Some(1),
            Some(0),
            None,
            Some(1),
            Some(1),
            Some(1)
        ],
        "{}: e3",
        t.name
    );
    assert_eq!(
        outcome(t, "e4").await,
        [
            Some(1),
            Some(24),
            Some(0),
            Some(1),
            Some(0),
            None,
            Some(0),
            None,
            Some(0)
        ],
        "{}: e4",
        t.name
    );
    // e5: emergency visit, same day.
    assert_eq!(
        outcome(t, "e5").await,
        [
            Some(0),
            Some(4),
            Some(0),
            Some(0),
            None,
            None,
            Some(0),
            None,
            Some(0)
        ],
        "{}: e5",
        t.name
    );
    assert_eq!(
        t.number(
            "SELECT COUNT(*) FROM encounter_complications WHERE value_set = 'complication-ssi'"
        )
        .await,
        1,
        "{}",
        t.name
    );
    // The principal diagnosis is the encounter's condition of rank 1; e5 lists none.
    for (encounter, principal) in [
        ("e1", Some("I50.9")),
        ("e3", Some("K35.80")),
        ("e4", Some("Z51.11")),
        ("e5", None),
    ] {
        assert_eq!(
            text(
                t,
                "SELECT o.principal_dx_code FROM encounter_outcomes o JOIN encounters e ON e.id = o.encounter_id \
                 WHERE e.source_id = $1",
                encounter
            )
            .await
            .as_deref(),
            principal,
            "{}: {encounter}",
            t.name
        );
    }
}

#[tokio::test]
async fn importing_the_same_files_again_changes_nothing_and_a_change_updates_one_record() {
    for t in backends().await {
        let dir = scratch();
        import(&t, std::slice::from_ref(&dir)).await.unwrap();
        let again = import(&t, std::slice::from_ref(&dir))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        let total = again.total();
        assert_eq!(
            (
                total.read,
                total.created,
                total.updated,
                total.unchanged,
                total.rejected
            ),
            (22, 0, 0, 22, 0),
            "{}",
            t.name
        );
        assert_eq!(
            t.number("SELECT COUNT(*) FROM facilities").await,
            1,
            "{}",
            t.name
        );
        assert_eq!(
            t.number("SELECT COUNT(*) FROM units").await,
            1,
            "{}",
            t.name
        );

        // The patient moves: a new ZIP is one update; a new name is nothing (names are not kept).
        let patients = std::fs::read_to_string(dir.join("Patient.ndjson")).unwrap();
        std::fs::write(
            dir.join("Patient.ndjson"),
            patients
                .replace("60614-1234", "10001")
                .replace("\"Doe\"", "\"Roe\""),
        )
        .unwrap();
        let changed = import(&t, std::slice::from_ref(&dir)).await.unwrap();
        assert_eq!(counts(&changed, "Patient"), tc(3, 0, 1, 2, 0), "{}", t.name);
        assert_eq!(
            text(&t, "SELECT zip3 FROM patients WHERE source_id = $1", "p2")
                .await
                .as_deref(),
            Some("100"),
            "{}",
            t.name
        );

        let runs = history::recent(&t.db, 10).await.unwrap();
        assert_eq!(runs.len(), 3, "{}", t.name);
        assert_eq!(runs[0].status, "committed");
        assert_eq!(runs[0].counts["Patient"], tc(3, 0, 1, 2, 0));
        // One audit entry per import, not per record.
        assert_eq!(
            t.number("SELECT COUNT(*) FROM audit_log WHERE action = 'import.run'")
                .await,
            3,
            "{}",
            t.name
        );
        assert!(matches!(
            platform::audit::verify(&t.db).await.unwrap(),
            platform::audit::Verdict::Intact { entries: 3 }
        ));
    }
}

#[tokio::test]
async fn any_order_of_files_and_gzip_work() {
    for t in backends().await {
        let dir = scratch();
        // Name the files so the children sort before the parents, and gzip one.
        for (from, to) in [
            ("Procedure.ndjson", "1.Procedure.ndjson"),
            ("Organization.ndjson", "9.Organization.ndjson"),
        ] {
            std::fs::rename(dir.join(from), dir.join(to)).unwrap();
        }
        let bytes = std::fs::read(dir.join("Encounter.ndjson")).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        std::fs::write(dir.join("Encounter.ndjson.gz"), gz.finish().unwrap()).unwrap();
        std::fs::remove_file(dir.join("Encounter.ndjson")).unwrap();
        let s = import(&t, &[dir])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(s.total().created, 22, "{}", t.name);
    }
}

fn append(path: &Path, lines: &[&str]) {
    let mut text = std::fs::read_to_string(path).unwrap();
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn refused(result: Result<Summary, Error>, name: &str) -> (Summary, Vec<String>) {
    match result {
        Err(Error::Rejected { summary, problems }) => {
            (*summary, problems.iter().map(ToString::to_string).collect())
        }
        Err(e) => panic!("{name}: expected a refusal, got {e}"),
        Ok(s) => panic!("{name}: expected a refusal, got {s:?}"),
    }
}

/// Synthea's bulk export names a PractitionerRole's practitioner and organization by business
/// identifier alone (`{"identifier": {"system": NPI, "value": …}}`, no `reference`): such a
/// logical reference resolves like a conditional one, to a record of the reference's type or
/// else of the kind the field refers to. A Patient cannot be named that way (its identifiers
/// are not stored).
#[tokio::test]
async fn logical_references_by_identifier_resolve_like_conditional_ones() {
    for t in backends().await {
        let dir = scratch();
        std::fs::write(
            dir.join("PractitionerRole.ndjson"),
            concat!(
                r#"{"resourceType":"PractitionerRole","id":"role-1","practitioner":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1245319599"},"display":"Dr. Per Lind"},"organization":{"identifier":{"system":"urn:oid:2.16.840.1.113883.4.336","value":"050454"}}}"#,
                "\n"
            ),
        )
        .unwrap();
        append(
            &dir.join("Encounter.ndjson"),
            &[
                r#"{"resourceType":"Encounter","id":"e-role","class":{"code":"AMB"},"subject":{"reference":"Patient/p1"},"period":{"start":"2024-05-01T09:00:00Z"},"participant":[{"type":[{"coding":[{"code":"ATND"}]}],"individual":{"reference":"PractitionerRole/role-1"}}]}"#,
            ],
        );
        let procedures = dir.join("Procedure.ndjson");
        let kept = std::fs::read_to_string(&procedures).unwrap();
        append(
            &procedures,
            &[
                r#"{"resourceType":"Procedure","id":"pr-by-mrn","status":"completed","subject":{"identifier":{"system":"urn:mrn","value":"42"}},"code":{"coding":[{"system":"http://snomed.info/sct","code":"80146002"}]}}"#,
            ],
        );
        let (_, problems) = refused(import(&t, std::slice::from_ref(&dir)).await, t.name);
        assert_eq!(
            problems,
            [format!(
                "{}:4: subject: references to a Patient by identifier are not supported (patient identifiers are not stored)",
                procedures.display()
            )],
            "{}",
            t.name
        );

        std::fs::write(&procedures, kept).unwrap();
        let s = import(&t, std::slice::from_ref(&dir))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(counts(&s, "PractitionerRole").created, 1, "{}", t.name);
        // The encounter's attending is the role's practitioner, found by NPI.
        assert_eq!(
            t.number(
                "SELECT COUNT(*) FROM encounters e JOIN clinical_practitioners p ON p.id = e.attending_id \
                 WHERE e.source_id = 'e-role' AND p.source_id = 'pr-2'"
            )
            .await,
            1,
            "{}",
            t.name
        );
    }
}

/// A FHIR document (a discharge summary as a `document` Bundle: a Composition first, then the
/// resources it cites, by `urn:uuid:`) imports what Rounds stores and skips the rest; a
/// `message` Bundle (an event, not a record set) is refused, naming its type.
#[tokio::test]
async fn a_document_bundle_imports_and_a_message_bundle_is_refused() {
    let bundle = |kind: &str| {
        serde_json::json!({
            "resourceType": "Bundle", "type": kind,
            "entry": [
                {"fullUrl": "urn:uuid:c1", "resource": {"resourceType": "Composition", "id": "c1", "status": "final",
                    "subject": {"reference": "urn:uuid:p1"}, "encounter": {"reference": "urn:uuid:e1"}}},
                {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "doc-p1", "gender": "male", "birthDate": "1941-06-02"}},
                {"fullUrl": "urn:uuid:e1", "resource": {"resourceType": "Encounter", "id": "doc-e1", "status": "finished",
                    "class": {"code": "IMP"}, "subject": {"reference": "urn:uuid:p1"},
                    "period": {"start": "2024-02-01T08:00:00Z", "end": "2024-02-04T11:00:00Z"}}}
            ]
        })
        .to_string()
    };
    for t in backends().await {
        let dir = empty_dir(&format!("{}-document", t.name));
        std::fs::write(dir.join("discharge-summary.json"), bundle("document")).unwrap();
        let s = import(&t, std::slice::from_ref(&dir))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(counts(&s, "Encounter"), tc(1, 1, 0, 0, 0), "{}", t.name);
        assert_eq!(counts(&s, "Patient"), tc(1, 1, 0, 0, 0), "{}", t.name);
        assert_eq!(s.skipped.get("Composition"), Some(&1), "{}", t.name);

        let dir = empty_dir(&format!("{}-message", t.name));
        std::fs::write(dir.join("adt.json"), bundle("message")).unwrap();
        let (_, problems) = refused(import(&t, std::slice::from_ref(&dir)).await, t.name);
        assert_eq!(
            problems,
            [format!(
                "{}:1: type: a message Bundle is not imported (collection, transaction, batch, searchset or document)",
                dir.join("adt.json").display()
            )],
            "{}",
            t.name
        );
    }
}

/// Real exports put resources inside others (`"reference": "#home"` to a contained Location)
/// and write references with only a display. A contained resource names nothing Rounds stores:
/// an optional reference to one is left empty, with a warning. A required reference with only a
/// display names no record: refused, without repeating the display (it may be a name).
#[tokio::test]
async fn contained_resources_and_display_only_references_are_told_apart() {
    for t in backends().await {
        let dir = scratch();
        append(
            &dir.join("Encounter.ndjson"),
            &[
                r##"{"resourceType":"Encounter","id":"e-home","status":"finished","class":{"code":"HH"},"contained":[{"resourceType":"Location","id":"home","description":"the patient's home"}],"subject":{"reference":"Patient/p1"},"period":{"start":"2024-03-01T16:00:00+10:00","end":"2024-03-01T16:30:00+10:00"},"location":[{"location":{"reference":"#home"}}]}"##,
            ],
        );
        let procedures = dir.join("Procedure.ndjson");
        let kept = std::fs::read_to_string(&procedures).unwrap();
        append(
            &procedures,
            &[
                r#"{"resourceType":"Procedure","id":"pr-display","status":"completed","subject":{"display":"Jane Doe"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"48023004"}]}}"#,
                r##"{"resourceType":"Procedure","id":"pr-contained","status":"completed","subject":{"reference":"#p"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"48023004"}]}}"##,
            ],
        );
        let (_, problems) = refused(import(&t, std::slice::from_ref(&dir)).await, t.name);
        let p = procedures.display().to_string();
        assert_eq!(
            problems,
            [
                format!(
                    "{p}:4: subject: has no reference (Type/id) or identifier to the record it names"
                ),
                format!(
                    "{p}:5: subject: '#p' is a resource contained in this one; it must refer to a resource of its own"
                ),
            ],
            "{}",
            t.name
        );

        std::fs::write(&procedures, kept).unwrap();
        let s = import(&t, std::slice::from_ref(&dir))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        let e = dir.join("Encounter.ndjson").display().to_string();
        let warnings: Vec<String> = s.warnings.iter().map(ToString::to_string).collect();
        assert!(
            warnings.contains(&format!(
                "{e}:6: location: '#home' is a resource contained in this one, which is not stored; left empty"
            )),
            "{}: {warnings:?}",
            t.name
        );
        assert_eq!(
            t.number(
                "SELECT COUNT(*) FROM encounters WHERE source_id = 'e-home' AND unit_id IS NULL"
            )
            .await,
            1,
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn one_bad_record_refuses_the_import_and_every_bad_record_is_named() {
    for t in backends().await {
        let dir = scratch();
        let patients = dir.join("Patient.ndjson");
        append(
            &patients,
            &[
                r#"{"resourceType":"Patient","id":"p4","gender":"female","birthDate":"1950-13-01"}"#,
                r#"{"resourceType":"Encounter","id":"e9","class":{"code":"IMP"}}"#,
                r#"{"resourceType":"Patient","id":"#,
                r#"{"resourceType":"Patient","id":"p3","gender":"male","birthDate":"2001-02-03"}"#,
            ],
        );
        append(
            &dir.join("Encounter.ndjson"),
            &[
                r#"{"resourceType":"Encounter","id":"e6","class":{"code":"IMP"},"subject":{"reference":"Patient/p99"},"period":{"start":"2024-01-02T00:00:00Z"}}"#,
                r#"{"resourceType":"Encounter","id":"e7","class":{"code":"IMP"},"subject":{"reference":"Patient/p1"},"period":{"start":"2024-01-02T00:00:00Z","end":"2024-01-01T00:00:00Z"}}"#,
            ],
        );
        let (summary, problems) = refused(import(&t, std::slice::from_ref(&dir)).await, t.name);
        let p = patients.display().to_string();
        let e = dir.join("Encounter.ndjson").display().to_string();
        assert_eq!(
            problems,
            [
                format!("{p}:4: birthDate: '1950-13-01' is not a date (YYYY-MM-DD)"),
                format!("{p}:5: resourceType: expected Patient, found 'Encounter'"),
                format!("{p}:6: json: EOF while parsing a value at column 31"),
                format!("{p}:7: id: Patient/p3 appears twice with different content"),
                format!(
                    "{e}:6: subject: Patient/p99 is in no file of this import and not in the store"
                ),
                format!(
                    "{e}:7: period.end: 2024-01-01T00:00:00Z is before the start 2024-01-02T00:00:00Z"
                ),
            ],
            "{}",
            t.name
        );
        assert_eq!(counts(&summary, "Patient").rejected, 4, "{}", t.name);
        // Nothing was written, not even the facility; the refusal is in the history and audited.
        for table in [
            "SELECT COUNT(*) FROM patients",
            "SELECT COUNT(*) FROM encounters",
            "SELECT COUNT(*) FROM facilities",
        ] {
            assert_eq!(t.number(table).await, 0, "{}: {table}", t.name);
        }
        let runs = history::recent(&t.db, 10).await.unwrap();
        assert_eq!(
            (runs.len(), runs[0].status.as_str(), runs[0].problems),
            (1, "refused", 6),
            "{}",
            t.name
        );
        assert_eq!(
            t.number(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'import.run' AND outcome = 'failure'"
            )
            .await,
            1,
            "{}",
            t.name
        );

        // --skip-invalid loads the good ones and lists the bad ones; an encounter of a rejected
        // patient is rejected in turn.
        append(
            &dir.join("Encounter.ndjson"),
            &[
                r#"{"resourceType":"Encounter","id":"e8","class":{"code":"AMB"},"subject":{"reference":"Patient/p4"},"period":{"start":"2024-01-02T00:00:00Z"}}"#,
            ],
        );
        let mut options = Options {
            skip_invalid: true,
            ..Options::default()
        };
        let s = import::run(&t.db, &[dir], &mut options)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(counts(&s, "Patient"), tc(7, 3, 0, 0, 4), "{}", t.name);
        assert_eq!(counts(&s, "Encounter"), tc(8, 5, 0, 0, 3), "{}", t.name);
        assert_eq!(s.rejects.len(), 7, "{}", t.name);
        assert!(
            s.rejects[6].to_string().ends_with(
                ":8: subject: Patient/p4 was rejected, so this record cannot refer to it"
            ),
            "{}: {}",
            t.name,
            s.rejects[6]
        );
        assert_eq!(
            history::recent(&t.db, 1).await.unwrap()[0].status,
            "partial",
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn a_truncated_gzip_and_an_empty_file_are_each_reported() {
    for t in backends().await {
        let dir = scratch();
        let bytes = std::fs::read(dir.join("Condition.ndjson")).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        let gz = gz.finish().unwrap();
        std::fs::write(dir.join("Condition.ndjson.gz"), &gz[..gz.len() / 2]).unwrap();
        std::fs::remove_file(dir.join("Condition.ndjson")).unwrap();
        std::fs::write(dir.join("Procedure.ndjson"), "").unwrap();
        let (_, problems) = refused(import(&t, std::slice::from_ref(&dir)).await, t.name);
        assert_eq!(problems.len(), 2, "{}: {problems:?}", t.name);
        // Files are scanned in name order.
        assert!(
            problems[0].starts_with(&format!("{}:", dir.join("Condition.ndjson.gz").display())),
            "{}: {}",
            t.name,
            problems[0]
        );
        assert!(
            problems[0].ends_with(": file: the gzip file is cut short (unexpected end of file)"),
            "{}: {}",
            t.name,
            problems[0]
        );
        assert_eq!(
            problems[1],
            format!(
                "{}:1: file: is empty (no resources)",
                dir.join("Procedure.ndjson").display()
            ),
            "{}",
            t.name
        );
        assert_eq!(
            t.number("SELECT COUNT(*) FROM conditions").await,
            0,
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn a_synthea_style_export_imports_through_urn_uuids_and_conditional_references() {
    for t in backends().await {
        // The patient bundle sorts before the hospital and practitioner bundles it refers to.
        let dir = fixtures().join("synthea-fhir");
        let s = import(&t, std::slice::from_ref(&dir))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(counts(&s, "Patient"), tc(1, 1, 0, 0, 0), "{}", t.name);
        assert_eq!(counts(&s, "Encounter"), tc(2, 2, 0, 0, 0), "{}", t.name);
        assert_eq!(counts(&s, "Condition").created, 1, "{}", t.name);
        assert_eq!(counts(&s, "Procedure").created, 1, "{}", t.name);
        assert_eq!(counts(&s, "PractitionerRole").created, 1, "{}", t.name);
        assert_eq!(s.skipped.get("Observation"), Some(&1), "{}", t.name);
        // The Claim is read onto its encounter (payer, charges), not skipped.
        assert_eq!(s.skipped.get("Claim"), None, "{}", t.name);
        assert_eq!(s.billing, 1, "{}", t.name);
        assert_eq!(
            text(
                &t,
                "SELECT payer FROM encounters WHERE source_id = $1",
                "6f4c1c2e-0e21-4a4e-8a49-1f2b2c3d4e5f"
            )
            .await
            .as_deref(),
            Some("Medicare"),
            "{}",
            t.name
        );
        assert_eq!(
            int(
                &t,
                "SELECT charges_cents FROM encounters WHERE source_id = $1",
                "6f4c1c2e-0e21-4a4e-8a49-1f2b2c3d4e5f"
            )
            .await,
            Some(1_204_567),
            "{}",
            t.name
        );
        let e = sqlx::query(
            "SELECT e.class, e.admit_at, f.name, p.npi, pt.zip3, pt.sex FROM encounters e JOIN facilities f ON f.id = e.facility_id \
             JOIN clinical_practitioners p ON p.id = e.attending_id JOIN patients pt ON pt.id = e.patient_id \
             WHERE e.source_id = '6f4c1c2e-0e21-4a4e-8a49-1f2b2c3d4e5f'",
        )
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
        let e: Vec<String> = (0..6).map(|i| e.try_get(i).unwrap()).collect();
        assert_eq!(
            e,
            [
                "inpatient",
                "2019-03-04T14:12:44.000000Z",
                "LOWELL GENERAL HOSPITAL",
                "9999950540",
                "018",
                "female"
            ],
            "{}",
            t.name
        );
        assert_eq!(
            text(
                &t,
                "SELECT code_system FROM conditions WHERE source_id = $1",
                "1d3e6c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
            )
            .await
            .as_deref(),
            Some("http://snomed.info/sct")
        );
        let again = import(&t, &[dir]).await.unwrap();
        assert_eq!(
            (again.total().created, again.total().updated),
            (0, 0),
            "{}",
            t.name
        );
    }
}

async fn billing(
    t: &TestDb,
    encounter: &str,
) -> (Option<String>, Option<i64>, Option<i64>, Option<String>) {
    let row = sqlx::query(
        "SELECT payer, cost_cents, charges_cents, ms_drg FROM encounters WHERE source_id = $1",
    )
    .bind(encounter)
    .fetch_one(&t.db.pool)
    .await
    .unwrap_or_else(|e| panic!("{}: {e}", t.name));
    (
        row.try_get(0).unwrap(),
        row.try_get(1).unwrap(),
        row.try_get(2).unwrap(),
        row.try_get(3).unwrap(),
    )
}

#[tokio::test]
async fn claims_and_explanations_of_benefit_give_payer_amounts_and_drg() {
    for (budget, t) in within_and_past_the_budget().await {
        let dir = scratch();
        for name in ["Claim.ndjson", "ExplanationOfBenefit.ndjson"] {
            std::fs::copy(fixtures().join("billing").join(name), dir.join(name)).unwrap();
        }
        let s = import_keeping(&t, budget, std::slice::from_ref(&dir))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(s.billing, 6, "{}", t.name);
        assert!(s.skipped.is_empty(), "{}: {:?}", t.name, s.skipped);
        let some = |s: &str| Some(s.to_string());
        // Two claims (the stay and a pharmacy claim) add up to the charges; the EOB, found
        // through its Claim, gives the payer and what was paid; the DRG stays the Encounter's.
        assert_eq!(
            billing(&t, "e1").await,
            (
                some("Medicare Part A"),
                Some(963_654),
                Some(1_214_617),
                some("291")
            ),
            "{}",
            t.name
        );
        // No Claim: the EOB's submitted total is the charges.
        assert_eq!(
            billing(&t, "e3").await,
            (
                some("Blue Cross"),
                Some(1_500_000),
                Some(2_000_000),
                some("343")
            ),
            "{}",
            t.name
        );
        // The EOB names no payer, so the Claim's coverage does; the MS-DRG comes from the
        // C4BB supportingInfo of category drg.
        assert_eq!(
            billing(&t, "e5").await,
            (some("Aetna"), Some(60_000), Some(85_000), some("392")),
            "{}",
            t.name
        );
        assert_eq!(
            billing(&t, "e2").await,
            (None, None, None, some("291")),
            "{}",
            t.name
        );

        let again = import_keeping(&t, budget, std::slice::from_ref(&dir))
            .await
            .unwrap();
        assert_eq!(
            (again.total().created, again.total().updated),
            (0, 0),
            "{}",
            t.name
        );

        // A bad DRG in an EOB refuses the import, naming the line; nothing changes.
        append(
            &dir.join("ExplanationOfBenefit.ndjson"),
            &[
                r#"{"resourceType":"ExplanationOfBenefit","id":"eob-4","item":[{"encounter":[{"reference":"Encounter/e4"}]}],"supportingInfo":[{"category":{"coding":[{"code":"drg"}]},"code":{"coding":[{"code":"39"}]}}]}"#,
                r#"{"resourceType":"ExplanationOfBenefit","id":"eob-2","item":[{"encounter":[{"reference":"Encounter/e2"}]}],"payment":{"amount":{"value":"ten"}}}"#,
            ],
        );
        let (_, problems) = refused(
            import_keeping(&t, budget, std::slice::from_ref(&dir)).await,
            t.name,
        );
        let file = dir
            .join("ExplanationOfBenefit.ndjson")
            .display()
            .to_string();
        assert_eq!(problems.len(), 2, "{}: {problems:?}", t.name);
        assert_eq!(
            problems[0],
            format!("{file}:4: supportingInfo.code: MS-DRG '39' is not three digits"),
            "{}",
            t.name
        );
        assert!(
            problems[1].starts_with(&format!("{file}:5: json: ")),
            "{}: {}",
            t.name,
            problems[1]
        );
        assert_eq!(
            billing(&t, "e4").await,
            (None, None, None, some("847")),
            "{}",
            t.name
        );
    }
}

mod reader {
    use clinical::import::fhir::parse_ndjson;
    use clinical::records::Kind;
    use proptest::prelude::*;

    fn kinds() -> impl Strategy<Value = Kind> {
        prop::sample::select(Kind::ALL.to_vec())
    }

    /// JSON-shaped text built from FHIR-ish pieces, so the mapping code (not only the JSON parser)
    /// is exercised with odd values.
    fn fhirish() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            r#""resourceType":"Patient""#,
            r#""resourceType":"Encounter""#,
            r#""id":"a""#,
            r#""id":"""#,
            r#""id":7"#,
            r#""birthDate":"2024-02-30""#,
            r#""birthDate":"1""#,
            r#""birthDate":"19-01-01""#,
            r#""deceasedDateTime":"2024-1-1T""#,
            r#""gender":"x""#,
            r#""class":{"code":"IMP"}"#,
            r#""class":{}"#,
            r#""period":{"start":"2024-01-01T00:00:00Z","end":"2023-01-01"}"#,
            r#""period":{"start":"é"}"#,
            r#""subject":{"reference":"Patient/"}"#,
            r#""subject":{"reference":"?"}"#,
            r#""subject":{"reference":"Practitioner?identifier=|"}"#,
            r#""code":{"coding":[{"system":"","code":""}]}"#,
            r#""code":{"coding":[{}]}"#,
            r#""diagnosis":[{"rank":-1}]"#,
            r#""type":[{"coding":[{"system":"https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software","code":"ééé"}]}]"#,
            r#""address":[{"postalCode":"1é3"}]"#,
            r#""extension":[{"url":"x/poa","valueBoolean":true}]"#,
            r#""name":null"#,
        ]);
        prop::collection::vec(piece, 0..8).prop_map(|p| format!("{{{}}}", p.join(",")))
    }

    proptest! {
        #[test]
        fn no_text_makes_the_date_parsers_fail_to_return(text in "[0-9T:Z+.-]{0,30}", naive in any::<bool>()) {
            let _ = clinical::records::parse_date(&text);
            let _ = clinical::records::parse_datetime_with(&text, naive);
        }

        #[test]
        fn no_bytes_make_the_ndjson_reader_panic(kind in kinds(), bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_ndjson(kind, &bytes);
        }

        #[test]
        fn no_fhir_shaped_line_makes_the_mapping_panic(kind in kinds(), lines in prop::collection::vec(fhirish(), 1..5)) {
            let text = lines.join("\n");
            let results = parse_ndjson(kind, text.as_bytes());
            prop_assert_eq!(results.len(), lines.len());
        }
    }
}

/// Rows are written in batches (on PostgreSQL as array literals): text that such a literal
/// would have to escape is stored as it was given.
#[tokio::test]
async fn text_with_characters_the_bulk_formats_escape_is_stored_as_given() {
    // What an array literal quotes (quotes, backslashes, commas, braces, NULL) and what COPY's
    // text format escapes (backslashes, `\N`, `\.`, tabs, line breaks).
    let family = "\"Quoted\" O\\Brien, {braced} NULL \\N \\. tab\there line\nbreak\r é";
    let practitioner = serde_json::json!({
        "resourceType": "Practitioner",
        "id": "pr-odd",
        "name": [{"family": family, "given": ["Ann"]}],
    });
    for t in backends().await {
        let dir = std::env::temp_dir().join(format!("rounds-clinical-odd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Practitioner.ndjson"), practitioner.to_string()).unwrap();
        import(&t, &[dir])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        let name = text(
            &t,
            "SELECT name FROM clinical_practitioners WHERE source_id = $1",
            "pr-odd",
        )
        .await
        .unwrap_or_default();
        assert!(name.contains(family), "{}: {name}", t.name);
    }
}

/// PostgreSQL cannot store a NUL character in text: a record holding one (JSON's `\u0000`) is
/// refused with its line, on both databases, instead of failing the import at the database.
#[tokio::test]
async fn a_nul_character_refuses_its_record_by_line() {
    for t in backends().await {
        let dir = empty_dir(&format!("{}-nul", t.name));
        std::fs::write(
            dir.join("Practitioner.ndjson"),
            concat!(
                r#"{"resourceType":"Practitioner","id":"pr-ok","name":[{"family":"Okafor"}]}"#,
                "\n",
                r#"{"resourceType":"Practitioner","id":"pr-nul","name":[{"family":"Ok\u0000afor"}]}"#,
                "\n"
            ),
        )
        .unwrap();
        let (_, problems) = refused(import(&t, std::slice::from_ref(&dir)).await, t.name);
        assert_eq!(
            problems,
            [format!(
                "{}:2: text: a value holds a NUL character (\\u0000), which cannot be stored",
                dir.join("Practitioner.ndjson").display()
            )],
            "{}",
            t.name
        );
        assert_eq!(
            t.number("SELECT COUNT(*) FROM clinical_practitioners")
                .await,
            0,
            "{}",
            t.name
        );
    }
}

/// The indexes, and on PostgreSQL the unique and foreign keys, of every table, one line each.
async fn schema(t: &TestDb) -> Vec<String> {
    let sql = match t.db.backend {
        platform::db::Backend::Sqlite => {
            "SELECT name || ' ON ' || tbl_name || ': ' || COALESCE(sql, '(constraint)') FROM sqlite_master \
             WHERE type = 'index' ORDER BY 1"
        }
        platform::db::Backend::Postgres => {
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() \
             UNION ALL SELECT CAST(conrelid AS regclass) || ' ' || conname || ': ' || pg_get_constraintdef(oid) \
             FROM pg_constraint WHERE connamespace = CAST(current_schema() AS regnamespace) ORDER BY 1"
        }
    };
    sqlx::query(sql)
        .fetch_all(&t.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect()
}

/// A first load into empty tables drops their indexes (and on PostgreSQL their unique and
/// foreign keys) and creates them again at its end: after a refused first load and after a
/// committed one, the schema is the one the migrations made.
#[tokio::test]
async fn a_first_load_leaves_every_index_and_key_as_the_migrations_made_them() {
    for t in backends().await {
        let before = schema(&t).await;
        let expected = match t.db.backend {
            platform::db::Backend::Sqlite => "encounters_patient ON encounters",
            platform::db::Backend::Postgres => "conditions conditions_encounter_id_fkey",
        };
        assert!(
            before.iter().any(|line| line.starts_with(expected)),
            "{}: {before:?}",
            t.name
        );

        let bad = scratch();
        append(
            &bad.join("Encounter.ndjson"),
            &[
                r#"{"resourceType":"Encounter","id":"e6","class":{"code":"IMP"},"subject":{"reference":"Patient/p99"},"period":{"start":"2024-01-02T00:00:00Z"}}"#,
            ],
        );
        refused(import(&t, &[bad]).await, t.name);
        assert_eq!(
            t.number("SELECT COUNT(*) FROM encounters").await,
            0,
            "{}",
            t.name
        );
        assert_eq!(schema(&t).await, before, "{}: after a refused load", t.name);

        import(&t, &[scratch()])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(schema(&t).await, before, "{}: after a first load", t.name);
    }
}

/// A later import names records of the store that it does not contain: they are found there
/// (the importer looks up only what an import names, so its memory follows the import, not the
/// store), and a record in neither is refused by name.
#[tokio::test]
async fn a_later_import_finds_what_it_refers_to_in_the_store() {
    for t in backends().await {
        import(&t, &[scratch()])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        let later = empty_dir(&format!("{}-later", t.name));
        // Encounters and conditions without their patients (the encounters come too: they
        // give the conditions their ranks).
        for file in ["Encounter.ndjson", "Condition.ndjson"] {
            std::fs::copy(fixtures().join("ndjson").join(file), later.join(file)).unwrap();
        }
        let conditions = std::fs::read_to_string(later.join("Condition.ndjson")).unwrap();
        append(
            &later.join("Condition.ndjson"),
            &[
                r#"{"resourceType":"Condition","id":"c-new","subject":{"reference":"Patient/p2"},"encounter":{"reference":"Encounter/e4"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]}}"#,
            ],
        );
        let summary = import(&t, std::slice::from_ref(&later))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        let read = conditions.lines().count() as u64 + 1;
        assert_eq!(
            counts(&summary, "Condition"),
            tc(read, 1, 0, read - 1, 0),
            "{}",
            t.name
        );
        assert_eq!(
            int(
                &t,
                "SELECT e.id FROM conditions c JOIN encounters e ON e.id = c.encounter_id WHERE c.source_id = $1",
                "c-new"
            )
            .await,
            int(&t, "SELECT id FROM encounters WHERE source_id = $1", "e4").await,
            "{}",
            t.name
        );

        append(
            &later.join("Condition.ndjson"),
            &[
                r#"{"resourceType":"Condition","id":"c-lost","subject":{"reference":"Patient/p2"},"encounter":{"reference":"Encounter/e99"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]}}"#,
            ],
        );
        let (_, problems) = refused(import(&t, std::slice::from_ref(&later)).await, t.name);
        let file = later.join("Condition.ndjson").display().to_string();
        assert_eq!(
            problems,
            [format!(
                "{file}:{}: encounter: Encounter/e99 is in no file of this import and not in the store",
                read + 1
            )],
            "{}",
            t.name
        );
    }
}

/// Every condition's rank, by source id, and every encounter's principal diagnosis.
async fn ranks(t: &TestDb) -> Vec<(String, Option<i64>, Option<String>)> {
    sqlx::query(
        "SELECT c.source_id, c.rank, o.principal_dx_code FROM conditions c \
         LEFT JOIN encounter_outcomes o ON o.encounter_id = c.encounter_id ORDER BY c.source_id",
    )
    .fetch_all(&t.db.pool)
    .await
    .unwrap_or_else(|e| panic!("{}: {e}", t.name))
    .into_iter()
    .map(|row| {
        (
            row.try_get(0).unwrap(),
            row.try_get(1).unwrap(),
            row.try_get(2).unwrap(),
        )
    })
    .collect()
}

/// An incremental (`_since`) bulk export sends what changed: Conditions without the Encounters
/// that rank them, Encounters without their Claims or Conditions, Claims for encounters sent
/// long ago. What such an import does not speak for keeps its stored value, and what it says
/// about records it does not hold reaches them.
#[tokio::test]
async fn an_incremental_export_changes_only_what_it_says() {
    for (budget, t) in within_and_past_the_budget().await {
        let full = scratch();
        for name in ["Claim.ndjson", "ExplanationOfBenefit.ndjson"] {
            std::fs::copy(fixtures().join("billing").join(name), full.join(name)).unwrap();
        }
        // An EOB that groups e1 into another DRG than the Encounter states: in the same import
        // the Encounter's own DRG stands, and nothing is amended.
        append(
            &full.join("ExplanationOfBenefit.ndjson"),
            &[
                r#"{"resourceType":"ExplanationOfBenefit","id":"eob-1b","item":[{"encounter":[{"reference":"Encounter/e1"}]}],"supportingInfo":[{"category":{"coding":[{"code":"drg"}]},"code":{"coding":[{"code":"292"}]}}]}"#,
            ],
        );
        let s = import_keeping(&t, budget, std::slice::from_ref(&full))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(counts(&s, "Encounter"), tc(5, 5, 0, 0, 0), "{}", t.name);
        assert_eq!(
            billing(&t, "e1").await.3.as_deref(),
            Some("291"),
            "{}",
            t.name
        );
        let ranked = ranks(&t).await;
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            ranked[2..5],
            [
                ("c3".to_string(), Some(1), some("K35.80")),
                ("c4".to_string(), Some(2), some("K35.80")),
                ("c5".to_string(), Some(3), some("K35.80")),
            ],
            "{}",
            t.name
        );
        let billed = billing(&t, "e1").await;
        assert_eq!(billed.0, some("Medicare Part A"), "{}", t.name);

        let only = |name: &str, lines: &[&str]| {
            let dir = empty_dir(&format!("{}-{name}", t.name));
            std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
            dir
        };
        // Conditions alone: their encounters are not in the import, so their ranks stay.
        let conditions =
            std::fs::read_to_string(fixtures().join("ndjson").join("Condition.ndjson")).unwrap();
        let lines: Vec<&str> = conditions.lines().collect();
        let s = import_keeping(&t, budget, &[only("Condition.ndjson", &lines)])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(counts(&s, "Condition"), tc(6, 0, 0, 6, 0), "{}", t.name);
        assert_eq!(ranks(&t).await, ranked, "{}", t.name);

        // Encounters alone: their claims are not in the import, so payer and amounts stay; the
        // ranks they give are the ranks stored.
        let encounters =
            std::fs::read_to_string(fixtures().join("ndjson").join("Encounter.ndjson")).unwrap();
        let lines: Vec<&str> = encounters.lines().collect();
        let s = import_keeping(&t, budget, &[only("Encounter.ndjson", &lines)])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(counts(&s, "Encounter"), tc(5, 0, 0, 5, 0), "{}", t.name);
        assert_eq!(counts(&s, "Condition"), tc(0, 0, 0, 0, 0), "{}", t.name);
        assert_eq!(billing(&t, "e1").await, billed, "{}", t.name);
        assert_eq!(ranks(&t).await, ranked, "{}", t.name);

        // e3 sent again, its diagnoses re-ranked (c4 principal, c3 second, c5 no longer listed):
        // its stored conditions follow, and so does its principal diagnosis.
        let e3 = lines
            .iter()
            .find(|l| l.contains(r#""id":"e3""#))
            .unwrap()
            .replace(r#""Condition/c3"},"rank":1"#, r#""Condition/c3"},"rank":2"#)
            .replace(r#""Condition/c4"},"rank":2"#, r#""Condition/c4"},"rank":1"#)
            .replace(
                r#",{"condition":{"reference":"Condition/c5"},"rank":3}"#,
                "",
            );
        assert!(!e3.contains("Condition/c5"), "{}: {e3}", t.name);
        let s = import_keeping(&t, budget, &[only("Encounter.ndjson", &[&e3])])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(counts(&s, "Encounter"), tc(1, 0, 0, 1, 0), "{}", t.name);
        assert_eq!(counts(&s, "Condition"), tc(0, 0, 3, 0, 0), "{}", t.name);
        assert_eq!(
            ranks(&t).await[2..5],
            [
                ("c3".to_string(), Some(2), some("T81.4XXA")),
                ("c4".to_string(), Some(1), some("T81.4XXA")),
                ("c5".to_string(), None, some("T81.4XXA")),
            ],
            "{}",
            t.name
        );

        // e3 sent with its conditions but listing no diagnoses (as many exporters do): it says
        // nothing about their ranks, so they stay.
        let reranked = ranks(&t).await;
        let unlisted = {
            let mut v: serde_json::Value = serde_json::from_str(&e3).unwrap();
            v.as_object_mut().unwrap().remove("diagnosis");
            v.to_string()
        };
        let dir = only("Encounter.ndjson", &[&unlisted]);
        let e3_conditions: Vec<&str> = conditions
            .lines()
            .filter(|l| l.contains("Encounter/e3"))
            .collect();
        std::fs::write(
            dir.join("Condition.ndjson"),
            e3_conditions.join("\n") + "\n",
        )
        .unwrap();
        let s = import_keeping(&t, budget, &[dir])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(counts(&s, "Condition").read, 3, "{}", t.name);
        assert_eq!(ranks(&t).await, reranked, "{}", t.name);

        // A claim for e2, imported long before without one: its payer and charges arrive; the
        // same claim again changes nothing.
        let claim = r#"{"resourceType":"Claim","id":"cl-2","status":"active","use":"claim","patient":{"reference":"Patient/p1"},"insurer":{"display":"Cigna"},"item":[{"sequence":1,"encounter":[{"reference":"Encounter/e2"}]}],"total":{"value":500,"currency":"USD"}}"#;
        assert_eq!(
            billing(&t, "e2").await,
            (None, None, None, some("291")),
            "{}",
            t.name
        );
        let claims = only("Claim.ndjson", &[claim]);
        let s = import_keeping(&t, budget, std::slice::from_ref(&claims))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(counts(&s, "Encounter"), tc(0, 0, 1, 0, 0), "{}", t.name);
        assert_eq!(
            billing(&t, "e2").await,
            (some("Cigna"), None, Some(50_000), some("291")),
            "{}",
            t.name
        );
        let s = import_keeping(&t, budget, &[claims]).await.unwrap();
        assert_eq!(counts(&s, "Encounter"), tc(0, 0, 0, 0, 0), "{}", t.name);
        // And e2 itself sent again without the claim keeps it.
        let e2 = lines.iter().find(|l| l.contains(r#""id":"e2""#)).unwrap();
        import_keeping(&t, budget, &[only("Encounter.ndjson", &[e2])])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(
            billing(&t, "e2").await,
            (some("Cigna"), None, Some(50_000), some("291")),
            "{}",
            t.name
        );
    }
}

/// Claims for more stored encounters than one statement applies (1,000) reach every one of
/// them, and only once.
#[tokio::test]
async fn claims_for_many_stored_encounters_reach_each_of_them() {
    let encounter = |i: usize| {
        format!(
            r#"{{"resourceType":"Encounter","id":"m-{i}","class":{{"code":"AMB"}},"subject":{{"reference":"Patient/p1"}},"period":{{"start":"2024-06-01T08:00:00Z"}}}}"#
        )
    };
    let claim = |i: usize| {
        format!(
            r#"{{"resourceType":"Claim","id":"mc-{i}","insurer":{{"display":"Payer {}"}},"item":[{{"sequence":1,"encounter":[{{"reference":"Encounter/m-{i}"}}]}}],"total":{{"value":{i}.25,"currency":"USD"}}}}"#,
            i % 7
        )
    };
    for t in backends().await {
        let dir = scratch();
        append(
            &dir.join("Encounter.ndjson"),
            &(0..2_345)
                .map(encounter)
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        import(&t, std::slice::from_ref(&dir))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        let claims = empty_dir(&format!("{}-many-claims", t.name));
        let lines: Vec<String> = (0..2_345).map(claim).collect();
        std::fs::write(claims.join("Claim.ndjson"), lines.join("\n") + "\n").unwrap();
        let s = import(&t, std::slice::from_ref(&claims))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(counts(&s, "Encounter").updated, 2_345, "{}", t.name);
        // Each encounter got its own claim's payer and charges (cents), nothing else's.
        assert_eq!(
            t.number(
                "SELECT COUNT(*) FROM encounters WHERE source_id LIKE 'm-%' \
                 AND charges_cents = CAST(SUBSTR(source_id, 3) AS BIGINT) * 100 + 25 \
                 AND payer = 'Payer ' || (CAST(SUBSTR(source_id, 3) AS BIGINT) % 7)"
            )
            .await,
            2_345,
            "{}",
            t.name
        );
        let again = import(&t, &[claims]).await.unwrap();
        assert_eq!(counts(&again, "Encounter").updated, 0, "{}", t.name);
    }
}

/// An import larger than the records it may keep in memory lets go of them as it goes and finds
/// them in the store instead: the store it leaves is the one an import within its budget leaves,
/// and a record sent twice with different content is still refused after it was let go of.
#[tokio::test]
async fn an_import_beyond_its_memory_budget_loads_the_same_store() {
    for t in backends().await {
        load_value_sets(&t).await;
        let migrated = schema(&t).await;
        let dir = scratch();
        let mut options = Options {
            records_in_memory: 3,
            ..Options::default()
        };
        let s = import::run(&t.db, std::slice::from_ref(&dir), &mut options)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(counts(&s, "Condition"), tc(6, 6, 0, 0, 0), "{}", t.name);
        assert_hand_computed_outcomes(&t).await;
        // The indexes a first load defers were built when it let go, and only once.
        assert_eq!(schema(&t).await, migrated, "{}", t.name);
        let s = import(&t, std::slice::from_ref(&dir)).await.unwrap();
        assert_eq!((s.total().created, s.total().updated), (0, 0), "{}", t.name);

        // More conditions than the importer hands over at once, the last a second c-0 with
        // another code: it comes after c-0 has been let go of, and is refused all the same.
        let condition = |id: usize, code: &str| {
            format!(
                r#"{{"resourceType":"Condition","id":"c-{id}","subject":{{"reference":"Patient/p2"}},"encounter":{{"reference":"Encounter/e4"}},"code":{{"coding":[{{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"{code}"}}]}}}}"#
            )
        };
        let mut lines: Vec<String> = (0..3_000).map(|i| condition(i, "E11.9")).collect();
        lines.push(condition(0, "E10.9"));
        let many = empty_dir(&format!("{}-many", t.name));
        std::fs::write(many.join("Condition.ndjson"), lines.join("\n") + "\n").unwrap();
        let (_, problems) = refused(
            import::run(&t.db, std::slice::from_ref(&many), &mut options).await,
            t.name,
        );
        let file = many.join("Condition.ndjson").display().to_string();
        assert_eq!(
            problems,
            [format!(
                "{file}:3001: id: Condition/c-0 appears twice with different content"
            )],
            "{}",
            t.name
        );
        assert_eq!(
            t.number("SELECT COUNT(*) FROM conditions").await,
            6,
            "{}",
            t.name
        );
    }
}
