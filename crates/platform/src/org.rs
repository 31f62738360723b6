//! The organisation every module refers to: facilities (hospitals, with their CMS Certification
//! Number), departments (service lines) within a facility, and units (nursing units, with their
//! staffed beds). Validation is pure; storage changes are audited in their transaction.

use crate::audit::Actor;
use crate::audit::{self, Event};
use crate::db::Db;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Facility {
    pub id: i64,
    pub name: String,
    /// CMS Certification Number (six characters), when the facility has one.
    pub ccn: Option<String>,
    pub city: String,
    pub state: String,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct FacilityInput {
    pub name: String,
    #[serde(default)]
    pub ccn: Option<String>,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub state: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Department {
    pub id: i64,
    pub facility_id: i64,
    pub facility: String,
    pub name: String,
    pub service_line: String,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct DepartmentInput {
    pub facility_id: i64,
    pub name: String,
    #[serde(default)]
    pub service_line: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Unit {
    pub id: i64,
    pub facility_id: i64,
    pub facility: String,
    pub department_id: Option<i64>,
    pub department: Option<String>,
    pub name: String,
    pub kind: String,
    pub beds: i64,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct UnitInput {
    pub facility_id: i64,
    #[serde(default)]
    pub department_id: Option<i64>,
    pub name: String,
    pub kind: String,
    pub beds: i64,
}

/// The kinds of unit Rounds reports on.
pub const UNIT_KINDS: &[(&str, &str)] = &[
    ("med-surg", "Medical-surgical"),
    ("icu", "Intensive care"),
    ("step-down", "Step-down"),
    ("emergency", "Emergency department"),
    ("surgery", "Operating rooms"),
    ("pacu", "Post-anaesthesia care"),
    ("obstetrics", "Labour and delivery"),
    ("nicu", "Neonatal intensive care"),
    ("pediatrics", "Paediatrics"),
    ("behavioral", "Behavioural health"),
    ("rehabilitation", "Rehabilitation"),
    ("observation", "Observation"),
    ("other", "Other"),
];

fn required_name(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    if value.chars().count() > 200 {
        return Err(Error::invalid(field, "must be at most 200 characters"));
    }
    Ok(value.to_string())
}

/// A CCN is six characters: a two-digit state code, then four more (digits, or a letter in the
/// third place for some facility types, e.g. `05T123`... checked loosely as the letter rule varies).
pub fn check_ccn(ccn: &str) -> Result<String> {
    let ccn = ccn.trim().to_ascii_uppercase();
    let bytes = ccn.as_bytes();
    let ok = bytes.len() == 6
        && bytes[..2].iter().all(u8::is_ascii_digit)
        && bytes[2].is_ascii_alphanumeric()
        && bytes[3..].iter().all(u8::is_ascii_digit);
    if ok {
        Ok(ccn)
    } else {
        Err(Error::invalid(
            "ccn",
            format!("'{ccn}' is not a CMS Certification Number (six characters such as 050454)"),
        ))
    }
}

impl FacilityInput {
    fn checked(&self) -> Result<FacilityInput> {
        let state = self.state.trim().to_ascii_uppercase();
        if !state.is_empty() && (state.len() != 2 || !state.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(Error::invalid(
                "state",
                format!("'{state}' is not a two-letter state code"),
            ));
        }
        let city = self.city.trim();
        if city.chars().count() > 100 {
            return Err(Error::invalid("city", "must be at most 100 characters"));
        }
        Ok(FacilityInput {
            name: required_name("name", &self.name)?,
            ccn: self
                .ccn
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(check_ccn)
                .transpose()?,
            city: city.to_string(),
            state,
        })
    }
}

impl DepartmentInput {
    fn checked(&self) -> Result<DepartmentInput> {
        let service_line = self.service_line.trim();
        if service_line.chars().count() > 100 {
            return Err(Error::invalid(
                "service_line",
                "must be at most 100 characters",
            ));
        }
        Ok(DepartmentInput {
            facility_id: self.facility_id,
            name: required_name("name", &self.name)?,
            service_line: service_line.to_string(),
        })
    }
}

impl UnitInput {
    fn checked(&self) -> Result<UnitInput> {
        if !UNIT_KINDS.iter().any(|(k, _)| *k == self.kind) {
            let kinds: Vec<&str> = UNIT_KINDS.iter().map(|(k, _)| *k).collect();
            return Err(Error::invalid(
                "kind",
                format!(
                    "'{}' is not a unit kind; use one of {}",
                    self.kind,
                    kinds.join(", ")
                ),
            ));
        }
        if !(0..=2000).contains(&self.beds) {
            return Err(Error::invalid(
                "beds",
                format!("{} is not a bed count between 0 and 2000", self.beds),
            ));
        }
        Ok(UnitInput {
            facility_id: self.facility_id,
            department_id: self.department_id,
            name: required_name("name", &self.name)?,
            kind: self.kind.clone(),
            beds: self.beds,
        })
    }
}

fn facility_from_row(row: &sqlx::any::AnyRow) -> Result<Facility> {
    Ok(Facility {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        ccn: row.try_get("ccn")?,
        city: row.try_get("city")?,
        state: row.try_get("state")?,
    })
}

pub async fn facilities(db: &Db) -> Result<Vec<Facility>> {
    let rows = sqlx::query("SELECT id, name, ccn, city, state FROM facilities ORDER BY name")
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(facility_from_row).collect()
}

pub async fn facility(db: &Db, id: i64) -> Result<Facility> {
    let row = sqlx::query("SELECT id, name, ccn, city, state FROM facilities WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| Error::not_found(format!("facility {id}")))?;
    facility_from_row(&row)
}

/// Creates (`id` = None) or updates a facility.
pub async fn save_facility(
    db: &Db,
    actor: Actor<'_>,
    id: Option<i64>,
    input: &FacilityInput,
) -> Result<Facility> {
    let f = input.checked()?;
    let now = crate::time::now_text();
    let query = match id {
        None => sqlx::query(
            "INSERT INTO facilities (name, ccn, city, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        ),
        Some(_) => sqlx::query(
            "UPDATE facilities SET name = $1, ccn = $2, city = $3, state = $4, updated_at = $5 WHERE id = $6 RETURNING id",
        ),
    }
    .bind(&f.name)
    .bind(f.ccn.clone())
    .bind(&f.city)
    .bind(&f.state)
    .bind(&now);
    let query = if let Some(id) = id {
        query.bind(id)
    } else {
        query
    };
    let clash = format!(
        "a facility named '{}' or with CCN {}",
        f.name,
        f.ccn.as_deref().unwrap_or("-")
    );
    let id = save(db, actor, "facility", id, query, &clash, &f.name).await?;
    facility(db, id).await
}

/// Runs an insert or update that returns the record's id, in a transaction with its audit entry.
/// A clash with a unique constraint is a conflict naming `clash`; an update of no row is "not found".
async fn save(
    db: &Db,
    actor: Actor<'_>,
    record_type: &str,
    id: Option<i64>,
    query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    clash: &str,
    detail: &str,
) -> Result<i64> {
    let mut tx = db.begin().await?;
    let row = query
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| Error::from(e).unique_violation(clash))?;
    let Some(row) = row else {
        return Err(Error::not_found(format!(
            "{record_type} {}",
            id.unwrap_or_default()
        )));
    };
    let saved: i64 = row.try_get("id")?;
    let action = format!(
        "{record_type}.{}",
        if id.is_none() { "create" } else { "update" }
    );
    audit::append(
        &mut tx,
        &Event::success(actor, &action, record_type, &saved.to_string(), detail),
    )
    .await?;
    tx.commit().await?;
    Ok(saved)
}

const DEPARTMENT_SELECT: &str = "SELECT d.id, d.facility_id, f.name AS facility, d.name, d.service_line \
     FROM departments d JOIN facilities f ON f.id = d.facility_id";

fn department_from_row(row: &sqlx::any::AnyRow) -> Result<Department> {
    Ok(Department {
        id: row.try_get("id")?,
        facility_id: row.try_get("facility_id")?,
        facility: row.try_get("facility")?,
        name: row.try_get("name")?,
        service_line: row.try_get("service_line")?,
    })
}

pub async fn departments(db: &Db) -> Result<Vec<Department>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{DEPARTMENT_SELECT} ORDER BY f.name, d.name"
    )))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(department_from_row).collect()
}

pub async fn department(db: &Db, id: i64) -> Result<Department> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{DEPARTMENT_SELECT} WHERE d.id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| Error::not_found(format!("department {id}")))?;
    department_from_row(&row)
}

pub async fn save_department(
    db: &Db,
    actor: Actor<'_>,
    id: Option<i64>,
    input: &DepartmentInput,
) -> Result<Department> {
    let d = input.checked()?;
    facility(db, d.facility_id).await.map_err(|_| {
        Error::invalid(
            "facility_id",
            format!("there is no facility {}", d.facility_id),
        )
    })?;
    let query = match id {
        None => sqlx::query(
            "INSERT INTO departments (facility_id, name, service_line, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
        ),
        Some(_) => sqlx::query(
            "UPDATE departments SET facility_id = $1, name = $2, service_line = $3, updated_at = $4 WHERE id = $5 RETURNING id",
        ),
    }
    .bind(d.facility_id)
    .bind(&d.name)
    .bind(&d.service_line)
    .bind(crate::time::now_text());
    let query = if let Some(id) = id {
        query.bind(id)
    } else {
        query
    };
    let clash = format!("a department named '{}' in this facility", d.name);
    let id = save(db, actor, "department", id, query, &clash, &d.name).await?;
    department(db, id).await
}

const UNIT_SELECT: &str = "SELECT u.id, u.facility_id, f.name AS facility, u.department_id, d.name AS department, \
     u.name, u.kind, u.beds FROM units u JOIN facilities f ON f.id = u.facility_id \
     LEFT JOIN departments d ON d.id = u.department_id";

fn unit_from_row(row: &sqlx::any::AnyRow) -> Result<Unit> {
    Ok(Unit {
        id: row.try_get("id")?,
        facility_id: row.try_get("facility_id")?,
        facility: row.try_get("facility")?,
        department_id: row.try_get("department_id")?,
        department: row.try_get("department")?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        beds: row.try_get("beds")?,
    })
}

pub async fn units(db: &Db) -> Result<Vec<Unit>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{UNIT_SELECT} ORDER BY f.name, u.name"
    )))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(unit_from_row).collect()
}

pub async fn unit(db: &Db, id: i64) -> Result<Unit> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{UNIT_SELECT} WHERE u.id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| Error::not_found(format!("unit {id}")))?;
    unit_from_row(&row)
}

pub async fn save_unit(
    db: &Db,
    actor: Actor<'_>,
    id: Option<i64>,
    input: &UnitInput,
) -> Result<Unit> {
    let u = input.checked()?;
    facility(db, u.facility_id).await.map_err(|_| {
        Error::invalid(
            "facility_id",
            format!("there is no facility {}", u.facility_id),
        )
    })?;
    if let Some(dept) = u.department_id {
        let d = department(db, dept).await.map_err(|_| {
            Error::invalid("department_id", format!("there is no department {dept}"))
        })?;
        if d.facility_id != u.facility_id {
            return Err(Error::invalid(
                "department_id",
                format!("department '{}' belongs to another facility", d.name),
            ));
        }
    }
    let query = match id {
        None => sqlx::query(
            "INSERT INTO units (facility_id, department_id, name, kind, beds, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        ),
        Some(_) => sqlx::query(
            "UPDATE units SET facility_id = $1, department_id = $2, name = $3, kind = $4, beds = $5, updated_at = $6 \
             WHERE id = $7 RETURNING id",
        ),
    }
    .bind(u.facility_id)
    .bind(u.department_id)
    .bind(&u.name)
    .bind(&u.kind)
    .bind(u.beds)
    .bind(crate::time::now_text());
    let query = if let Some(id) = id {
        query.bind(id)
    } else {
        query
    };
    let clash = format!("a unit named '{}' in this facility", u.name);
    let id = save(
        db,
        actor,
        "unit",
        id,
        query,
        &clash,
        &format!("{} ({} beds)", u.name, u.beds),
    )
    .await?;
    unit(db, id).await
}

/// Figures for the home dashboard.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct Summary {
    pub facilities: i64,
    pub departments: i64,
    pub units: i64,
    pub beds: i64,
}

pub async fn summary(db: &Db) -> Result<Summary> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM facilities) AS facilities, (SELECT COUNT(*) FROM departments) AS departments, \
         (SELECT COUNT(*) FROM units) AS units, CAST((SELECT COALESCE(SUM(beds), 0) FROM units) AS BIGINT) AS beds",
    )
    .fetch_one(&db.pool)
    .await?;
    Ok(Summary {
        facilities: row.try_get("facilities")?,
        departments: row.try_get("departments")?,
        units: row.try_get("units")?,
        beds: row.try_get("beds")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ccns_are_six_characters_with_a_state_code() {
        assert_eq!(check_ccn(" 050454 ").unwrap(), "050454");
        assert_eq!(check_ccn("05t123").unwrap(), "05T123");
        assert!(check_ccn("5045").is_err());
        assert!(check_ccn("AB0454").is_err());
    }

    #[test]
    fn units_need_a_known_kind_and_a_plausible_bed_count() {
        let unit = UnitInput {
            facility_id: 1,
            department_id: None,
            name: "4 West".into(),
            kind: "icu".into(),
            beds: 24,
        };
        assert!(unit.checked().is_ok());
        let err = UnitInput {
            kind: "ward".into(),
            ..unit.clone()
        }
        .checked()
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("kind: 'ward' is not a unit kind"), "{err}");
        let err = UnitInput {
            beds: -1,
            ..unit.clone()
        }
        .checked()
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("beds:"), "{err}");
        let err = UnitInput {
            name: "  ".into(),
            ..unit
        }
        .checked()
        .unwrap_err()
        .to_string();
        assert_eq!(err, "name: is required");
    }
}
