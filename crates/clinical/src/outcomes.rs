//! Derived outcomes per encounter: length of stay, in-hospital death, 30-day unplanned
//! readmission, return to the operating room within 30 days, and complications by value set.
//! The encounter's principal diagnosis is kept with them: it too is derived (from the ranks of
//! its conditions). The definitions are in docs/clinical/outcomes.md; `compute` is the rule
//! (pure, over one patient's records), `write` stores what it finds, and `recompute_stale`
//! reads back the patients an import changed that the importer does not hold in memory.

use crate::records::Record;
use crate::store::{Batch, Conn};
use crate::value_sets::ValueSets;
use chrono::NaiveDate;
use platform::db::Backend;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};

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

/// What the outcomes of one patient are computed from; diagnoses in id order (the first of rank
/// 1 is an encounter's principal diagnosis).
#[derive(Clone, Debug, Default)]
pub struct PatientRecords {
    pub death_date: Option<String>,
    pub stays: Vec<Stay>,
    pub diagnoses: Vec<Diagnosis>,
    pub operations: Vec<Operation>,
}

/// The records of the patients an import creates, collected as they are written, so that their
/// outcomes are computed at the end without reading anything back (all their records are in that
/// import). Only what can change an outcome under the loaded value sets is kept: a diagnosis of
/// an encounter that is principal or may be a complication, a procedure that is an operation or
/// marks a planned readmission. One list per kind of record rather than one per patient, whose
/// spare capacity would cost more than the records.
#[derive(Default)]
pub struct NewPatients {
    deaths: HashMap<i64, Option<String>>,
    stays: Vec<(i64, Stay)>,
    diagnoses: Vec<(i64, Diagnosis)>,
    operations: Vec<(i64, Operation)>,
}

impl NewPatients {
    pub fn add_patient(&mut self, id: i64, death_date: Option<String>) {
        self.deaths.insert(id, death_date);
    }

    /// Adds an encounter, condition or procedure of `patient` as it is written (with its row
    /// id, and that of the encounter it names); false when the patient is not new.
    pub fn add(
        &mut self,
        patient: i64,
        id: i64,
        record: &Record,
        encounter_id: Option<i64>,
        sets: &ValueSets,
    ) -> bool {
        if !self.deaths.contains_key(&patient) {
            return false;
        }
        match record {
            Record::Encounter(e) => self.stays.push((
                patient,
                Stay {
                    id,
                    class: e.class.to_string(),
                    admit_at: e.admit_at.clone(),
                    discharge_at: e.discharge_at.clone(),
                    disposition: e.discharge_disposition.clone(),
                },
            )),
            Record::Condition(c)
                if encounter_id.is_some()
                    && (c.rank == Some(1)
                        || (may_be_complication(c.rank, c.present_on_admission)
                            && sets.in_any_with_prefix(
                                COMPLICATION_PREFIX,
                                &c.code_system,
                                &c.code,
                            ))) =>
            {
                self.diagnoses.push((
                    patient,
                    Diagnosis {
                        id,
                        encounter_id,
                        system: c.code_system.clone(),
                        code: c.code.clone(),
                        present_on_admission: c.present_on_admission.map(str::to_string),
                        rank: c.rank,
                    },
                ))
            }
            Record::Procedure(p)
                if sets.contains(OR_PROCEDURE, &p.code_system, &p.code)
                    || sets.contains(PLANNED_READMISSION, &p.code_system, &p.code) =>
            {
                self.operations.push((
                    patient,
                    Operation {
                        encounter_id,
                        system: p.code_system.clone(),
                        code: p.code.clone(),
                        performed_at: p.performed_at.clone(),
                    },
                ))
            }
            _ => {}
        }
        true
    }

    /// The new patients.
    pub fn into_patient_ids(self) -> impl Iterator<Item = i64> {
        self.deaths.into_keys()
    }

    /// Each new patient's records, by patient id (records in the order written, so diagnoses
    /// in id order).
    pub fn into_patients(self) -> impl Iterator<Item = (i64, PatientRecords)> {
        let NewPatients {
            deaths,
            mut stays,
            mut diagnoses,
            mut operations,
        } = self;
        let mut patients: Vec<(i64, Option<String>)> = deaths.into_iter().collect();
        patients.sort_unstable_by_key(|(id, _)| *id);
        // Stable sorts keep each patient's records in the order they were written.
        stays.sort_by_key(|(patient, _)| *patient);
        diagnoses.sort_by_key(|(patient, _)| *patient);
        operations.sort_by_key(|(patient, _)| *patient);
        let (mut stays, mut diagnoses, mut operations) = (
            stays.into_iter().peekable(),
            diagnoses.into_iter().peekable(),
            operations.into_iter().peekable(),
        );
        patients.into_iter().map(move |(id, death_date)| {
            let mut records = PatientRecords {
                death_date,
                ..PatientRecords::default()
            };
            while let Some((_, stay)) = stays.next_if(|(p, _)| *p == id) {
                records.stays.push(stay);
            }
            while let Some((_, d)) = diagnoses.next_if(|(p, _)| *p == id) {
                records.diagnoses.push(d);
            }
            while let Some((_, o)) = operations.next_if(|(p, _)| *p == id) {
                records.operations.push(o);
            }
            (id, records)
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub encounter_id: i64,
    /// (code system, code) of the principal diagnosis.
    pub principal_dx: Option<(String, String)>,
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

/// A secondary diagnosis not present on admission (`Y`, `W` and exempt `E` were).
fn may_be_complication(rank: Option<i64>, present_on_admission: Option<&str>) -> bool {
    rank != Some(1) && !matches!(present_on_admission, Some("Y" | "W" | "E"))
}

fn day(time: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(time.get(..10)?, "%Y-%m-%d").ok()
}

fn hours_between(from: &str, to: &str) -> Option<i64> {
    let (from, to) = (platform::time::parse(from)?, platform::time::parse(to)?);
    Some((to - from).num_hours())
}

/// One patient's outcomes, one per encounter, in the order of `stays`.
pub fn compute(patient: &PatientRecords, sets: &ValueSets) -> Vec<Outcome> {
    let PatientRecords {
        death_date,
        stays,
        diagnoses,
        operations,
    } = patient;
    let death_day = death_date.as_deref().and_then(day);
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
                principal_dx: principal(stay.id).map(|d| (d.system.clone(), d.code.clone())),
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

            for d in diagnoses.iter().filter(|d| {
                d.encounter_id == Some(stay.id)
                    && may_be_complication(d.rank, d.present_on_admission.as_deref())
            }) {
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
pub async fn recompute_stale(
    conn: &mut Conn,
    backend: Backend,
    sets: &ValueSets,
) -> crate::Result<u64> {
    const CHUNK: i64 = 2_000;
    let mut done = 0;
    let mut after = i64::MIN;
    loop {
        let ids: Vec<i64> = sqlx::query("SELECT patient_id FROM clinical_stale_patients WHERE patient_id > $1 ORDER BY patient_id LIMIT $2")
            .bind(after)
            .bind(CHUNK)
            .fetch_all(conn.get().await?)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        let (Some(&lo), Some(&hi)) = (ids.first(), ids.last()) else {
            break;
        };
        after = hi;
        let patients = read_range(conn, lo, hi).await?;
        done += write(conn, backend, patients.into_iter(), sets).await?;
    }
    sqlx::query("DELETE FROM clinical_stale_patients")
        .execute(conn.get().await?)
        .await?;
    Ok(done)
}

const STALE_IN: &str =
    "IN (SELECT patient_id FROM clinical_stale_patients WHERE patient_id BETWEEN $1 AND $2)";

/// Deletes the outcomes of the stale patients with ids in `lo..=hi` and reads their records.
async fn read_range(
    conn: &mut Conn,
    lo: i64,
    hi: i64,
) -> crate::Result<BTreeMap<i64, PatientRecords>> {
    let q = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(lo).bind(hi);
    for table in [
        "encounter_complications WHERE encounter_id IN (SELECT id FROM encounters WHERE patient_id",
        "encounter_outcomes WHERE (patient_id",
    ] {
        q(format!("DELETE FROM {table} {STALE_IN})"))
            .execute(conn.get().await?)
            .await?;
    }
    let mut patients: BTreeMap<i64, PatientRecords> = BTreeMap::new();
    for r in q(format!(
        "SELECT id, death_date FROM patients WHERE id {STALE_IN}"
    ))
    .fetch_all(conn.get().await?)
    .await?
    {
        patients.entry(r.try_get("id")?).or_default().death_date = r.try_get("death_date")?;
    }
    for r in q(format!(
        "SELECT id, patient_id, class, admit_at, discharge_at, discharge_disposition FROM encounters WHERE patient_id {STALE_IN}"
    ))
    .fetch_all(conn.get().await?)
    .await?
    {
        patients.entry(r.try_get("patient_id")?).or_default().stays.push(Stay {
            id: r.try_get("id")?,
            class: r.try_get("class")?,
            admit_at: r.try_get("admit_at")?,
            discharge_at: r.try_get("discharge_at")?,
            disposition: r.try_get("discharge_disposition")?,
        });
    }
    for r in q(format!(
        "SELECT id, patient_id, encounter_id, code_system, code, present_on_admission, rank FROM conditions \
         WHERE encounter_id IS NOT NULL AND patient_id {STALE_IN} ORDER BY id"
    ))
    .fetch_all(conn.get().await?)
    .await?
    {
        patients.entry(r.try_get("patient_id")?).or_default().diagnoses.push(Diagnosis {
            id: r.try_get("id")?,
            encounter_id: r.try_get("encounter_id")?,
            system: r.try_get("code_system")?,
            code: r.try_get("code")?,
            present_on_admission: r.try_get("present_on_admission")?,
            rank: r.try_get("rank")?,
        });
    }
    for r in q(format!("SELECT patient_id, encounter_id, code_system, code, performed_at FROM procedures WHERE patient_id {STALE_IN}"))
        .fetch_all(conn.get().await?)
        .await?
    {
        patients.entry(r.try_get("patient_id")?).or_default().operations.push(Operation {
            encounter_id: r.try_get("encounter_id")?,
            system: r.try_get("code_system")?,
            code: r.try_get("code")?,
            performed_at: r.try_get("performed_at")?,
        });
    }
    Ok(patients)
}

/// Computes and inserts the outcomes of `patients` (whose earlier outcomes, if any, are gone).
/// Returns how many encounters they cover.
pub async fn write(
    conn: &mut Conn,
    backend: Backend,
    patients: impl Iterator<Item = (i64, PatientRecords)>,
    sets: &ValueSets,
) -> crate::Result<u64> {
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
            "principal_dx_system",
            "principal_dx_code",
        ],
    );
    let mut complications = Batch::new(
        backend,
        "encounter_complications",
        &["encounter_id", "value_set", "condition_id"],
    );
    let mut count = 0;
    let flag = |b: bool| Some(i64::from(b));
    for (patient, records) in patients {
        for o in compute(&records, sets) {
            for (set, condition) in &o.complications {
                complications
                    .push(
                        conn,
                        vec![
                            Some(o.encounter_id).into(),
                            Some(set.clone()).into(),
                            Some(*condition).into(),
                        ],
                    )
                    .await?;
            }
            let (system, code) = o.principal_dx.unzip();
            outcomes
                .push(
                    conn,
                    vec![
                        Some(o.encounter_id).into(),
                        Some(patient).into(),
                        o.los_days.into(),
                        o.los_hours.into(),
                        flag(o.in_hospital_death).into(),
                        flag(o.readmission_index).into(),
                        o.readmitted_30.map(i64::from).into(),
                        o.readmission_encounter_id.into(),
                        o.or_procedure.map(i64::from).into(),
                        o.return_to_or_30.map(i64::from).into(),
                        Some(o.complications.len() as i64).into(),
                        system.into(),
                        code.into(),
                    ],
                )
                .await?;
            count += 1;
        }
    }
    outcomes.flush(conn).await?;
    complications.flush(conn).await?;
    Ok(count)
}
