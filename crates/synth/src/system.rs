//! The organisation of the synthetic health system: facilities, their departments and nursing
//! units, and the practitioners who work in them, with the planted practitioners and places.

use crate::catalog::{self, Code, FAMILY_NAMES, GIVEN_NAMES_F, GIVEN_NAMES_M, Service, UnitKind};
use crate::fhir::{self, Concept, Identifier, Reference};
use crate::npi;
use crate::rng::{self, Rng};
use rand::Rng as _;
use std::collections::BTreeSet;

pub struct Facility {
    pub id: String,
    pub name: &'static str,
    pub city: &'static str,
    pub ccn: String,
    pub npi: String,
    pub zip3: [&'static str; 2],
    /// Share of the system's admissions and ED visits.
    pub share: f64,
}

pub struct Department {
    pub id: String,
    pub facility: usize,
    pub service: Service,
    pub name: String,
}

pub struct Unit {
    pub id: String,
    pub facility: usize,
    pub kind: UnitKind,
    pub name: &'static str,
    pub beds: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Physician,
    Advanced,
    Resident,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::Physician => "physician",
            Kind::Advanced => "app",
            Kind::Resident => "resident",
        }
    }
}

pub struct Practitioner {
    pub id: String,
    pub npi: String,
    pub family: &'static str,
    pub given: &'static str,
    pub female: bool,
    pub kind: Kind,
    pub department: usize,
    pub specialty: Code,
    /// Relative share of the department's cases attended.
    pub volume: f64,
}

/// What the generator plants in the health-system data.
pub struct Planted {
    pub surgeon: usize,
    pub surgeon_odds_ratio: f64,
    pub mortality_physician: usize,
    pub mortality_odds_ratio: f64,
    pub cluster_unit: usize,
    /// Month index from the start of the data (0 = first month).
    pub cluster_month: usize,
    pub cluster_rate: f64,
    pub drift_department: usize,
    pub drift_start_month: usize,
    /// Fractional LOS increase per month from the start month on.
    pub drift_per_month: f64,
    pub planted_volume: f64,
}

pub struct HealthSystem {
    pub facilities: Vec<Facility>,
    pub departments: Vec<Department>,
    pub units: Vec<Unit>,
    pub practitioners: Vec<Practitioner>,
    pub planted: Planted,
}

struct FacilityPlan {
    name: &'static str,
    city: &'static str,
    zip3: [&'static str; 2],
    share: f64,
    /// Physicians per service at medium scale.
    physicians: &'static [(Service, u32)],
    apps: u32,
    residents: &'static [(Service, u32)],
    units: &'static [(&'static str, UnitKind, u32)],
}

use Service as S;
use UnitKind as U;

static PLAN: [FacilityPlan; 3] = [
    FacilityPlan {
        name: "Riverside University Medical Center",
        city: "Philadelphia",
        zip3: ["191", "190"],
        share: 0.55,
        physicians: &[
            (S::HospitalMedicine, 40),
            (S::Cardiology, 18),
            (S::Pulmonology, 10),
            (S::Neurology, 10),
            (S::Gastroenterology, 8),
            (S::Nephrology, 6),
            (S::Psychiatry, 8),
            (S::EmergencyMedicine, 30),
            (S::GeneralSurgery, 14),
            (S::OrthopedicSurgery, 12),
            (S::Neurosurgery, 6),
            (S::CardiothoracicSurgery, 5),
            (S::VascularSurgery, 4),
            (S::Urology, 6),
            (S::ObstetricsGynecology, 14),
            (S::Pediatrics, 8),
        ],
        apps: 50,
        residents: &[
            (S::HospitalMedicine, 25),
            (S::GeneralSurgery, 15),
            (S::EmergencyMedicine, 10),
        ],
        units: &[
            ("3 West Medicine", U::Medicine, 32),
            ("4 West Medicine", U::Medicine, 32),
            ("4 East Medicine", U::Medicine, 30),
            ("5 West Medicine", U::Medicine, 28),
            ("5 East Medicine", U::Medicine, 28),
            ("6 West Surgery", U::Surgery, 30),
            ("6 East Surgery", U::Surgery, 30),
            ("7 West Orthopaedics", U::Ortho, 26),
            ("7 East Neuroscience", U::Neuro, 24),
            ("Cardiac Step-Down", U::Cardiac, 24),
            ("Medical ICU", U::Icu, 20),
            ("Surgical ICU", U::Icu, 16),
            ("Cardiovascular ICU", U::Icu, 14),
            ("Labor and Delivery", U::Maternity, 18),
            ("Newborn Nursery", U::Nursery, 24),
            ("Behavioral Health", U::Behavioral, 22),
            ("Emergency Department", U::Emergency, 60),
            ("Clinical Decision Unit", U::Observation, 20),
        ],
    },
    FacilityPlan {
        name: "Lakeview Community Hospital",
        city: "Norristown",
        zip3: ["194", "193"],
        share: 0.30,
        physicians: &[
            (S::HospitalMedicine, 16),
            (S::Cardiology, 6),
            (S::GeneralSurgery, 6),
            (S::OrthopedicSurgery, 5),
            (S::ObstetricsGynecology, 6),
            (S::EmergencyMedicine, 14),
            (S::Pediatrics, 3),
        ],
        apps: 15,
        residents: &[],
        units: &[
            ("2 North Medicine", U::Medicine, 30),
            ("2 South Medicine", U::Medicine, 30),
            ("3 North Medicine", U::Medicine, 28),
            ("Progressive Care", U::Medicine, 20),
            ("3 South Surgery", U::Surgery, 28),
            ("Short Stay Surgery", U::Surgery, 16),
            ("Orthopaedic Unit", U::Ortho, 20),
            ("Telemetry", U::Cardiac, 24),
            ("Intensive Care Unit", U::Icu, 14),
            ("Birthing Center", U::Maternity, 14),
            ("Nursery", U::Nursery, 14),
            ("Emergency Department", U::Emergency, 36),
            ("Observation Unit", U::Observation, 14),
        ],
    },
    FacilityPlan {
        name: "Hillcrest Memorial Hospital",
        city: "Allentown",
        zip3: ["180", "181"],
        share: 0.15,
        physicians: &[
            (S::HospitalMedicine, 8),
            (S::GeneralSurgery, 3),
            (S::EmergencyMedicine, 8),
        ],
        apps: 8,
        residents: &[],
        units: &[
            ("Medical Unit A", U::Medicine, 26),
            ("Medical Unit B", U::Medicine, 26),
            ("Med-Surg 2", U::Surgery, 22),
            ("Surgical Unit", U::Surgery, 20),
            ("Telemetry", U::Cardiac, 16),
            ("Intensive Care Unit", U::Icu, 10),
            ("Emergency Department", U::Emergency, 24),
            ("Observation", U::Observation, 10),
        ],
    },
];

/// Draws NPIs (or CCN suffixes) without repeats.
struct Unique {
    taken: BTreeSet<u32>,
}

impl Unique {
    fn draw(&mut self, rng: &mut Rng, low: u32, high: u32) -> u32 {
        loop {
            let n = rng.random_range(low..high);
            if self.taken.insert(n) {
                return n;
            }
        }
    }
}

impl HealthSystem {
    /// The structure for a practitioner scale factor (1 at medium) and the data's month count.
    pub fn build(seed: u64, practitioner_factor: f64, months: usize) -> HealthSystem {
        let mut rng = rng::stream(seed, "structure", 0);
        let mut npis = Unique {
            taken: BTreeSet::new(),
        };
        let mut ccns = Unique {
            taken: BTreeSet::new(),
        };
        let mut facilities = Vec::new();
        let mut departments = Vec::new();
        let mut units = Vec::new();
        let mut practitioners: Vec<Practitioner> = Vec::new();
        for (f, plan) in PLAN.iter().enumerate() {
            let ccn = format!("390{:03}", ccns.draw(&mut rng, 1, 880));
            facilities.push(Facility {
                id: format!("fac-{}", f + 1),
                name: plan.name,
                city: plan.city,
                ccn,
                npi: npi::from_body(npis.draw(&mut rng, 100_000_000, 300_000_000)),
                zip3: plan.zip3,
                share: plan.share,
            });
            let first_department = departments.len();
            for &(service, count) in plan.physicians {
                let department = departments.len();
                departments.push(Department {
                    id: format!("dept-{}-{}", f + 1, service.slug()),
                    facility: f,
                    service,
                    name: format!("{} – {}", plan.name, service.name()),
                });
                let minimum = if f == 0 { 3.0 } else { 2.0 };
                let n = (count as f64 * practitioner_factor).round().max(minimum) as u32;
                for _ in 0..n {
                    let p = person(&mut rng, &mut npis, practitioners.len(), Kind::Physician);
                    practitioners.push(Practitioner {
                        department,
                        specialty: service.taxonomy(),
                        volume: rng.random_range(0.6..1.4),
                        ..p
                    });
                }
            }
            let apps = (plan.apps as f64 * practitioner_factor).round() as u32;
            let facility_departments = departments.len() - first_department;
            for i in 0..apps {
                let department = first_department + (i as usize % facility_departments);
                let p = person(&mut rng, &mut npis, practitioners.len(), Kind::Advanced);
                let specialty = if rng.random_bool(0.6) {
                    catalog::NP
                } else {
                    catalog::PA
                };
                practitioners.push(Practitioner {
                    department,
                    specialty,
                    ..p
                });
            }
            for &(service, count) in plan.residents {
                let department = departments
                    .iter()
                    .position(|d| d.facility == f && d.service == service)
                    .expect("residents train in a department of their facility");
                let n = (count as f64 * practitioner_factor).round() as u32;
                for _ in 0..n {
                    let p = person(&mut rng, &mut npis, practitioners.len(), Kind::Resident);
                    practitioners.push(Practitioner {
                        department,
                        specialty: catalog::RESIDENT,
                        ..p
                    });
                }
            }
            for (u, &(name, kind, beds)) in plan.units.iter().enumerate() {
                units.push(Unit {
                    id: format!("unit-{}-{:02}", f + 1, u + 1),
                    facility: f,
                    kind,
                    name,
                    beds,
                });
            }
        }

        // The planted practitioners are busy ones in the flagship's departments, so that their
        // signals have cases enough to be seen at every scale.
        let planted_volume = 2.5;
        let pick = |rng: &mut Rng, service: Service| {
            let candidates: Vec<usize> = practitioners
                .iter()
                .enumerate()
                .filter(|(_, p)| {
                    p.kind == Kind::Physician
                        && departments[p.department].facility == 0
                        && departments[p.department].service == service
                })
                .map(|(i, _)| i)
                .collect();
            candidates[rng.random_range(0..candidates.len())]
        };
        let surgeon = pick(&mut rng, Service::OrthopedicSurgery);
        let mortality_physician = pick(&mut rng, Service::HospitalMedicine);
        practitioners[surgeon].volume = planted_volume;
        practitioners[mortality_physician].volume = planted_volume;
        let cluster_unit = units
            .iter()
            .position(|u| u.facility == 0 && u.name == "5 West Medicine")
            .expect("the flagship has 5 West");
        let drift_department = departments
            .iter()
            .position(|d| d.facility == 1 && d.service == Service::HospitalMedicine)
            .expect("the community hospital has hospital medicine");
        let planted = Planted {
            surgeon,
            surgeon_odds_ratio: 2.5,
            mortality_physician,
            mortality_odds_ratio: 2.0,
            cluster_unit,
            cluster_month: rng.random_range(months / 4..months * 3 / 4),
            cluster_rate: 0.15,
            drift_department,
            drift_start_month: rng.random_range(months / 3..months / 2 + 1),
            drift_per_month: 0.03,
            planted_volume,
        };
        HealthSystem {
            facilities,
            departments,
            units,
            practitioners,
            planted,
        }
    }

    /// The department of a service at a facility, or of the service it falls back to.
    pub fn department(&self, facility: usize, service: Service) -> Option<usize> {
        let find = |s: Service| {
            self.departments
                .iter()
                .position(|d| d.facility == facility && d.service == s)
        };
        find(service).or_else(|| service.fallback().and_then(find))
    }

    /// Organization, Location, Practitioner and PractitionerRole resources as NDJSON.
    pub fn write(&self) -> [(&'static str, Vec<u8>, u64); 4] {
        let mut orgs = Vec::new();
        let mut org_count = 0;
        for f in &self.facilities {
            fhir::line(
                &mut orgs,
                &fhir::Organization {
                    resource_type: "Organization",
                    id: &f.id,
                    identifier: vec![
                        Identifier {
                            system: fhir::CCN,
                            value: &f.ccn,
                        },
                        Identifier {
                            system: fhir::NPI,
                            value: &f.npi,
                        },
                    ],
                    active: true,
                    kind: vec![Concept::new(fhir::ORG_TYPE, "prov", "Healthcare Provider")],
                    name: f.name,
                    address: vec![fhir::Address {
                        city: Some(f.city),
                        state: Some("PA"),
                        postal_code: &format!("{}01", f.zip3[0]),
                    }],
                    part_of: None,
                },
            );
            org_count += 1;
        }
        for d in &self.departments {
            fhir::line(
                &mut orgs,
                &fhir::Organization {
                    resource_type: "Organization",
                    id: &d.id,
                    identifier: vec![],
                    active: true,
                    kind: vec![Concept::new(fhir::ORG_TYPE, "dept", "Hospital Department")],
                    name: &d.name,
                    address: vec![],
                    part_of: Some(Reference::to(
                        "Organization",
                        &self.facilities[d.facility].id,
                    )),
                },
            );
            org_count += 1;
        }
        let mut locations = Vec::new();
        for u in &self.units {
            fhir::line(
                &mut locations,
                &fhir::Location {
                    resource_type: "Location",
                    id: &u.id,
                    extension: [fhir::IntegerExtension {
                        url: fhir::BEDS,
                        value_integer: u.beds,
                    }],
                    status: "active",
                    name: u.name,
                    physical_type: Concept::new(fhir::PHYSICAL_TYPE, "wa", "Ward"),
                    managing_organization: Reference::to(
                        "Organization",
                        &self.facilities[u.facility].id,
                    ),
                },
            );
        }
        let mut people = Vec::new();
        let mut roles = Vec::new();
        for p in &self.practitioners {
            fhir::line(
                &mut people,
                &fhir::Practitioner {
                    resource_type: "Practitioner",
                    id: &p.id,
                    identifier: [Identifier {
                        system: fhir::NPI,
                        value: &p.npi,
                    }],
                    active: true,
                    name: [fhir::HumanName {
                        family: p.family,
                        given: [p.given],
                        prefix: (p.kind == Kind::Physician).then_some(["Dr."]),
                    }],
                    gender: if p.female { "female" } else { "male" },
                },
            );
            fhir::line(
                &mut roles,
                &fhir::PractitionerRole {
                    resource_type: "PractitionerRole",
                    id: &format!("role-{}", &p.id["prac-".len()..]),
                    active: true,
                    practitioner: Reference::to("Practitioner", &p.id),
                    organization: Reference::to("Organization", &self.departments[p.department].id),
                    code: [Concept::new(
                        fhir::PRACTITIONER_KIND,
                        p.kind.code(),
                        p.kind.code(),
                    )],
                    specialty: [Concept::new(
                        fhir::NUCC,
                        p.specialty.code,
                        p.specialty.display,
                    )],
                },
            );
        }
        let n = self.practitioners.len() as u64;
        [
            ("Organization.ndjson", orgs, org_count),
            ("Location.ndjson", locations, self.units.len() as u64),
            ("Practitioner.ndjson", people, n),
            ("PractitionerRole.ndjson", roles, n),
        ]
    }
}

fn person(rng: &mut Rng, npis: &mut Unique, index: usize, kind: Kind) -> Practitioner {
    let female = rng.random_bool(0.5);
    let given = if female {
        GIVEN_NAMES_F[rng.random_range(0..GIVEN_NAMES_F.len())]
    } else {
        GIVEN_NAMES_M[rng.random_range(0..GIVEN_NAMES_M.len())]
    };
    Practitioner {
        id: format!("prac-{:04}", index + 1),
        npi: npi::from_body(npis.draw(rng, 100_000_000, 200_000_000)),
        family: FAMILY_NAMES[rng.random_range(0..FAMILY_NAMES.len())],
        given,
        female,
        kind,
        department: 0,
        specialty: catalog::RESIDENT,
        volume: 1.0,
    }
}
