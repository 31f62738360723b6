//! Patients and their encounters, simulated day by day. Patients are split into partitions, each
//! with its own random stream and its own share of the arrivals, so partitions run in parallel and
//! the output does not depend on the number of threads.
//!
//! The clinical model: admissions arrive by stream (medical, respiratory with a winter season,
//! elective surgery on weekdays, urgent surgery and deliveries); LOS is log-normal around the
//! DRG's geometric mean; death, 30-day readmission and post-operative complications follow
//! logistic models of age, coded comorbidity count and DRG weight (`Risk`), in which the planted
//! surgeon and physician carry their odds ratios.

use crate::catalog::{self, Code, DRGS, Drg, Service, Stream, UnitKind};
use crate::fhir::{self, Coding, Concept, Reference};
use crate::rng::{self, Rng, Table};
use crate::system::{HealthSystem, Kind};
use chrono::{Datelike, Days, NaiveDate};
use rand::Rng as _;
use rand_distr::{Distribution, Exp, LogNormal, Poisson, StandardNormal};

/// The first day of the data and the number of days (two years).
pub const FIRST_DAY: (i32, u32, u32) = (2023, 1, 1);
pub const DAYS: usize = 731;
pub const MONTHS: usize = 24;
/// Times are written at a fixed offset from UTC (the system's standard time).
pub const OFFSET: &str = "-05:00";

/// The coefficients of the outcome models, on the logit scale: intercept, per year of age above
/// 65, per coded comorbidity, per unit of DRG weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Risk {
    pub intercept: f64,
    pub age: f64,
    pub comorbidity: f64,
    pub weight: f64,
}

impl Risk {
    pub fn logit(&self, age: f64, comorbidities: usize, weight: f64) -> f64 {
        self.intercept
            + self.age * (age - 65.0)
            + self.comorbidity * comorbidities as f64
            + self.weight * weight
    }
}

pub const MORTALITY: Risk = Risk {
    intercept: -5.4,
    age: 0.045,
    comorbidity: 0.30,
    weight: 0.50,
};
pub const COMPLICATION: Risk = Risk {
    intercept: -3.3,
    age: 0.02,
    comorbidity: 0.25,
    weight: 0.35,
};
pub const READMISSION: Risk = Risk {
    intercept: -2.5,
    age: 0.01,
    comorbidity: 0.20,
    weight: 0.20,
};
/// Hospital-acquired C. difficile per stay of four days, outside the planted cluster.
pub const CDIFF_BASE: f64 = 0.004;
/// Standard deviation of log LOS around the DRG's geometric mean.
pub const LOS_SIGMA: f64 = 0.5;

/// How many encounters to generate over the two years (before readmissions, newborns,
/// observation stays and post-operative visits, which follow from these).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Volumes {
    pub admissions: f64,
    pub emergency: f64,
    pub partitions: usize,
}

/// Shares of first admissions by stream.
const STREAMS: [(Stream, f64); 4] = [
    (Stream::Medical, 0.55),
    (Stream::Respiratory, 0.13),
    (Stream::Elective, 0.17),
    (Stream::Urgent, 0.15),
];

const HOURS: [f64; 24] = [
    2.0, 1.5, 1.2, 1.0, 1.0, 1.2, 2.0, 3.0, 4.5, 5.5, 6.0, 6.0, 5.8, 5.6, 5.5, 5.4, 5.4, 5.5, 5.2,
    4.8, 4.2, 3.6, 3.0, 2.5,
];

/// What every partition shares: the calendar, the draw tables and the structure.
pub struct Context<'a> {
    pub system: &'a HealthSystem,
    pub seed: u64,
    pub volumes: Volumes,
    dates: Vec<String>,
    weekday: Vec<usize>,
    month: Vec<usize>,
    /// Respiratory season factor per day (mean 1 over a year).
    season: Vec<f64>,
    /// Per facility and stream: DRG indices and their draw table.
    drg_tables: Vec<Vec<(Vec<usize>, Table)>>,
    /// Per department: its physicians and a table by volume; its advanced practitioners.
    physicians: Vec<(Vec<usize>, Table)>,
    apps: Vec<Vec<usize>>,
    hours: Table,
    ed_diagnoses: Vec<Table>,
    ed_levels: Table,
    complications: Table,
}

impl<'a> Context<'a> {
    pub fn new(system: &'a HealthSystem, seed: u64, volumes: Volumes) -> Context<'a> {
        let first = first_day();
        let span = DAYS + 400;
        let mut dates = Vec::with_capacity(span);
        let mut weekday = Vec::with_capacity(span);
        let mut month = Vec::with_capacity(span);
        let mut season = Vec::with_capacity(span);
        for d in 0..span {
            let date = first + Days::new(d as u64);
            dates.push(date.format("%Y-%m-%d").to_string());
            weekday.push(date.weekday().num_days_from_monday() as usize);
            month.push(((date.year() - first.year()) * 12) as usize + date.month0() as usize);
            let phase = 2.0 * std::f64::consts::PI * (date.ordinal() as f64 - 20.0) / 365.25;
            season.push(1.0 + 0.9 * phase.cos());
        }
        let drg_tables = (0..system.facilities.len())
            .map(|f| {
                STREAMS
                    .iter()
                    .map(|&(stream, _)| {
                        let offered: Vec<usize> = DRGS
                            .iter()
                            .enumerate()
                            .filter(|(_, d)| {
                                d.stream == stream && system.department(f, d.service).is_some()
                            })
                            .map(|(i, _)| i)
                            .collect();
                        let table = Table::new(offered.iter().map(|&i| DRGS[i].volume));
                        (offered, table)
                    })
                    .collect()
            })
            .collect();
        let physicians = (0..system.departments.len())
            .map(|d| {
                let list: Vec<usize> = system
                    .practitioners
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.department == d && p.kind == Kind::Physician)
                    .map(|(i, _)| i)
                    .collect();
                let table = Table::new(list.iter().map(|&i| system.practitioners[i].volume));
                (list, table)
            })
            .collect();
        let apps = (0..system.departments.len())
            .map(|d| {
                system
                    .practitioners
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.department == d && p.kind == Kind::Advanced)
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        // ED diagnosis tables for a range of season factors (0.1..1.9 in steps of 0.1).
        let ed_diagnoses = (0..=20)
            .map(|k| {
                let factor = k as f64 / 10.0;
                Table::new(
                    catalog::ED_DIAGNOSES
                        .iter()
                        .map(|(_, w, seasonal, _)| if *seasonal { w * factor } else { *w }),
                )
            })
            .collect();
        Context {
            system,
            seed,
            volumes,
            dates,
            weekday,
            month,
            season,
            drg_tables,
            physicians,
            apps,
            hours: Table::new(HOURS),
            ed_diagnoses,
            ed_levels: Table::new(catalog::ED_LEVELS.iter().map(|(_, w)| *w)),
            complications: Table::new(catalog::COMPLICATIONS.iter().map(|(_, w)| *w)),
        }
    }

    fn stamp(&self, minute: i64) -> String {
        let day = (minute / 1440) as usize;
        let m = minute % 1440;
        format!("{}T{:02}:{:02}:00{OFFSET}", self.dates[day], m / 60, m % 60)
    }

    /// A physician of a department, by volume.
    fn physician(&self, rng: &mut Rng, department: usize) -> usize {
        let (list, table) = &self.physicians[department];
        list[table.draw(rng)]
    }

    fn unit(&self, rng: &mut Rng, facility: usize, kind: UnitKind) -> usize {
        let mut kind = kind;
        loop {
            let units: Vec<usize> = self
                .system
                .units
                .iter()
                .enumerate()
                .filter(|(_, u)| u.facility == facility && u.kind == kind)
                .map(|(i, _)| i)
                .collect();
            if !units.is_empty() {
                return units[rng.random_range(0..units.len())];
            }
            kind = kind.fallback();
        }
    }
}

pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2).expect("a valid first day")
}

/// One partition's NDJSON: Patient, Encounter, Condition, Procedure, and record counts.
#[derive(Default)]
pub struct Output {
    pub patient: Vec<u8>,
    pub encounter: Vec<u8>,
    pub condition: Vec<u8>,
    pub procedure: Vec<u8>,
    pub counts: [u64; 4],
}

struct Person {
    birth_day: i64,
    female: bool,
    facility: usize,
    zip: u32,
    comorbidities: Vec<usize>,
    death: Option<i64>,
    busy_until: i64,
}

enum Pending {
    Readmission {
        patient: usize,
    },
    PostOp {
        patient: usize,
        department: usize,
        surgeon: usize,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Inpatient,
    Emergency,
    Observation,
    Ambulatory,
}

impl Class {
    fn coding(self) -> Coding<'static> {
        let (code, display) = match self {
            Class::Inpatient => ("IMP", "inpatient encounter"),
            Class::Emergency => ("EMER", "emergency"),
            Class::Observation => ("OBSENC", "observation encounter"),
            Class::Ambulatory => ("AMB", "ambulatory"),
        };
        Coding::new(fhir::ACT_CODE, code, display)
    }
}

/// An encounter before it is written.
struct Visit {
    class: Class,
    patient: usize,
    start: i64,
    end: i64,
    department: usize,
    unit: Option<usize>,
    attending: usize,
    drg: Option<&'static Drg>,
    admit_source: Option<&'static str>,
    disposition: Option<&'static str>,
    /// Code and present-on-admission indicator (inpatient only).
    diagnoses: Vec<(Code, Option<&'static str>)>,
    /// System, code, minute, performer.
    procedures: Vec<(&'static str, Code, i64, usize)>,
}

struct Partition<'c, 'a> {
    ctx: &'c Context<'a>,
    index: usize,
    rng: Rng,
    people: Vec<Person>,
    pending: Vec<Vec<Pending>>,
    out: Output,
    encounters: u64,
    conditions: u64,
    procedures: u64,
}

pub fn run_partition(ctx: &Context, index: usize) -> Output {
    let mut p = Partition {
        ctx,
        index,
        rng: rng::stream(ctx.seed, "patients", index as u64),
        people: Vec::new(),
        pending: (0..DAYS).map(|_| Vec::new()).collect(),
        out: Output::default(),
        encounters: 0,
        conditions: 0,
        procedures: 0,
    };
    p.simulate();
    p.write_patients();
    p.out
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn poisson(rng: &mut Rng, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean)
        .map(|d| d.sample(rng) as u64)
        .unwrap_or(0)
}

impl Partition<'_, '_> {
    fn simulate(&mut self) {
        let ctx = self.ctx;
        let parts = ctx.volumes.partitions as f64;
        let first_admissions = ctx.volumes.admissions / 1.17;
        let weekday_mean = |w: &[f64; 7]| w.iter().sum::<f64>() / 7.0;
        for day in 0..DAYS {
            for event in std::mem::take(&mut self.pending[day]) {
                match event {
                    Pending::Readmission { patient } => {
                        if self.people[patient].death.is_none() {
                            let facility = self.people[patient].facility;
                            if let Some(drg) = self.draw_drg(facility, 0) {
                                self.admit(day, facility, drg, Some(patient), "emd");
                            }
                        }
                    }
                    Pending::PostOp {
                        patient,
                        department,
                        surgeon,
                    } => self.post_op(day, patient, department, surgeon),
                }
            }
            let wd = ctx.weekday[day];
            for (f, facility) in ctx.system.facilities.iter().enumerate() {
                for (s, &(stream, share)) in STREAMS.iter().enumerate() {
                    let weekday = match stream {
                        Stream::Elective => {
                            catalog::WEEKDAY_ELECTIVE[wd] / weekday_mean(&catalog::WEEKDAY_ELECTIVE)
                        }
                        _ => catalog::WEEKDAY_MEDICAL[wd] / weekday_mean(&catalog::WEEKDAY_MEDICAL),
                    };
                    let season = if stream == Stream::Respiratory {
                        ctx.season[day]
                    } else {
                        1.0
                    };
                    let mean = first_admissions * share * facility.share * weekday * season
                        / DAYS as f64
                        / parts;
                    for _ in 0..poisson(&mut self.rng, mean) {
                        if let Some(drg) = self.draw_drg(f, s) {
                            let source = match stream {
                                Stream::Elective => "mp",
                                Stream::Urgent if DRGS[drg].female_only => "mp",
                                Stream::Urgent => "emd",
                                _ => [
                                    "emd",
                                    "emd",
                                    "emd",
                                    "emd",
                                    "emd",
                                    "emd",
                                    "emd",
                                    "emd",
                                    "mp",
                                    "hosp-trans",
                                    "gp",
                                ][self.rng.random_range(0..11)],
                            };
                            self.admit(day, f, drg, None, source);
                        }
                    }
                }
                let ed_season = 1.0 + 0.15 * (ctx.season[day] - 1.0);
                let weekday = catalog::WEEKDAY_ED[wd] / weekday_mean(&catalog::WEEKDAY_ED);
                let mean = ctx.volumes.emergency * facility.share * weekday * ed_season
                    / DAYS as f64
                    / parts;
                for _ in 0..poisson(&mut self.rng, mean) {
                    self.emergency(day, f);
                }
            }
        }
    }

    fn normal(&mut self) -> f64 {
        StandardNormal.sample(&mut self.rng)
    }

    fn draw_drg(&mut self, facility: usize, stream: usize) -> Option<usize> {
        let (offered, table) = &self.ctx.drg_tables[facility][stream];
        if table.is_empty() {
            return None;
        }
        Some(offered[table.draw(&mut self.rng)])
    }

    fn new_person(&mut self, day: usize, age: f64, female: bool, facility: usize) -> usize {
        let birth_day = day as i64 - (age * 365.25) as i64 - self.rng.random_range(0..365);
        let lambda = 0.2 + 0.05 * (age - 30.0).max(0.0);
        let count = poisson(&mut self.rng, lambda).min(8) as usize;
        let mut comorbidities = Vec::with_capacity(count);
        while comorbidities.len() < count {
            let c = self.rng.random_range(0..catalog::COMORBIDITIES.len());
            if !comorbidities.contains(&c) {
                comorbidities.push(c);
            }
        }
        comorbidities.sort_unstable();
        self.people.push(Person {
            birth_day,
            female,
            facility,
            zip: self.rng.random_range(0..100),
            comorbidities,
            death: None,
            busy_until: 0,
        });
        self.people.len() - 1
    }

    /// A returning patient who fits, or none.
    fn returning(&mut self, start: i64, min_age: f64, female: Option<bool>) -> Option<usize> {
        if self.people.is_empty() {
            return None;
        }
        let i = self.rng.random_range(0..self.people.len());
        let p = &self.people[i];
        let age = (start / 1440 - p.birth_day) as f64 / 365.25;
        (p.death.is_none()
            && p.busy_until < start
            && age >= min_age
            && female.is_none_or(|f| f == p.female))
        .then_some(i)
    }

    fn age(&self, patient: usize, minute: i64) -> f64 {
        (minute / 1440 - self.people[patient].birth_day) as f64 / 365.25
    }

    fn arrival(&mut self, day: usize) -> i64 {
        let hour = self.ctx.hours.draw(&mut self.rng) as i64;
        day as i64 * 1440 + hour * 60 + self.rng.random_range(0..60)
    }

    fn admit(
        &mut self,
        day: usize,
        facility: usize,
        drg_index: usize,
        readmitted: Option<usize>,
        source: &'static str,
    ) {
        let ctx = self.ctx;
        let system = ctx.system;
        let planted = &system.planted;
        let drg = &DRGS[drg_index];
        let start = if drg.stream == Stream::Elective {
            day as i64 * 1440 + 360 + self.rng.random_range(0..90)
        } else {
            self.arrival(day)
        };
        let patient = match readmitted {
            Some(p) => p,
            None => {
                let female = drg.female_only.then_some(true);
                let found = if self.rng.random_bool(0.3) {
                    self.returning(start, 18.0, female)
                        .filter(|&p| !drg.female_only || self.age(p, start) < 50.0)
                } else {
                    None
                };
                match found {
                    Some(p) => p,
                    None => {
                        let z = self.normal();
                        let (low, high) = if drg.female_only {
                            (17.0, 49.0)
                        } else {
                            (18.0, 99.0)
                        };
                        let age = (drg.age.0 + drg.age.1 * z).clamp(low, high);
                        let female = drg.female_only || self.rng.random_bool(0.52);
                        let female = female && drg.code != "708";
                        self.new_person(day, age, female, facility)
                    }
                }
            }
        };
        let department = system
            .department(facility, drg.service)
            .expect("DRG tables offer only DRGs with a department");
        let mcc = drg.title.contains("with MCC");
        let icu = self.rng.random_bool(if mcc { 0.2 } else { 0.03 });
        let unit = ctx.unit(
            &mut self.rng,
            facility,
            if icu && drg.unit != UnitKind::Maternity {
                UnitKind::Icu
            } else {
                drg.unit
            },
        );
        let attending = ctx.physician(&mut self.rng, department);
        let principal = drg.principal[self.rng.random_range(0..drg.principal.len())];
        let comorbidities: Vec<Code> = self.people[patient]
            .comorbidities
            .iter()
            .map(|&c| catalog::COMORBIDITIES[c])
            .filter(|c| c.code != principal.code)
            .collect();
        let age = self.age(patient, start);
        let n = comorbidities.len();

        let mut diagnoses = vec![(principal, Some("Y"))];
        diagnoses.extend(comorbidities.iter().map(|c| (*c, Some("Y"))));
        let mut procedures = Vec::new();
        let mut los = drg.gmlos * (LOS_SIGMA * self.normal()).exp();
        let month = ctx.month[day];
        if department == planted.drift_department && month >= planted.drift_start_month {
            los *= 1.0 + planted.drift_per_month * (month - planted.drift_start_month + 1) as f64;
        }
        let los_minutes = |los: f64| (los * 1440.0) as i64;
        if drg.surgical {
            let operation = drg.procedures[0];
            let when = if drg.stream == Stream::Elective {
                start + 90 + self.rng.random_range(0..360)
            } else {
                start + 120 + self.rng.random_range(0..600)
            };
            procedures.push((fhir::ICD10PCS, operation, when, attending));
            let mut logit = COMPLICATION.logit(age, n, drg.weight);
            if attending == planted.surgeon {
                logit += planted.surgeon_odds_ratio.ln();
            }
            if self.rng.random_bool(logistic(logit)) {
                let (code, _) = catalog::COMPLICATIONS[ctx.complications.draw(&mut self.rng)];
                diagnoses.push((code, Some("N")));
                let extra = 2.0 + Exp::new(1.0 / 3.0).expect("a rate").sample(&mut self.rng);
                los += extra;
                if code.code.starts_with("T81.4") && self.rng.random_bool(0.4) {
                    let at = when + los_minutes(2.0 + extra / 2.0);
                    procedures.push((fhir::CPT, catalog::WOUND_DRAINAGE, at, attending));
                }
            }
        } else {
            let always = drg.stream == Stream::Urgent;
            for &code in drg.procedures {
                if always || self.rng.random_bool(0.3) {
                    let at = start + 60 + self.rng.random_range(0..los_minutes(drg.gmlos).max(61));
                    procedures.push((fhir::ICD10PCS, code, at, attending));
                }
            }
        }
        let cdiff = if unit == planted.cluster_unit && month == planted.cluster_month {
            planted.cluster_rate
        } else {
            (CDIFF_BASE * los / 4.0).min(0.02)
        };
        if self.rng.random_bool(cdiff) {
            diagnoses.push((catalog::CDIFF, Some("N")));
            los += 3.0;
        }
        let mut logit = MORTALITY.logit(age, n, drg.weight);
        if attending == planted.mortality_physician {
            logit += planted.mortality_odds_ratio.ln();
        }
        let dies = self.rng.random_bool(logistic(logit));
        let mut end = start + los_minutes(los).max(30);
        let disposition;
        if dies {
            let fraction = self.rng.random_range(0.2..1.0);
            end = start + ((end - start) as f64 * fraction) as i64 + 30;
            self.people[patient].death = Some(end);
            disposition = "exp";
        } else {
            // Discharges happen in the day, after rounds.
            end = (end / 1440) * 1440 + 600 + self.rng.random_range(0..480);
            if end < start + 240 {
                end = start + 240 + self.rng.random_range(0..240);
            }
            let r: f64 = self.rng.random();
            disposition = if r < 0.02 {
                "hosp"
            } else if r < 0.03 {
                "aadvice"
            } else if age > 75.0 && r < 0.33 {
                "snf"
            } else if drg.service == Service::OrthopedicSurgery && r < 0.18 {
                "rehab"
            } else {
                "home"
            };
        }
        for p in procedures.iter_mut() {
            p.2 = p.2.min(end - 1);
        }
        self.people[patient].busy_until = end;
        let end_day = (end / 1440) as usize;
        if !dies && disposition != "hosp" {
            let p = logistic(READMISSION.logit(age, n, drg.weight));
            if self.rng.random_bool(p) {
                let after = 1
                    + (Exp::new(1.0 / 8.0).expect("a rate").sample(&mut self.rng) as usize).min(29);
                if let Some(queue) = self.pending.get_mut(end_day + after) {
                    queue.push(Pending::Readmission { patient });
                }
            }
            if drg.surgical
                && let Some(queue) = self
                    .pending
                    .get_mut(end_day + self.rng.random_range(10..17))
            {
                queue.push(Pending::PostOp {
                    patient,
                    department,
                    surgeon: attending,
                });
            }
        }
        self.emit(Visit {
            class: Class::Inpatient,
            patient,
            start,
            end,
            department,
            unit: Some(unit),
            attending,
            drg: Some(drg),
            admit_source: Some(source),
            disposition: Some(disposition),
            diagnoses,
            procedures,
        });
        if drg.female_only && drg.stream == Stream::Urgent {
            self.newborn(facility, end.min(start + 600), drg.surgical);
        }
    }

    fn newborn(&mut self, facility: usize, born: i64, cesarean: bool) {
        let system = self.ctx.system;
        let Some(department) = system.department(facility, Service::Pediatrics) else {
            return;
        };
        let day = (born / 1440) as usize;
        let female = self.rng.random_bool(0.49);
        let baby = self.new_person(day, 0.0, female, facility);
        self.people[baby].birth_day = day as i64;
        self.people[baby].comorbidities.clear();
        let drg = catalog::drg_by_code("795").expect("the newborn DRG");
        let los = drg.gmlos * (0.3 * self.normal()).exp();
        let mut end = born + (los * 1440.0) as i64;
        end = (end / 1440) * 1440 + 600 + self.rng.random_range(0..420);
        if end < born + 720 {
            end = born + 720 + self.rng.random_range(0..240);
        }
        self.people[baby].busy_until = end;
        let principal = if cesarean {
            Code {
                code: "Z38.01",
                display: "Single liveborn infant, delivered by cesarean",
            }
        } else {
            drg.principal[0]
        };
        let unit = self.ctx.unit(&mut self.rng, facility, UnitKind::Nursery);
        let attending = self.ctx.physician(&mut self.rng, department);
        self.emit(Visit {
            class: Class::Inpatient,
            patient: baby,
            start: born,
            end,
            department,
            unit: Some(unit),
            attending,
            drg: Some(drg),
            admit_source: Some("born"),
            disposition: Some("home"),
            diagnoses: vec![(principal, Some("Y"))],
            procedures: vec![],
        });
    }

    fn post_op(&mut self, day: usize, patient: usize, department: usize, surgeon: usize) {
        let start = day as i64 * 1440 + 480 + self.rng.random_range(0..540);
        let person = &self.people[patient];
        if person.death.is_some() || person.busy_until >= start {
            return;
        }
        let end = start + 15 + self.rng.random_range(0..30);
        self.people[patient].busy_until = end;
        self.emit(Visit {
            class: Class::Ambulatory,
            patient,
            start,
            end,
            department,
            unit: None,
            attending: surgeon,
            drg: None,
            admit_source: None,
            disposition: None,
            diagnoses: vec![(
                Code {
                    code: "Z48.89",
                    display: "Encounter for other specified surgical aftercare",
                },
                None,
            )],
            procedures: vec![(fhir::CPT, catalog::POSTOP_VISIT, start + 5, surgeon)],
        });
    }

    fn emergency(&mut self, day: usize, facility: usize) {
        let ctx = self.ctx;
        let system = ctx.system;
        let start = self.arrival(day);
        let patient = match self.rng.random_bool(0.3) {
            true => self.returning(start, 0.0, None),
            false => None,
        };
        let patient = match patient {
            Some(p) => p,
            None => {
                let age = if self.rng.random_bool(0.22) {
                    self.rng.random_range(0.0..18.0)
                } else {
                    (45.0 + 20.0 * self.normal()).clamp(18.0, 98.0)
                };
                let female = self.rng.random_bool(0.53);
                self.new_person(day, age, female, facility)
            }
        };
        let department = system
            .department(facility, Service::EmergencyMedicine)
            .expect("every facility has an ED");
        let unit = ctx.unit(&mut self.rng, facility, UnitKind::Emergency);
        let attending = ctx.physician(&mut self.rng, department);
        let season = (ctx.season[day] * 10.0).round().clamp(0.0, 20.0) as usize;
        let (dx, _, _, extras) =
            catalog::ED_DIAGNOSES[ctx.ed_diagnoses[season].draw(&mut self.rng)];
        let minutes = LogNormal::new((200.0f64).ln(), 0.5)
            .expect("a log-normal")
            .sample(&mut self.rng) as i64;
        let end = start + minutes.clamp(30, 1440);
        let performer = if !ctx.apps[department].is_empty() && self.rng.random_bool(0.3) {
            let apps = &ctx.apps[department];
            apps[self.rng.random_range(0..apps.len())]
        } else {
            attending
        };
        let level = catalog::ED_LEVELS[ctx.ed_levels.draw(&mut self.rng)].0;
        let mut procedures = vec![(fhir::CPT, level, end - 10, performer)];
        for &code in extras {
            if self.rng.random_bool(0.7) {
                let at = start + 20 + self.rng.random_range(0..(end - start - 20).max(1));
                procedures.push((fhir::CPT, code, at, performer));
            }
        }
        let adult = self.age(patient, start) >= 18.0;
        let observe = adult && self.rng.random_bool(0.07);
        let r: f64 = self.rng.random();
        let disposition = if observe {
            "oth"
        } else if r < 0.01 {
            "hosp"
        } else if r < 0.03 {
            "aadvice"
        } else {
            "home"
        };
        self.people[patient].busy_until = end;
        self.emit(Visit {
            class: Class::Emergency,
            patient,
            start,
            end,
            department,
            unit: Some(unit),
            attending,
            drg: None,
            admit_source: None,
            disposition: Some(disposition),
            diagnoses: vec![(dx, None)],
            procedures,
        });
        if observe {
            let Some(department) = system.department(facility, Service::HospitalMedicine) else {
                return;
            };
            let unit = ctx.unit(&mut self.rng, facility, UnitKind::Observation);
            let attending = ctx.physician(&mut self.rng, department);
            let obs_end = end + 12 * 60 + self.rng.random_range(0..28 * 60);
            self.people[patient].busy_until = obs_end;
            self.emit(Visit {
                class: Class::Observation,
                patient,
                start: end,
                end: obs_end,
                department,
                unit: Some(unit),
                attending,
                drg: None,
                admit_source: Some("emd"),
                disposition: Some("home"),
                diagnoses: vec![(dx, None)],
                procedures: vec![],
            });
        }
    }

    fn emit(&mut self, visit: Visit) {
        let ctx = self.ctx;
        let system = ctx.system;
        self.encounters += 1;
        let encounter_id = format!("enc-{}-{}", self.index, self.encounters);
        let patient_id = format!("pat-{}-{}", self.index, visit.patient + 1);
        let start = ctx.stamp(visit.start);
        let end = ctx.stamp(visit.end);
        let mut diagnosis = Vec::with_capacity(visit.diagnoses.len());
        for (rank, (code, poa)) in visit.diagnoses.iter().enumerate() {
            self.conditions += 1;
            let id = format!("cond-{}-{}", self.index, self.conditions);
            fhir::line(
                &mut self.out.condition,
                &fhir::Condition {
                    resource_type: "Condition",
                    id: &id,
                    extension: poa
                        .map(|value_code| fhir::CodeExtension {
                            url: fhir::POA,
                            value_code,
                        })
                        .into_iter()
                        .collect(),
                    category: [Concept::new(
                        fhir::CONDITION_CATEGORY,
                        "encounter-diagnosis",
                        "Encounter Diagnosis",
                    )],
                    code: Concept::new(fhir::ICD10CM, code.code, code.display),
                    subject: Reference::to("Patient", &patient_id),
                    encounter: Reference::to("Encounter", &encounter_id),
                    recorded_date: &end,
                },
            );
            diagnosis.push(fhir::Diagnosis {
                condition: Reference::to("Condition", &id),
                rank: rank as u32 + 1,
            });
        }
        self.out.counts[2] += visit.diagnoses.len() as u64;
        for &(system_url, code, minute, performer) in &visit.procedures {
            self.procedures += 1;
            fhir::line(
                &mut self.out.procedure,
                &fhir::Procedure {
                    resource_type: "Procedure",
                    id: &format!("proc-{}-{}", self.index, self.procedures),
                    status: "completed",
                    code: Concept::new(system_url, code.code, code.display),
                    subject: Reference::to("Patient", &patient_id),
                    encounter: Reference::to("Encounter", &encounter_id),
                    performed_date_time: &ctx.stamp(minute),
                    performer: [fhir::Performer {
                        actor: Reference::practitioner(&system.practitioners[performer].npi),
                    }],
                },
            );
        }
        self.out.counts[3] += visit.procedures.len() as u64;
        let hospitalization = visit.disposition.map(|d| fhir::Hospitalization {
            admit_source: visit
                .admit_source
                .map(|s| Concept::new(fhir::ADMIT_SOURCE, s, admit_source_display(s))),
            discharge_disposition: Concept::new(fhir::DISPOSITION, d, disposition_display(d)),
        });
        fhir::line(
            &mut self.out.encounter,
            &fhir::Encounter {
                resource_type: "Encounter",
                id: &encounter_id,
                status: "finished",
                class: visit.class.coding(),
                kind: visit
                    .drg
                    .map(|d| Concept::new(fhir::MS_DRG, d.code, d.title))
                    .into_iter()
                    .collect(),
                subject: Reference::to("Patient", &patient_id),
                participant: [fhir::Participant {
                    kind: [Concept::new(fhir::PARTICIPATION, "ATND", "attender")],
                    individual: Reference::practitioner(&system.practitioners[visit.attending].npi),
                }],
                period: fhir::Period {
                    start: &start,
                    end: &end,
                },
                diagnosis,
                hospitalization,
                location: visit
                    .unit
                    .map(|u| fhir::EncounterLocation {
                        location: Reference::to("Location", &system.units[u].id),
                    })
                    .into_iter()
                    .collect(),
                service_provider: Reference::to(
                    "Organization",
                    &system.departments[visit.department].id,
                ),
            },
        );
        self.out.counts[1] += 1;
    }

    fn write_patients(&mut self) {
        let ctx = self.ctx;
        let first = first_day();
        for (i, person) in self.people.iter().enumerate() {
            let names = if person.female {
                catalog::GIVEN_NAMES_F
            } else {
                catalog::GIVEN_NAMES_M
            };
            let given = names[self.rng.random_range(0..names.len())];
            let family =
                catalog::FAMILY_NAMES[self.rng.random_range(0..catalog::FAMILY_NAMES.len())];
            let birth = first
                .checked_add_signed(chrono::TimeDelta::days(person.birth_day))
                .expect("birth dates within the calendar");
            let facility = &ctx.system.facilities[person.facility];
            let zip = format!(
                "{}{:02}",
                facility.zip3[(person.zip % 2) as usize],
                person.zip
            );
            fhir::line(
                &mut self.out.patient,
                &fhir::Patient {
                    resource_type: "Patient",
                    id: &format!("pat-{}-{}", self.index, i + 1),
                    name: [fhir::HumanName {
                        family,
                        given: [given],
                        prefix: None,
                    }],
                    gender: if person.female { "female" } else { "male" },
                    birth_date: &birth.format("%Y-%m-%d").to_string(),
                    deceased_date_time: person.death.map(|d| ctx.stamp(d)).as_deref(),
                    address: [fhir::Address {
                        city: None,
                        state: None,
                        postal_code: &zip,
                    }],
                },
            );
        }
        self.out.counts[0] = self.people.len() as u64;
    }
}

fn admit_source_display(code: &str) -> &'static str {
    match code {
        "emd" => "From accident/emergency department",
        "mp" => "Medical Practitioner/physician referral",
        "gp" => "General Practitioner referral",
        "hosp-trans" => "Transferred from other hospital",
        "born" => "Born in hospital",
        _ => "Other",
    }
}

fn disposition_display(code: &str) -> &'static str {
    match code {
        "home" => "Home",
        "exp" => "Expired",
        "snf" => "Skilled nursing facility",
        "rehab" => "Rehabilitation",
        "hosp" => "Hospital",
        "aadvice" => "Left against advice",
        _ => "Other",
    }
}
