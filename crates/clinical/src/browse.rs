//! Reading the store for people: encounters by facility, unit, attending practitioner, date and
//! DRG, and one patient's timeline. Patient-level reads; the pages that call these audit them.

use crate::Result;
use platform::Db;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

/// Filters of the encounters browser; empty fields do not filter.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::IntoParams)]
pub struct EncounterFilter {
    pub facility: Option<i64>,
    pub unit: Option<i64>,
    /// The attending practitioner (clinical practitioner id).
    pub practitioner: Option<i64>,
    /// `inpatient`, `emergency`, `observation`, `ambulatory`…
    pub class: Option<String>,
    /// MS-DRG code.
    pub drg: Option<String>,
    /// First admission day, `YYYY-MM-DD` (inclusive).
    pub from: Option<String>,
    /// Last admission day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// 0-based page of 100 rows.
    pub page: Option<i64>,
}

pub const PAGE: i64 = 100;

/// An encounter as the browser lists it, with its derived outcomes.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EncounterRow {
    pub id: i64,
    pub patient_id: i64,
    pub class: String,
    pub facility: Option<String>,
    pub unit: Option<String>,
    pub attending: Option<String>,
    pub attending_npi: Option<String>,
    pub admit_at: String,
    pub discharge_at: Option<String>,
    pub ms_drg: Option<String>,
    pub principal_dx: Option<String>,
    pub discharge_disposition: Option<String>,
    pub los_days: Option<i64>,
    pub died: bool,
    pub readmitted_30: Option<bool>,
    pub return_to_or_30: Option<bool>,
    pub complications: i64,
}

impl EncounterRow {
    /// Admission and discharge as people read them (UTC, to the minute).
    pub fn admitted(&self) -> String {
        platform::time::display(&self.admit_at)
    }

    pub fn discharged(&self) -> String {
        self.discharge_at
            .as_deref()
            .map(platform::time::display)
            .unwrap_or_default()
    }
}

fn day(field: &str, value: &Option<String>) -> Result<Option<String>> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(|d| Some(d.format("%Y-%m-%d").to_string()))
            .map_err(|_| {
                platform::Error::invalid(field, format!("'{v}' is not a date (YYYY-MM-DD)")).into()
            }),
    }
}

fn text(value: &Option<String>) -> String {
    value.as_deref().map(str::trim).unwrap_or("").to_string()
}

const ENCOUNTER_SELECT: &str = "SELECT e.id, e.patient_id, e.class, f.name AS facility, u.name AS unit, \
     p.name AS attending, p.npi AS attending_npi, e.admit_at, e.discharge_at, e.ms_drg, \
     o.principal_dx_code AS principal_dx, e.discharge_disposition, o.los_days, \
     COALESCE(o.in_hospital_death, 0) AS died, o.readmitted_30, o.return_to_or_30, COALESCE(o.complications, 0) AS complications \
     FROM encounters e \
     LEFT JOIN facilities f ON f.id = e.facility_id \
     LEFT JOIN units u ON u.id = e.unit_id \
     LEFT JOIN clinical_practitioners p ON p.id = e.attending_id \
     LEFT JOIN encounter_outcomes o ON o.encounter_id = e.id";

fn encounter_from_row(row: &sqlx::any::AnyRow) -> Result<EncounterRow> {
    let flag = |name: &str| -> Result<Option<bool>> {
        Ok(row.try_get::<Option<i64>, _>(name)?.map(|v| v != 0))
    };
    Ok(EncounterRow {
        id: row.try_get("id")?,
        patient_id: row.try_get("patient_id")?,
        class: row.try_get("class")?,
        facility: row.try_get("facility")?,
        unit: row.try_get("unit")?,
        attending: row.try_get("attending")?,
        attending_npi: row.try_get("attending_npi")?,
        admit_at: row.try_get("admit_at")?,
        discharge_at: row.try_get("discharge_at")?,
        ms_drg: row.try_get("ms_drg")?,
        principal_dx: row.try_get("principal_dx")?,
        discharge_disposition: row.try_get("discharge_disposition")?,
        los_days: row.try_get("los_days")?,
        died: row.try_get::<i64, _>("died")? != 0,
        readmitted_30: flag("readmitted_30")?,
        return_to_or_30: flag("return_to_or_30")?,
        complications: row.try_get("complications")?,
    })
}

/// A page of encounters, newest admission first, and how many match.
pub async fn encounters(db: &Db, filter: &EncounterFilter) -> Result<(Vec<EncounterRow>, i64)> {
    let from = day("from", &filter.from)?.unwrap_or_default();
    // The last day is inclusive: compare with the start of the next day.
    let to = day("to", &filter.to)?
        .and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        .and_then(|d| d.succ_opt())
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    // Every filter is bound; an empty or zero one matches everything.
    let condition = "WHERE ($1 = 0 OR e.facility_id = $1) AND ($2 = 0 OR e.unit_id = $2) \
         AND ($3 = 0 OR e.attending_id = $3) AND ($4 = '' OR e.class = $4) AND ($5 = '' OR e.ms_drg = $5) \
         AND ($6 = '' OR e.admit_at >= $6) AND ($7 = '' OR e.admit_at < $7)";
    let page = filter.page.unwrap_or(0).max(0);
    let bind = |sql: String| {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.facility.unwrap_or(0))
            .bind(filter.unit.unwrap_or(0))
            .bind(filter.practitioner.unwrap_or(0))
            .bind(text(&filter.class))
            .bind(text(&filter.drg))
            .bind(from.clone())
            .bind(to.clone())
    };
    let rows = bind(format!(
        "{ENCOUNTER_SELECT} {condition} ORDER BY e.admit_at DESC, e.id DESC LIMIT $8 OFFSET $9"
    ))
    .bind(PAGE)
    .bind(page * PAGE)
    .fetch_all(&db.pool)
    .await?;
    let total: i64 = bind(format!(
        "SELECT COUNT(*) AS n FROM encounters e {condition}"
    ))
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    Ok((
        rows.iter().map(encounter_from_row).collect::<Result<_>>()?,
        total,
    ))
}

/// A coded item of an encounter: a diagnosis or a procedure.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Coded {
    pub encounter_id: Option<i64>,
    pub system: String,
    pub code: String,
    /// Diagnoses: the rank (1 = principal) and present-on-admission flag. Procedures: the time.
    pub detail: String,
}

impl Coded {
    /// Was it recorded in this encounter?
    pub fn is_of(&self, encounter: &EncounterRow) -> bool {
        self.encounter_id == Some(encounter.id)
    }
}

/// One patient: the minimum the store keeps, and every encounter with its diagnoses and procedures.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Timeline {
    pub patient_id: i64,
    pub sex: String,
    pub birth_date: Option<String>,
    pub zip3: Option<String>,
    pub death_date: Option<String>,
    pub encounters: Vec<EncounterRow>,
    pub diagnoses: Vec<Coded>,
    pub procedures: Vec<Coded>,
}

pub async fn timeline(db: &Db, patient_id: i64) -> Result<Timeline> {
    let patient =
        sqlx::query("SELECT id, sex, birth_date, zip3, death_date FROM patients WHERE id = $1")
            .bind(patient_id)
            .fetch_optional(&db.pool)
            .await?
            .ok_or_else(|| platform::Error::not_found(format!("patient {patient_id}")))?;
    let encounters = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{ENCOUNTER_SELECT} WHERE e.patient_id = $1 ORDER BY e.admit_at, e.id"
    )))
    .bind(patient_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(encounter_from_row)
    .collect::<Result<_>>()?;
    let diagnoses = sqlx::query(
        "SELECT encounter_id, code_system, code, rank, present_on_admission FROM conditions WHERE patient_id = $1 \
         ORDER BY encounter_id, rank, code",
    )
    .bind(patient_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        let rank: Option<i64> = r.try_get("rank")?;
        let poa: Option<String> = r.try_get("present_on_admission")?;
        let mut detail = match rank {
            Some(1) => "principal".to_string(),
            Some(n) => format!("rank {n}"),
            None => String::new(),
        };
        if let Some(poa) = poa {
            detail.push_str(&format!("{}POA {poa}", if detail.is_empty() { "" } else { ", " }));
        }
        Ok(Coded { encounter_id: r.try_get("encounter_id")?, system: short_system(&r.try_get::<String, _>("code_system")?), code: r.try_get("code")?, detail })
    })
    .collect::<Result<_>>()?;
    let procedures = sqlx::query("SELECT encounter_id, code_system, code, performed_at FROM procedures WHERE patient_id = $1 ORDER BY performed_at, code")
        .bind(patient_id)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Coded {
                encounter_id: r.try_get("encounter_id")?,
                system: short_system(&r.try_get::<String, _>("code_system")?),
                code: r.try_get("code")?,
                detail: r.try_get::<Option<String>, _>("performed_at")?.unwrap_or_default(),
            })
        })
        .collect::<Result<_>>()?;
    Ok(Timeline {
        patient_id,
        sex: patient.try_get("sex")?,
        birth_date: patient.try_get("birth_date")?,
        zip3: patient.try_get("zip3")?,
        death_date: patient.try_get("death_date")?,
        encounters,
        diagnoses,
        procedures,
    })
}

/// The familiar name of a code system URI.
fn short_system(uri: &str) -> String {
    match uri {
        "http://hl7.org/fhir/sid/icd-10-cm" => "ICD-10-CM",
        "http://www.cms.gov/Medicare/Coding/ICD10" => "ICD-10-PCS",
        "http://www.ama-assn.org/go/cpt" => "CPT",
        "http://snomed.info/sct" => "SNOMED CT",
        other => other,
    }
    .to_string()
}

/// Choices for the browser's filters.
pub struct Choices {
    pub facilities: Vec<(i64, String)>,
    pub units: Vec<(i64, String)>,
    pub practitioners: Vec<(i64, String)>,
    pub classes: Vec<String>,
}

pub async fn choices(db: &Db) -> Result<Choices> {
    let pairs = |rows: Vec<sqlx::any::AnyRow>| -> Result<Vec<(i64, String)>> {
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
            .collect()
    };
    Ok(Choices {
        facilities: pairs(sqlx::query("SELECT id, name FROM facilities ORDER BY name").fetch_all(&db.pool).await?)?,
        units: pairs(
            sqlx::query("SELECT u.id, u.name || ' (' || f.name || ')' AS name FROM units u JOIN facilities f ON f.id = u.facility_id ORDER BY f.name, u.name")
                .fetch_all(&db.pool)
                .await?,
        )?,
        practitioners: pairs(
            sqlx::query(
                "SELECT id, CASE WHEN npi IS NULL THEN name ELSE name || ' · ' || npi END AS name FROM clinical_practitioners \
                 WHERE id IN (SELECT DISTINCT attending_id FROM encounters WHERE attending_id IS NOT NULL) ORDER BY name",
            )
            .fetch_all(&db.pool)
            .await?,
        )?,
        classes: sqlx::query("SELECT DISTINCT class FROM encounters ORDER BY class")
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| r.try_get("class"))
            .collect::<std::result::Result<_, _>>()?,
    })
}
