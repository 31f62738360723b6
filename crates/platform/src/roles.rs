//! The roles of DESIGN.md §2. A user holds one or more; every route declares the roles that may
//! use it. No role is a superuser: `admin` runs the system (accounts, organisation, jobs) but does
//! not see peer review or patient data unless also given the role that does.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Admin,
    Cmo,
    MedicalStaffOffice,
    DepartmentChair,
    PeerReviewer,
    Quality,
    SafetyOfficer,
    Compliance,
    Gme,
    PvPhysician,
    Epidemiologist,
    StaffReporter,
    Practitioner,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 14] = [
        Role::Admin,
        Role::Cmo,
        Role::MedicalStaffOffice,
        Role::DepartmentChair,
        Role::PeerReviewer,
        Role::Quality,
        Role::SafetyOfficer,
        Role::Compliance,
        Role::Gme,
        Role::PvPhysician,
        Role::Epidemiologist,
        Role::StaffReporter,
        Role::Practitioner,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Cmo => "cmo",
            Role::MedicalStaffOffice => "medical-staff-office",
            Role::DepartmentChair => "department-chair",
            Role::PeerReviewer => "peer-reviewer",
            Role::Quality => "quality",
            Role::SafetyOfficer => "safety-officer",
            Role::Compliance => "compliance",
            Role::Gme => "gme",
            Role::PvPhysician => "pv-physician",
            Role::Epidemiologist => "epidemiologist",
            Role::StaffReporter => "staff-reporter",
            Role::Practitioner => "practitioner",
            Role::Auditor => "auditor",
        }
    }

    /// What the role is for, as shown on the user admin page and in `rounds user --help`.
    pub fn description(self) -> &'static str {
        match self {
            Role::Admin => "runs the system: accounts, organisation, jobs",
            Role::Cmo => "Chief Medical Officer: sees every module's results",
            Role::MedicalStaffOffice => "credentials, privileges, appointments",
            Role::DepartmentChair => "reviews the practitioners of a department",
            Role::PeerReviewer => "reviews cases in peer review",
            Role::Quality => "quality measures, charts, improvement projects",
            Role::SafetyOfficer => "safety events and investigations",
            Role::Compliance => "policies, standards, regulatory calendar, access reports",
            Role::Gme => "graduate medical education: residents and duty hours",
            Role::PvPhysician => "pharmacovigilance: reports and signals",
            Role::Epidemiologist => "public-health surveillance and outbreaks",
            Role::StaffReporter => "reports safety events",
            Role::Practitioner => "sees their own file",
            Role::Auditor => "reads the audit log",
        }
    }

    pub fn parse(text: &str) -> Result<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| {
                Error::invalid(
                    "role",
                    format!(
                        "'{text}' is not a role; the roles are {}",
                        Role::ALL.map(Role::as_str).join(", ")
                    ),
                )
            })
    }

    /// Parses a comma-separated list as stored with API tokens.
    pub fn parse_list(text: &str) -> Result<Vec<Role>> {
        text.split(',')
            .filter(|s| !s.is_empty())
            .map(Role::parse)
            .collect()
    }

    pub fn join(roles: &[Role]) -> String {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Role> {
        Role::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_back_from_its_name() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
        }
    }

    #[test]
    fn an_unknown_role_is_named_in_the_error() {
        let err = Role::parse("superuser").unwrap_err().to_string();
        assert!(err.contains("'superuser' is not a role"), "{err}");
        assert_eq!(
            Role::parse_list("cmo,auditor").unwrap(),
            vec![Role::Cmo, Role::Auditor]
        );
    }
}
