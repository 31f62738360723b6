//! A synthetic health system with planted, known signals: FHIR R4 bulk-export NDJSON of
//! facilities, departments, units, practitioners, patients and two years of encounters; a
//! FAERS-format spontaneous-report database; weekly syndromic surveillance counts; and
//! `truth.json`, which lists every planted signal. The same seed gives byte-identical output.
//! The output layout and the FHIR conventions are documented in docs/synth/README.md.

pub mod catalog;
pub mod error;
pub mod faers;
pub mod fhir;
pub mod npi;
pub mod rng;
pub mod sim;
pub mod surveillance;
pub mod system;
pub mod truth;

pub use error::SynthError;
pub use truth::{Signal, Truth};

use rayon::prelude::*;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The named sizes of `rounds demo --scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Small,
    Medium,
    Large,
}

impl std::str::FromStr for Scale {
    type Err = SynthError;

    fn from_str(s: &str) -> Result<Scale, SynthError> {
        match s {
            "small" => Ok(Scale::Small),
            "medium" => Ok(Scale::Medium),
            "large" => Ok(Scale::Large),
            other => Err(SynthError::UnknownScale(other.to_string())),
        }
    }
}

impl Scale {
    pub fn name(self) -> &'static str {
        match self {
            Scale::Small => "small",
            Scale::Medium => "medium",
            Scale::Large => "large",
        }
    }

    /// Medium: ~120k inpatient and ~300k emergency encounters, ~400 practitioners; small is a
    /// twentieth of its encounters, large ten times.
    pub fn size(self) -> Size {
        match self {
            Scale::Small => Size {
                admissions: 6_000.0,
                emergency: 15_000.0,
                practitioner_factor: 0.3,
                partitions: 8,
                faers_reports: 20_000,
            },
            Scale::Medium => Size {
                admissions: 120_000.0,
                emergency: 300_000.0,
                practitioner_factor: 1.0,
                partitions: 64,
                faers_reports: 200_000,
            },
            Scale::Large => Size {
                admissions: 1_200_000.0,
                emergency: 3_000_000.0,
                practitioner_factor: 2.5,
                partitions: 640,
                faers_reports: 1_000_000,
            },
        }
    }
}

/// The volumes behind a scale; tests may use their own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    /// Inpatient stays over the two years (newborns and readmissions included, approximately).
    pub admissions: f64,
    pub emergency: f64,
    /// Practitioners relative to medium (about 400).
    pub practitioner_factor: f64,
    /// Independent partitions of patients: fixed per size so the output does not depend on the
    /// machine's thread count.
    pub partitions: usize,
    pub faers_reports: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub seed: u64,
    /// The name recorded in truth.json.
    pub scale: String,
    pub size: Size,
}

impl Options {
    pub fn new(seed: u64, scale: Scale) -> Options {
        Options {
            seed,
            scale: scale.name().to_string(),
            size: scale.size(),
        }
    }
}

/// Writes the whole synthetic system under `out` (created if needed) and returns the truth
/// written to `out/truth.json`.
pub fn generate(options: &Options, out: &Path) -> Result<Truth, SynthError> {
    std::fs::create_dir_all(out).map_err(SynthError::io(out))?;
    let mut truth = Truth {
        seed: options.seed,
        scale: options.scale.clone(),
        generator: format!("rounds-synth {}", env!("CARGO_PKG_VERSION")),
        files: Default::default(),
        signals: Vec::new(),
    };
    let (health, (faers, surveillance)) = rayon::join(
        || write_health_system(options, out),
        || {
            rayon::join(
                || faers::write(options.seed, options.size.faers_reports, &out.join("faers")),
                || surveillance::write(options.seed, &out.join("surveillance")),
            )
        },
    );
    for part in [health?, faers?, surveillance?] {
        truth.files.extend(part.files);
        truth.signals.extend(part.signals);
    }
    let path = out.join("truth.json");
    let mut file = BufWriter::new(File::create(&path).map_err(SynthError::io(&path))?);
    serde_json::to_writer_pretty(&mut file, &truth).map_err(|source| SynthError::Json {
        path: path.clone(),
        source,
    })?;
    file.write_all(b"\n")
        .and_then(|()| file.flush())
        .map_err(SynthError::io(&path))?;
    Ok(truth)
}

/// What one part of the generator wrote and planted.
#[derive(Debug, Default)]
pub struct Part {
    pub files: std::collections::BTreeMap<String, u64>,
    pub signals: Vec<Signal>,
}

/// A file written in order, with the error naming its path.
pub(crate) struct Sink {
    path: PathBuf,
    file: BufWriter<File>,
}

impl Sink {
    pub(crate) fn create(path: PathBuf) -> Result<Sink, SynthError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(SynthError::io(parent))?;
        }
        let file = File::create(&path).map_err(SynthError::io(&path))?;
        Ok(Sink {
            file: BufWriter::with_capacity(1 << 20, file),
            path,
        })
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), SynthError> {
        self.file
            .write_all(bytes)
            .map_err(SynthError::io(&self.path))
    }

    pub(crate) fn finish(mut self) -> Result<(), SynthError> {
        self.file.flush().map_err(SynthError::io(&self.path))
    }
}

fn write_health_system(options: &Options, out: &Path) -> Result<Part, SynthError> {
    let size = options.size;
    let system = system::HealthSystem::build(options.seed, size.practitioner_factor, sim::MONTHS);
    let dir = out.join("fhir");
    let mut part = Part::default();
    for (name, bytes, count) in system.write() {
        let mut sink = Sink::create(dir.join(name))?;
        sink.write(&bytes)?;
        sink.finish()?;
        part.files.insert(format!("fhir/{name}"), count);
    }
    let ctx = sim::Context::new(
        &system,
        options.seed,
        sim::Volumes {
            admissions: size.admissions,
            emergency: size.emergency,
            partitions: size.partitions,
        },
    );
    let names = [
        "Patient.ndjson",
        "Encounter.ndjson",
        "Condition.ndjson",
        "Procedure.ndjson",
    ];
    let mut sinks = names
        .iter()
        .map(|n| Sink::create(dir.join(n)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut counts = [0u64; 4];
    // Partitions are generated a batch at a time in parallel and written in partition order,
    // which keeps memory bounded at the large scale.
    let batch = rayon::current_num_threads().max(1) * 2;
    for start in (0..size.partitions).step_by(batch) {
        let outputs: Vec<sim::Output> = (start..(start + batch).min(size.partitions))
            .into_par_iter()
            .map(|i| sim::run_partition(&ctx, i))
            .collect();
        for o in outputs {
            for (k, bytes) in [&o.patient, &o.encounter, &o.condition, &o.procedure]
                .into_iter()
                .enumerate()
            {
                sinks[k].write(bytes)?;
                counts[k] += o.counts[k];
            }
        }
    }
    for sink in sinks {
        sink.finish()?;
    }
    for (name, count) in names.iter().zip(counts) {
        part.files.insert(format!("fhir/{name}"), count);
    }
    part.signals = health_signals(&system);
    Ok(part)
}

fn health_signals(system: &system::HealthSystem) -> Vec<Signal> {
    let p = &system.planted;
    let month = |m: usize| {
        let first = sim::first_day();
        let date = first
            .checked_add_months(chrono::Months::new(m as u32))
            .expect("a month within the calendar");
        date.format("%Y-%m").to_string()
    };
    let person = |i: usize| {
        let pr = &system.practitioners[i];
        (pr.id.clone(), pr.npi.clone())
    };
    let (surgeon_id, surgeon_npi) = person(p.surgeon);
    let (physician_id, physician_npi) = person(p.mortality_physician);
    let surgeon_dept = &system.departments[system.practitioners[p.surgeon].department];
    let physician_dept =
        &system.departments[system.practitioners[p.mortality_physician].department];
    let unit = &system.units[p.cluster_unit];
    let drift = &system.departments[p.drift_department];
    let risk = |r: &sim::Risk| {
        serde_json::json!({
            "intercept": r.intercept, "age_per_year_above_65": r.age,
            "per_comorbidity": r.comorbidity, "per_drg_weight": r.weight,
        })
    };
    vec![
        Signal::new(
            "surgeon-complications",
            "An orthopaedic surgeon whose post-operative complication odds are 2.5 times their peers' after adjusting for age, comorbidity count and DRG weight.",
        )
        .id("practitioner", surgeon_id)
        .id("npi", surgeon_npi)
        .id("department", surgeon_dept.id.clone())
        .parameter("odds_ratio", p.surgeon_odds_ratio)
        .parameter("relative_volume", p.planted_volume)
        .parameter("model", risk(&sim::COMPLICATION))
        .parameter(
            "complication_codes",
            catalog::COMPLICATIONS.iter().map(|(c, _)| c.code).collect::<Vec<_>>(),
        ),
        Signal::new(
            "physician-mortality",
            "A hospitalist whose risk-adjusted in-hospital mortality odds are twice their peers'.",
        )
        .id("practitioner", physician_id)
        .id("npi", physician_npi)
        .id("department", physician_dept.id.clone())
        .parameter("odds_ratio", p.mortality_odds_ratio)
        .parameter("relative_volume", p.planted_volume)
        .parameter("model", risk(&sim::MORTALITY)),
        Signal::new(
            "unit-infection-cluster",
            format!(
                "A cluster of hospital-acquired C. difficile (A04.72, present on admission N) among stays admitted to {} in one month.",
                unit.name
            ),
        )
        .id("location", unit.id.clone())
        .parameter("month", month(p.cluster_month))
        .parameter("code", catalog::CDIFF.code)
        .parameter("attack_rate", p.cluster_rate)
        .parameter("baseline_rate_per_4_day_stay", sim::CDIFF_BASE),
        Signal::new(
            "department-los-drift",
            format!(
                "Length of stay in {} drifts up by {}% per month from the start month on.",
                drift.name,
                p.drift_per_month * 100.0
            ),
        )
        .id("department", drift.id.clone())
        .parameter("start_month", month(p.drift_start_month))
        .parameter("increase_per_month", p.drift_per_month)
        .parameter("los_sigma", sim::LOS_SIGMA),
    ]
}
