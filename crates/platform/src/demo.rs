//! Demonstration data for `rounds serve --demo`: a small health system (two hospitals, their
//! departments and nursing units) and a `demo` account holding every role, whose password is
//! renewed and printed at each start. The demo uses its own data directory, never a real one.

use crate::db::Db;
use crate::error::Result;
use crate::org::{self, DepartmentInput, FacilityInput, UnitInput};
use crate::roles::Role;
use crate::users::{self, Actor};

pub const DEMO_USER: &str = "demo";
const SEEDER: Actor<'static> = Actor {
    name: "demo",
    address: "local",
};

struct DemoFacility {
    name: &'static str,
    ccn: &'static str,
    city: &'static str,
    departments: &'static [DemoDepartment],
}

/// A department: name, service line, and its units (name, kind, staffed beds).
type DemoDepartment = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, i64)],
);

const HEALTH_SYSTEM: &[DemoFacility] = &[
    DemoFacility {
        name: "Riverside General Hospital",
        ccn: "390901",
        city: "Harrisburg",
        departments: &[
            (
                "General Surgery",
                "Surgery",
                &[
                    ("Surgical Suite", "surgery", 0),
                    ("PACU", "pacu", 14),
                    ("5 North Surgical", "med-surg", 32),
                ],
            ),
            (
                "Internal Medicine",
                "Medicine",
                &[
                    ("4 West Medical", "med-surg", 36),
                    ("4 East Step-down", "step-down", 16),
                ],
            ),
            (
                "Critical Care",
                "Medicine",
                &[("Medical ICU", "icu", 20), ("Surgical ICU", "icu", 16)],
            ),
            (
                "Emergency Medicine",
                "Emergency",
                &[
                    ("Emergency Department", "emergency", 42),
                    ("Clinical Decision Unit", "observation", 12),
                ],
            ),
            (
                "Obstetrics and Gynaecology",
                "Women's health",
                &[
                    ("Labour and Delivery", "obstetrics", 18),
                    ("NICU", "nicu", 24),
                ],
            ),
        ],
    },
    DemoFacility {
        name: "Riverside Community Hospital",
        ccn: "390902",
        city: "Carlisle",
        departments: &[
            (
                "Hospital Medicine",
                "Medicine",
                &[("2 South Medical", "med-surg", 28), ("ICU", "icu", 8)],
            ),
            (
                "Emergency Medicine",
                "Emergency",
                &[("Emergency Department", "emergency", 18)],
            ),
            (
                "Behavioural Health",
                "Behavioural health",
                &[("Adult Behavioural Unit", "behavioral", 20)],
            ),
        ],
    },
];

/// Seeds the organisation when there is none yet. Returns whether it seeded.
pub async fn seed(db: &Db) -> Result<bool> {
    if !org::facilities(db).await?.is_empty() {
        return Ok(false);
    }
    for f in HEALTH_SYSTEM {
        let input = FacilityInput {
            name: f.name.into(),
            ccn: Some(f.ccn.into()),
            city: f.city.into(),
            state: "PA".into(),
        };
        let facility = org::save_facility(db, SEEDER, None, &input).await?;
        for (name, line, units) in f.departments {
            let dept = DepartmentInput {
                facility_id: facility.id,
                name: (*name).into(),
                service_line: (*line).into(),
            };
            let department = org::save_department(db, SEEDER, None, &dept).await?;
            for (unit, kind, beds) in *units {
                let input = UnitInput {
                    facility_id: facility.id,
                    department_id: Some(department.id),
                    name: (*unit).into(),
                    kind: (*kind).into(),
                    beds: *beds,
                };
                org::save_unit(db, SEEDER, None, &input).await?;
            }
        }
    }
    Ok(true)
}

/// Makes sure the `demo` account exists with every role and a fresh password; returns it.
pub async fn demo_account(db: &Db) -> Result<String> {
    let password = users::random_password();
    match users::find(db, DEMO_USER).await {
        Ok(user) => {
            if user.disabled {
                users::set_disabled(db, SEEDER, DEMO_USER, false).await?;
            }
            users::set_roles(db, SEEDER, DEMO_USER, &Role::ALL).await?;
            users::set_password(db, SEEDER, DEMO_USER, &password).await?;
        }
        Err(crate::Error::NotFound { .. }) => {
            users::create(
                db,
                SEEDER,
                DEMO_USER,
                "Demo user (every role)",
                &password,
                &Role::ALL,
            )
            .await?;
        }
        Err(e) => return Err(e),
    }
    Ok(password)
}
