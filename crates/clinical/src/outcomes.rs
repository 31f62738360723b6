//! Derived outcomes per encounter: length of stay, in-hospital death, 30-day unplanned
//! readmission, return to the operating room within 30 days, and complications by value set.
//! The definitions are in docs/clinical/outcomes.md; `compute` is the rule (pure, over one
//! patient's records) and `recompute_stale` the storage around it, run at the end of each import
//! for the patients that import touched.

use crate::store::Batch;
use crate::value_sets::{self, ValueSets};
use chrono::NaiveDate;
use platform::db::{Backend, Tx};
use sqlx::Row;
use std::collections::HashMap;

/// Value set naming planned readmissions (by principal diagnosis or procedure).
pub const PLANNED_READMISSION: &str = "planned-readmission";
/// Value set naming operating-room procedures.
pub const OR_PROCEDURE: &str = "or-procedure";
/// Value sets whose name starts with this are complications (e.g. `complication-ssi`).
pub const COMPLICATION_PREFIX: &str = "complication-";

/// Transfers to another acute-care facility and discharges against advice do not start a
/// readmission window.
const NOT_INDEX_DISPOSITIONS: &[&str] = &["other-hcf", "aadvice", "exp"];

#[derive(Clone, Debug)]
pub struct Stay {
    pub id: i64,
    pub class: String,
    pub admit_at: String,
    pub discharge_at: Option<String>,
    pub disposition: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Diagnosis {
    pub id: i64,
    pub encounter_id: Option<i64>,
    pub system: String,
    pub code: String,
    pub present_on_admission: Option<String>,
    pub rank: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct Operation {
    pub encounter_id: Option<i64>,
    pub system: String,
    pub code: String,
    pub performed_at: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub encounter_id: i64,
    pub los_days: Option<i64>,
    pub los_hours: Option<i64>,
    pub in_hospital_death: bool,
    pub readmission_index: bool,
    pub readmitted_30: Option<bool>,
    pub readmission_encounter_id: Option<i64>,
    pub or_procedure: Option<bool>,
    pub return_to_or_30: Option<bool>,
    /// (value set, condition id) for each complication.
    pub complications: Vec<(String, i64)>,
}

fn day(time: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(time.get(..10)?, "%Y-%m-%d").ok()
}

fn hours_between(from: &str, to: &str) -> Option<i64> {
    let (from, to) = (platform::time::parse(from)?, platform::time::parse(to)?);
    Some((to - from).num_hours())
}

/// One patient's outcomes, one per encounter, in the order of `stays`.
pub fn compute(
    death_date: Option<&str>,
    stays: &[Stay],
    diagnoses: &[Diagnosis],
    operations: &[Operation],
    sets: &ValueSets,
) -> Vec<Outcome> {
    let death_day = death_date.and_then(day);
    let principal = |encounter: i64| {
        diagnoses
            .iter()
            .find(|d| d.encounter_id == Some(encounter) && d.rank == Some(1))
    };
    let planned = |stay: &Stay| {
        principal(stay.id).is_some_and(|d| sets.contains(PLANNED_READMISSION, &d.system, &d.code))
            || operations.iter().any(|o| {
                o.encounter_id == Some(stay.id)
                    && sets.contains(PLANNED_READMISSION, &o.system, &o.code)
            })
    };
    let or_known = sets.has(OR_PROCEDURE);
    let is_or = |o: &Operation| sets.contains(OR_PROCEDURE, &o.system, &o.code);
    let complication_sets: Vec<&str> = sets.names_with_prefix(COMPLICATION_PREFIX);

    stays
        .iter()
        .map(|stay| {
            let admit_day = day(&stay.admit_at);
            let discharge_day = stay.discharge_at.as_deref().and_then(day);
            let mut out = Outcome {
                encounter_id: stay.id,
                ..Outcome::default()
            };
            if let (Some(a), Some(d), Some(discharge)) =
                (admit_day, discharge_day, stay.discharge_at.as_deref())
            {
                out.los_days = Some((d - a).num_days());
                out.los_hours = hours_between(&stay.admit_at, discharge);
            }
            let died_during = match (death_day, admit_day) {
                (Some(death), Some(a)) => death >= a && discharge_day.is_none_or(|d| death <= d),
                _ => false,
            };
            out.in_hospital_death = stay.disposition.as_deref() == Some("exp")
                || (died_during && stay.discharge_at.is_some());

            out.readmission_index = stay.class == "inpatient"
                && discharge_day.is_some()
                && !out.in_hospital_death
                && !stay
                    .disposition
                    .as_deref()
                    .is_some_and(|d| NOT_INDEX_DISPOSITIONS.contains(&d));
            if out.readmission_index
                && let Some(discharged) = discharge_day
            {
                let mut later: Vec<&Stay> = stays
                    .iter()
                    .filter(|s| s.id != stay.id && s.class == "inpatient")
                    .filter(|s| {
                        day(&s.admit_at)
                            .is_some_and(|a| (1..=30).contains(&(a - discharged).num_days()))
                    })
                    .collect();
                later.sort_by(|a, b| a.admit_at.cmp(&b.admit_at).then(a.id.cmp(&b.id)));
                let readmission = later.into_iter().find(|s| !planned(s));
                out.readmitted_30 = Some(readmission.is_some());
                out.readmission_encounter_id = readmission.map(|s| s.id);
            }

            if or_known {
                let first_or = operations
                    .iter()
                    .filter(|o| o.encounter_id == Some(stay.id) && is_or(o))
                    .map(|o| o.performed_at.as_deref().and_then(day).or(admit_day))
                    .min();
                out.or_procedure = Some(first_or.is_some());
                if let Some(Some(first)) = first_or {
                    out.return_to_or_30 = Some(operations.iter().filter(|o| is_or(o)).any(|o| {
                        o.performed_at
                            .as_deref()
                            .and_then(day)
                            .is_some_and(|d| (1..=30).contains(&(d - first).num_days()))
                    }));
                }
            }

            for d in diagnoses
                .iter()
                .filter(|d| d.encounter_id == Some(stay.id) && d.rank != Some(1))
            {
                if matches!(d.present_on_admission.as_deref(), Some("Y" | "W" | "E")) {
                    continue;
                }
                for set in &complication_sets {
                    if sets.contains(set, &d.system, &d.code) {
                        out.complications.push((set.to_string(), d.id));
                    }
                }
            }
            out
        })
        .collect()
}

/// Recomputes the outcomes of every patient in `clinical_stale_patients`, then empties it.
/// Returns how many encounters were recomputed.
pub async fn recompute_stale(tx: &mut Tx, backend: Backend) -> crate::Result<u64> {
    const CHUNK: i64 = 2_000;
    let sets = value_sets::load(tx).await?;
    let mut done = 0;
    let mut after = i64::MIN;
    loop {
        let ids: Vec<i64> = sqlx::query("SELECT patient_id FROM clinical_stale_patients WHERE patient_id > $1 ORDER BY patient_id LIMIT $2")
            .bind(after)
            .bind(CHUNK)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        let (Some(&lo), Some(&hi)) = (ids.first(), ids.last()) else {
            break;
        };
        after = hi;
        done += recompute_range(tx, backend, lo, hi, &sets).await?;
    }
    sqlx::query("DELETE FROM clinical_stale_patients")
        .execute(&mut **tx)
        .await?;
    Ok(done)
}

const STALE_IN: &str =
    "IN (SELECT patient_id FROM clinical_stale_patients WHERE patient_id BETWEEN $1 AND $2)";

async fn recompute_range(
    tx: &mut Tx,
    backend: Backend,
    lo: i64,
    hi: i64,
    sets: &ValueSets,
) -> crate::Result<u64> {
    let q = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(lo).bind(hi);
    for table in [
        "encounter_complications WHERE encounter_id IN (SELECT id FROM encounters WHERE patient_id",
        "encounter_outcomes WHERE (patient_id",
    ] {
        q(format!("DELETE FROM {table} {STALE_IN})"))
            .execute(&mut **tx)
            .await?;
    }
    let deaths: HashMap<i64, Option<String>> = q(format!(
        "SELECT id, death_date FROM patients WHERE id {STALE_IN}"
    ))
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("death_date")?)))
    .collect::<Result<_, sqlx::Error>>()?;
    let mut stays: HashMap<i64, Vec<Stay>> = HashMap::new();
    for r in q(format!(
        "SELECT id, patient_id, class, admit_at, discharge_at, discharge_disposition FROM encounters WHERE patient_id {STALE_IN}"
    ))
    .fetch_all(&mut **tx)
    .await?
    {
        stays.entry(r.try_get("patient_id")?).or_default().push(Stay {
            id: r.try_get("id")?,
            class: r.try_get("class")?,
            admit_at: r.try_get("admit_at")?,
            discharge_at: r.try_get("discharge_at")?,
            disposition: r.try_get("discharge_disposition")?,
        });
    }
    let mut diagnoses: HashMap<i64, Vec<Diagnosis>> = HashMap::new();
    for r in q(format!(
        "SELECT id, patient_id, encounter_id, code_system, code, present_on_admission, rank FROM conditions \
         WHERE encounter_id IS NOT NULL AND patient_id {STALE_IN}"
    ))
    .fetch_all(&mut **tx)
    .await?
    {
        diagnoses.entry(r.try_get("patient_id")?).or_default().push(Diagnosis {
            id: r.try_get("id")?,
            encounter_id: r.try_get("encounter_id")?,
            system: r.try_get("code_system")?,
            code: r.try_get("code")?,
            present_on_admission: r.try_get("present_on_admission")?,
            rank: r.try_get("rank")?,
        });
    }
    let mut operations: HashMap<i64, Vec<Operation>> = HashMap::new();
    for r in q(format!("SELECT patient_id, encounter_id, code_system, code, performed_at FROM procedures WHERE patient_id {STALE_IN}"))
        .fetch_all(&mut **tx)
        .await?
    {
        operations.entry(r.try_get("patient_id")?).or_default().push(Operation {
            encounter_id: r.try_get("encounter_id")?,
            system: r.try_get("code_system")?,
            code: r.try_get("code")?,
            performed_at: r.try_get("performed_at")?,
        });
    }
    let mut outcomes = Batch::new(
        backend,
        "encounter_outcomes",
        &[
            "encounter_id",
            "patient_id",
            "los_days",
            "los_hours",
            "in_hospital_death",
            "readmission_index",
            "readmitted_30",
            "readmission_encounter_id",
            "or_procedure",
            "return_to_or_30",
            "complications",
        ],
    );
    let mut complications = Batch::new(
        backend,
        "encounter_complications",
        &["encounter_id", "value_set", "condition_id"],
    );
    let mut count = 0;
    let mut patients: Vec<&i64> = stays.keys().collect();
    patients.sort();
    let flag = |b: bool| Some(i64::from(b));
    for patient in patients {
        let death = deaths.get(patient).cloned().flatten();
        let results = compute(
            death.as_deref(),
            &stays[patient],
            diagnoses.get(patient).map_or(&[], Vec::as_slice),
            operations.get(patient).map_or(&[], Vec::as_slice),
            sets,
        );
        for o in results {
            for (set, condition) in &o.complications {
                complications
                    .push(
                        tx,
                        vec![
                            Some(o.encounter_id).into(),
                            Some(set.clone()).into(),
                            Some(*condition).into(),
                        ],
                    )
                    .await?;
            }
            outcomes
                .push(
                    tx,
                    vec![
                        Some(o.encounter_id).into(),
                        Some(*patient).into(),
                        o.los_days.into(),
                        o.los_hours.into(),
                        flag(o.in_hospital_death).into(),
                        flag(o.readmission_index).into(),
                        o.readmitted_30.map(i64::from).into(),
                        o.readmission_encounter_id.into(),
                        o.or_procedure.map(i64::from).into(),
                        o.return_to_or_30.map(i64::from).into(),
                        Some(o.complications.len() as i64).into(),
                    ],
                )
                .await?;
            count += 1;
        }
    }
    outcomes.flush(tx).await?;
    complications.flush(tx).await?;
    Ok(count)
}
