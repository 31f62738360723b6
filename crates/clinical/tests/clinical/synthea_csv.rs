//! Synthea CSV import on every backend: both published layouts read by header name, the same
//! records from either layout match, and an unknown layout is refused naming what it lacks.

use super::support::backends;
use clinical::Error;
use clinical::import::{Options, TypeCounts, synthea};
use sqlx::Row;
use std::path::{Path, PathBuf};

fn layout(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clinical/fixtures/synthea-csv")
        .join(name)
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

#[tokio::test]
async fn both_synthea_layouts_import_and_the_same_records_match_across_them() {
    for t in backends().await {
        let s = synthea::run(&t.db, &layout("v2"), &mut Options::default())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(s.types["Patient"], tc(2, 2, 0, 0, 0), "{}", t.name);
        assert_eq!(s.types["Encounter"], tc(2, 2, 0, 0, 0), "{}", t.name);
        assert_eq!(s.types["Condition"], tc(1, 1, 0, 0, 0), "{}", t.name);
        // Two identical procedure rows are two procedures (Synthea's CSV has no procedure id).
        assert_eq!(s.types["Procedure"], tc(2, 2, 0, 0, 0), "{}", t.name);
        assert_eq!(s.types["Practitioner"], tc(1, 1, 0, 0, 0), "{}", t.name);
        assert_eq!(s.types["Organization"], tc(1, 1, 0, 0, 0), "{}", t.name);
        let e = sqlx::query(
            "SELECT e.class, e.payer, e.cost_cents, e.charges_cents, f.name, p.name FROM encounters e \
             JOIN facilities f ON f.id = e.facility_id JOIN clinical_practitioners p ON p.id = e.attending_id \
             WHERE e.source_id = '6f4c1c2e-0e21-4a4e-8a49-1f2b2c3d4e5f'",
        )
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
        assert_eq!(e.try_get::<String, _>(0).unwrap(), "inpatient");
        assert_eq!(e.try_get::<String, _>(1).unwrap(), "Medicare");
        assert_eq!(
            (
                e.try_get::<i64, _>(2).unwrap(),
                e.try_get::<i64, _>(3).unwrap()
            ),
            (12916, 1204567)
        );
        assert_eq!(
            e.try_get::<String, _>(4).unwrap(),
            "LOWELL GENERAL HOSPITAL"
        );
        assert_eq!(e.try_get::<String, _>(5).unwrap(), "Luz72 Mayert710");
        // The patient who died on the day of discharge died in hospital.
        assert_eq!(
            t.number("SELECT o.in_hospital_death FROM encounter_outcomes o JOIN encounters e ON e.id = o.encounter_id WHERE e.source_id = '7a5d2d3f-1f32-4b5f-9b5a-2a3c3d4e5f60'").await,
            1,
            "{}",
            t.name
        );
        assert_eq!(
            t.number("SELECT COUNT(*) FROM patients WHERE zip3 = '018'")
                .await,
            1,
            "{}",
            t.name
        );

        // The 3.x layout of the same data (START/STOP, SYSTEM, ENCOUNTERS/PROCEDURES) matches it.
        let again = synthea::run(&t.db, &layout("v3"), &mut Options::default())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        let total = again.total();
        assert_eq!(
            (total.created, total.updated, total.unchanged),
            (0, 0, 9),
            "{}: {:?}",
            t.name,
            again.types
        );
    }
}

#[tokio::test]
async fn an_unknown_synthea_layout_is_refused_naming_the_missing_columns() {
    for t in backends().await {
        let dir =
            std::env::temp_dir().join(format!("rounds-synthea-{}-{}", std::process::id(), t.name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(layout("v3")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        let procedures = std::fs::read_to_string(dir.join("procedures.csv"))
            .unwrap()
            .replacen("START,STOP,", "BEGIN,END,", 1);
        std::fs::write(dir.join("procedures.csv"), procedures).unwrap();
        let patients = std::fs::read_to_string(dir.join("patients.csv"))
            .unwrap()
            .replacen(",GENDER,", ",SEX,", 1);
        std::fs::write(dir.join("patients.csv"), patients).unwrap();
        let problems = match synthea::run(&t.db, &dir, &mut Options::default()).await {
            Err(Error::Rejected { problems, .. }) => {
                problems.iter().map(ToString::to_string).collect::<Vec<_>>()
            }
            other => panic!("{}: expected a refusal, got {other:?}", t.name),
        };
        assert_eq!(
            problems,
            [
                format!(
                    "{}:1: header: missing column GENDER; not a Synthea patients.csv layout Rounds knows",
                    dir.join("patients.csv").display()
                ),
                format!(
                    "{}:1: header: missing column DATE (Synthea before 3.0) or START (3.0 and later)",
                    dir.join("procedures.csv").display()
                ),
            ],
            "{}",
            t.name
        );
        assert_eq!(
            t.number("SELECT COUNT(*) FROM encounters").await,
            0,
            "{}",
            t.name
        );
    }
}
