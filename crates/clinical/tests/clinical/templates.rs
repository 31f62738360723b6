//! Rounds' CSV templates on every backend: encounters (with patient, organisation, attending and
//! principal diagnosis), diagnoses and procedures, re-imported without change, and a bad row
//! named by line and column.

use super::support::backends;
use clinical::Error;
use clinical::import::Options;
use clinical::import::template::{self, Template};
use sqlx::Row;
use std::path::{Path, PathBuf};

fn file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clinical/fixtures/templates")
        .join(name)
}

#[tokio::test]
async fn the_templates_load_encounters_diagnoses_and_procedures() {
    for t in backends().await {
        let s = template::run(
            &t.db,
            Template::Encounters,
            &file("encounters.csv"),
            &mut Options::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(
            (
                s.types["Encounter"].created,
                s.types["Patient"].created,
                s.types["Patient"].unchanged
            ),
            (3, 2, 1),
            "{}",
            t.name
        );
        assert_eq!(s.types["Condition"].created, 3, "{}", t.name);
        for (kind, path) in [
            (Template::Diagnoses, "diagnoses.csv"),
            (Template::Procedures, "procedures.csv"),
        ] {
            template::run(&t.db, kind, &file(path), &mut Options::default())
                .await
                .unwrap_or_else(|e| panic!("{}: {path}: {e}", t.name));
        }
        let e = sqlx::query(
            "SELECT e.admit_at, e.discharge_disposition, e.ms_drg, o.principal_dx_code, e.payer, e.cost_cents, e.charges_cents, \
             f.name, d.name, u.name, p.npi FROM encounters e JOIN facilities f ON f.id = e.facility_id \
             JOIN encounter_outcomes o ON o.encounter_id = e.id \
             JOIN departments d ON d.id = e.department_id JOIN units u ON u.id = e.unit_id \
             JOIN clinical_practitioners p ON p.id = e.attending_id WHERE e.source_id = 'A101'",
        )
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
        assert_eq!(
            e.try_get::<String, _>(0).unwrap(),
            "2024-05-20T09:00:00.000000Z"
        );
        assert_eq!(e.try_get::<String, _>(1).unwrap(), "snf");
        assert_eq!(e.try_get::<String, _>(2).unwrap(), "291");
        assert_eq!(e.try_get::<String, _>(3).unwrap(), "I50.9");
        assert_eq!(e.try_get::<String, _>(4).unwrap(), "Medicare");
        assert_eq!(
            (
                e.try_get::<i64, _>(5).unwrap(),
                e.try_get::<i64, _>(6).unwrap()
            ),
            (600000, 1800075)
        );
        let names: Vec<String> = (7..11).map(|i| e.try_get(i).unwrap()).collect();
        assert_eq!(
            names,
            ["General Hospital", "Medicine", "5 East", "1234567893"],
            "{}",
            t.name
        );
        // A100 is readmitted 16 days later (A101); A101, discharged to a nursing facility, is an
        // index stay with no readmission.
        assert_eq!(
            t.number("SELECT o.readmitted_30 FROM encounter_outcomes o JOIN encounters e ON e.id = o.encounter_id WHERE e.source_id = 'A100'").await,
            1,
            "{}",
            t.name
        );
        assert_eq!(t.number("SELECT COUNT(*) FROM conditions c JOIN encounters e ON e.id = c.encounter_id WHERE e.source_id = 'A100'").await, 3);
        assert_eq!(
            t.number("SELECT COUNT(*) FROM procedures WHERE practitioner_id IS NOT NULL")
                .await,
            1,
            "{}",
            t.name
        );

        let again = template::run(
            &t.db,
            Template::Encounters,
            &file("encounters.csv"),
            &mut Options::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            (again.total().created, again.total().updated),
            (0, 0),
            "{}",
            t.name
        );
        let again = template::run(
            &t.db,
            Template::Diagnoses,
            &file("diagnoses.csv"),
            &mut Options::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            (again.total().created, again.total().updated),
            (0, 0),
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn a_bad_template_row_is_named_by_line_and_column() {
    for t in backends().await {
        let path = std::env::temp_dir().join(format!(
            "rounds-template-{}-{}.csv",
            std::process::id(),
            t.name
        ));
        let text = std::fs::read_to_string(file("encounters.csv")).unwrap();
        let text = text
            .replace("2024-05-22 10:00", "2024-05-19 10:00")
            .replace("1234567893,emd,home", "1234567890,emd,home");
        std::fs::write(&path, text).unwrap();
        let problems = match template::run(
            &t.db,
            Template::Encounters,
            &path,
            &mut Options::default(),
        )
        .await
        {
            Err(Error::Rejected { problems, .. }) => {
                problems.iter().map(ToString::to_string).collect::<Vec<_>>()
            }
            other => panic!("{}: expected a refusal, got {other:?}", t.name),
        };
        let p = path.display();
        assert_eq!(
            problems,
            [
                format!(
                    "{p}:2: attending_npi: '1234567890' is not an NPI (ten digits with a valid check digit)"
                ),
                format!(
                    "{p}:3: discharge_at: 2024-05-19 10:00 is before admit_at 2024-05-20 09:00"
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
