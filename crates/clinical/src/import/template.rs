//! Rounds' own CSV templates (docs/clinical/csv-templates.md), for sites without FHIR:
//! value sets (here), and encounters, procedures and diagnoses.

use super::{Options, Problem};
use crate::value_sets::{self, Member};
use crate::{Error, Result, codes};
use platform::audit::{self, Event};
use platform::db::{Db, Executes};
use std::path::Path;

/// A CSV file's header, mapped by column name (case-insensitive, trimmed).
pub struct Header {
    names: Vec<String>,
}

impl Header {
    pub fn new(record: &csv::StringRecord) -> Header {
        Header {
            names: record
                .iter()
                .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
                .collect(),
        }
    }

    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The columns of `required` (lower case) that are missing, as a message naming them as
    /// `shown` does (upper case for Synthea's files), or `None` when all are there.
    pub fn missing_as(&self, required: &[&str], upper: bool) -> Option<String> {
        let missing: Vec<String> = required
            .iter()
            .filter(|c| self.find(c).is_none())
            .map(|c| {
                if upper {
                    c.to_ascii_uppercase()
                } else {
                    c.to_string()
                }
            })
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "missing column{} {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            )
        })
    }

    pub fn missing(&self, required: &[&str]) -> Option<String> {
        self.missing_as(required, false)
    }
}

pub fn reader(path: &Path) -> Result<csv::Reader<Box<dyn std::io::Read + Send>>> {
    let input = super::files::open(path).map_err(|e| Error::File {
        path: path.display().to_string(),
        reason: format!("cannot open: {e}"),
    })?;
    Ok(csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(Box::new(input) as Box<dyn std::io::Read + Send>))
}

/// Loads value sets from `name,system,code[,description]`; each set named in the file is
/// replaced by the file's members. Every patient's outcomes are recomputed (they may depend on
/// any set). All or nothing.
pub async fn load_value_sets(db: &Db, path: &Path, options: &Options) -> Result<(u64, u64)> {
    let file = path.display().to_string();
    let mut rdr = reader(path)?;
    let header = Header::new(rdr.headers().map_err(|e| Error::File {
        path: file.clone(),
        reason: format!("cannot read the header: {e}"),
    })?);
    if let Some(missing) = header.missing(&["name", "system", "code"]) {
        return Err(Error::File {
            path: file,
            reason: missing,
        });
    }
    let (n, s, c, d) = (
        header.find("name").unwrap_or(0),
        header.find("system").unwrap_or(1),
        header.find("code").unwrap_or(2),
        header.find("description"),
    );
    let mut members = Vec::new();
    let mut problems = Vec::new();
    let mut rows = 0u64;
    for (i, record) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem::new(&file, line, "csv", e.to_string()));
                continue;
            }
        };
        rows += 1;
        let get = |i: usize| record.get(i).unwrap_or("").trim();
        let name = match value_sets::check_name(get(n)) {
            Ok(name) => name,
            Err(reason) => {
                problems.push(Problem::new(&file, line, "name", reason));
                continue;
            }
        };
        let Some(system) = codes::system_uri(get(s)) else {
            problems.push(Problem::new(&file, line, "system", format!("'{}' is not a code system Rounds knows (ICD-10-CM, ICD-10-PCS, CPT, HCPCS, SNOMED, LOINC, MS-DRG or their URIs)", get(s))));
            continue;
        };
        if get(c).is_empty() {
            problems.push(Problem::new(&file, line, "code", "is required"));
            continue;
        }
        members.push(Member {
            name,
            system: system.to_string(),
            code: get(c).to_string(),
            description: d.map(|d| get(d).to_string()).unwrap_or_default(),
        });
    }
    if rows == 0 && problems.is_empty() {
        problems.push(Problem::new(&file, 2, "file", "has a header but no rows"));
    }
    if !problems.is_empty() {
        let mut summary = super::Summary {
            kind: "value-sets".into(),
            files: vec![file],
            ..Default::default()
        };
        summary.types.entry("ValueSet".into()).or_default().rejected = problems.len() as u64;
        summary.types.entry("ValueSet".into()).or_default().read = rows;
        problems.truncate(options.max_problems);
        return Err(Error::Rejected {
            summary: Box::new(summary),
            problems,
        });
    }
    let mut tx = db.begin_bulk().await?;
    let (added, removed) = value_sets::replace(&mut tx, &members).await?;
    if added + removed > 0 {
        sqlx::query("DELETE FROM clinical_stale_patients")
            .execute(tx.exec())
            .await?;
        sqlx::query("INSERT INTO clinical_stale_patients (patient_id) SELECT id FROM patients")
            .execute(tx.exec())
            .await?;
        let sets = value_sets::load(&mut tx).await?;
        let mut conn = crate::store::Conn::new(tx);
        crate::outcomes::recompute_stale(&mut conn, db.backend, &sets).await?;
        tx = conn.into_tx().await?;
    }
    let detail = format!(
        "value sets from {}: {added} codes added, {removed} removed",
        path.file_name().and_then(|f| f.to_str()).unwrap_or("")
    );
    audit::append(
        &mut tx,
        &Event {
            actor: &options.actor,
            address: &options.address,
            action: "import.run",
            record_type: "value_set",
            record_id: "",
            outcome: "success",
            detail: &detail,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((added, removed))
}

// ---- Encounters, procedures and diagnoses --------------------------------------------------------

use super::{Item, Read, Reader};
use crate::records::{self, Identifier, Kind, LeftToStore, Record, Ref};
use crate::store::Refused;
use std::collections::{HashMap, VecDeque};

/// The record kinds of Rounds' CSV templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    Encounters,
    Procedures,
    Diagnoses,
}

impl Template {
    pub fn required(self) -> &'static [&'static str] {
        match self {
            Template::Encounters => &["encounter_id", "patient_id", "class", "admit_at"],
            Template::Procedures => &["patient_id", "system", "code"],
            Template::Diagnoses => &["patient_id", "system", "code"],
        }
    }
}

pub struct TemplateReader {
    template: Template,
    path: std::path::PathBuf,
    names: Vec<String>,
    rows: Option<csv::Reader<Box<dyn std::io::Read + Send>>>,
    header: Option<Header>,
    queue: VecDeque<Read>,
    seen: HashMap<String, u32>,
}

impl TemplateReader {
    pub fn new(template: Template, path: &Path) -> TemplateReader {
        TemplateReader {
            template,
            path: path.to_path_buf(),
            names: vec![path.display().to_string()],
            rows: None,
            header: None,
            queue: VecDeque::new(),
            seen: HashMap::new(),
        }
    }

    fn open(
        &self,
    ) -> std::result::Result<(csv::Reader<Box<dyn std::io::Read + Send>>, Header), Problem> {
        let mut rows = reader(&self.path)
            .map_err(|e| Problem::new(&self.names[0], 1, "file", e.to_string()))?;
        let header = match rows.headers() {
            Ok(h) if h.iter().any(|c| !c.trim().is_empty()) => Header::new(h),
            Ok(_) => return Err(Problem::new(&self.names[0], 1, "file", "is empty")),
            Err(e) => return Err(Problem::new(&self.names[0], 1, "header", e.to_string())),
        };
        if let Some(missing) = header.missing(self.template.required()) {
            return Err(Problem::new(&self.names[0], 1, "header", missing));
        }
        Ok((rows, header))
    }

    /// The records one row stands for, each with its id.
    fn row(
        &mut self,
        row: &csv::StringRecord,
    ) -> Vec<(Kind, String, std::result::Result<Record, Refused>)> {
        let Some(h) = &self.header else {
            return Vec::new();
        };
        let get = |name: &str| {
            h.find(name)
                .and_then(|i| row.get(i))
                .map(str::trim)
                .unwrap_or("")
        };
        let opt = |name: &str| {
            Some(get(name))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let refuse = |field: &str, reason: String| Refused {
            field: field.to_string(),
            reason,
        };
        let time = |name: &str| {
            opt(name)
                .map(|v| records::parse_datetime_with(&v, true).map_err(|r| refuse(name, r)))
                .transpose()
        };
        let date = |name: &str| {
            opt(name)
                .map(|v| records::parse_date(&v).map_err(|r| refuse(name, r)))
                .transpose()
        };
        let money = |name: &str| {
            opt(name)
                .map(|v| {
                    v.parse::<f64>()
                        .map_err(|_| format!("'{v}' is not an amount"))
                        .and_then(records::cents)
                        .map_err(|r| refuse(name, r))
                })
                .transpose()
        };
        let system = |name: &str| -> std::result::Result<String, Refused> {
            let given = get(name);
            codes::system_uri(given).map(str::to_string).ok_or_else(|| refuse(name, format!("'{given}' is not a code system Rounds knows (ICD-10-CM, ICD-10-PCS, CPT, HCPCS, SNOMED, or their URIs)")))
        };
        let npi = |name: &str| -> std::result::Result<Option<(Ref, Record, String)>, Refused> {
            let Some(npi) = opt(name) else {
                return Ok(None);
            };
            if !records::valid_npi(&npi) {
                return Err(refuse(
                    name,
                    format!("'{npi}' is not an NPI (ten digits with a valid check digit)"),
                ));
            }
            let id = format!("npi:{npi}");
            let record = Record::Practitioner(records::Practitioner {
                npi: Some(npi.clone()),
                name: String::new(),
                identifiers: vec![Identifier {
                    system: codes::NPI.to_string(),
                    value: npi,
                }],
            });
            Ok(Some((Ref::Id(Kind::Practitioner, id.clone()), record, id)))
        };
        let patient = Ref::Id(Kind::Patient, get("patient_id").to_string());
        let mut out = Vec::new();
        match self.template {
            Template::Encounters => {
                let eid = get("encounter_id").to_string();
                let pid = get("patient_id").to_string();
                if pid.is_empty() {
                    out.push((
                        Kind::Encounter,
                        eid,
                        Err(refuse("patient_id", "is required".into())),
                    ));
                    return out;
                }
                let sex = codes::sex(get("sex")).ok_or_else(|| {
                    refuse(
                        "sex",
                        format!("'{}' is not male, female, other or unknown", get("sex")),
                    )
                });
                let patient_record = sex.and_then(|sex| {
                    Ok(Record::Patient(records::Patient {
                        birth_date: date("birth_date")?,
                        sex,
                        zip3: opt("zip3").map(|z| z.chars().take(3).collect()),
                        death_date: date("death_date")?,
                    }))
                });
                out.push((Kind::Patient, pid, patient_record));
                // The organisation by name: facility, department, unit.
                let facility = opt("facility").map(|f| format!("facility:{f}"));
                if let Some(fid) = &facility {
                    out.push((
                        Kind::Organization,
                        fid.clone(),
                        Ok(Record::Organization(records::Organization {
                            name: get("facility").to_string(),
                            ccn: None,
                            department_of: None,
                            payer: false,
                            identifiers: Vec::new(),
                        })),
                    ));
                }
                let department = match (&facility, opt("department")) {
                    (Some(fid), Some(d)) => {
                        let did = format!("department:{}/{d}", get("facility"));
                        out.push((
                            Kind::Organization,
                            did.clone(),
                            Ok(Record::Organization(records::Organization {
                                name: d,
                                ccn: None,
                                department_of: Some(Ref::Id(Kind::Organization, fid.clone())),
                                payer: false,
                                identifiers: Vec::new(),
                            })),
                        ));
                        Some(did)
                    }
                    _ => None,
                };
                let unit = match (&facility, opt("unit")) {
                    (Some(fid), Some(u)) => {
                        let uid = format!("unit:{}/{u}", get("facility"));
                        let org = department.clone().unwrap_or_else(|| fid.clone());
                        out.push((
                            Kind::Location,
                            uid.clone(),
                            Ok(Record::Location(records::Location {
                                beds: None,
                                name: u,
                                unit_kind: Some("other"),
                                organization: Some(Ref::Id(Kind::Organization, org)),
                                identifiers: Vec::new(),
                            })),
                        ));
                        Some(uid)
                    }
                    _ => None,
                };
                let attending = match npi("attending_npi") {
                    Ok(Some((r, record, id))) => {
                        out.push((Kind::Practitioner, id, Ok(record)));
                        Some(r)
                    }
                    Ok(None) => None,
                    Err(e) => {
                        out.push((Kind::Encounter, eid, Err(e)));
                        return out;
                    }
                };
                let encounter = (|| -> std::result::Result<Record, Refused> {
                    let class = codes::encounter_class(get("class")).ok_or_else(|| {
                        refuse(
                            "class",
                            format!(
                                "'{}' is not an encounter class ({})",
                                get("class"),
                                codes::CLASSES.join(", ")
                            ),
                        )
                    })?;
                    let admit_at = time("admit_at")?
                        .ok_or_else(|| refuse("admit_at", "is required".into()))?;
                    let discharge_at = time("discharge_at")?;
                    if discharge_at.as_ref().is_some_and(|d| *d < admit_at) {
                        return Err(refuse(
                            "discharge_at",
                            format!(
                                "{} is before admit_at {}",
                                get("discharge_at"),
                                get("admit_at")
                            ),
                        ));
                    }
                    let coded =
                        |name: &str,
                         allowed: &[&str]|
                         -> std::result::Result<Option<String>, Refused> {
                            match opt(name) {
                                Some(v) if !allowed.contains(&v.as_str()) => Err(refuse(
                                    name,
                                    format!("'{v}' is not one of {}", allowed.join(", ")),
                                )),
                                other => Ok(other),
                            }
                        };
                    let ms_drg = opt("ms_drg");
                    if let Some(d) = &ms_drg
                        && !(d.len() == 3 && d.bytes().all(|b| b.is_ascii_digit()))
                    {
                        return Err(refuse("ms_drg", format!("'{d}' is not three digits")));
                    }
                    Ok(Record::Encounter(records::Encounter {
                        patient: patient.clone(),
                        class,
                        admit_at,
                        discharge_at,
                        location: unit.map(|u| Ref::Id(Kind::Location, u)),
                        service_provider: department
                            .or(facility)
                            .map(|o| Ref::Id(Kind::Organization, o)),
                        attending,
                        admit_source: coded("admit_source", codes::ADMIT_SOURCES)?,
                        discharge_disposition: coded(
                            "discharge_disposition",
                            codes::DISCHARGE_DISPOSITIONS,
                        )?,
                        ms_drg,
                        payer: opt("payer"),
                        cost_cents: money("cost")?,
                        charges_cents: money("charges")?,
                        billing_kept: LeftToStore(false),
                    }))
                })();
                out.push((Kind::Encounter, eid.clone(), encounter));
                if let Some(code) = opt("principal_dx_code") {
                    let principal = system("principal_dx_system").map(|code_system| {
                        Record::Condition(records::Condition {
                            patient: patient.clone(),
                            encounter: Some(Ref::Id(Kind::Encounter, eid.clone())),
                            code_system,
                            code,
                            present_on_admission: Some("Y"),
                            rank: Some(1),
                            onset_at: None,
                            rank_kept: LeftToStore(false),
                        })
                    });
                    out.push((Kind::Condition, format!("{eid}#principal"), principal));
                }
            }
            Template::Procedures | Template::Diagnoses => {
                let kind = if self.template == Template::Procedures {
                    Kind::Procedure
                } else {
                    Kind::Condition
                };
                let id_column = if kind == Kind::Procedure {
                    "procedure_id"
                } else {
                    "diagnosis_id"
                };
                let encounter = opt("encounter_id").map(|e| Ref::Id(Kind::Encounter, e));
                let at_column = if kind == Kind::Procedure {
                    "performed_at"
                } else {
                    "onset_at"
                };
                let mut performer = None;
                if kind == Kind::Procedure {
                    match npi("performer_npi") {
                        Ok(Some((r, record, id))) => {
                            out.push((Kind::Practitioner, id, Ok(record)));
                            performer = Some(r);
                        }
                        Ok(None) => {}
                        Err(e) => {
                            out.push((kind, opt(id_column).unwrap_or_default(), Err(e)));
                            return out;
                        }
                    }
                }
                let record = (|| -> std::result::Result<(Record, String), Refused> {
                    let code_system = system("system")?;
                    let code = opt("code").ok_or_else(|| refuse("code", "is required".into()))?;
                    let at = time(at_column)?;
                    let content = format!(
                        "{}|{}|{code_system}|{code}|{}",
                        get("patient_id"),
                        get("encounter_id"),
                        at.clone().unwrap_or_default()
                    );
                    let record = if kind == Kind::Procedure {
                        Record::Procedure(records::Procedure {
                            patient: patient.clone(),
                            encounter: encounter.clone(),
                            code_system,
                            code,
                            performed_at: at,
                            performer: performer.clone(),
                        })
                    } else {
                        let rank = opt("rank")
                            .map(|r| {
                                r.parse::<i64>()
                                    .ok()
                                    .filter(|r| (1..=99).contains(r))
                                    .ok_or_else(|| {
                                        refuse("rank", format!("'{r}' is not a rank from 1 to 99"))
                                    })
                            })
                            .transpose()?;
                        let poa = opt("present_on_admission")
                            .map(|p| {
                                codes::poa(&p).ok_or_else(|| {
                                    refuse(
                                        "present_on_admission",
                                        format!("'{p}' is not Y, N, U, W or 1"),
                                    )
                                })
                            })
                            .transpose()?;
                        Record::Condition(records::Condition {
                            patient: patient.clone(),
                            encounter: encounter.clone(),
                            code_system,
                            code,
                            present_on_admission: poa,
                            rank,
                            onset_at: at,
                            rank_kept: LeftToStore(false),
                        })
                    };
                    Ok((record, content))
                })();
                let (id, record) = match record {
                    Ok((record, content)) => {
                        let id = opt(id_column).unwrap_or_else(|| {
                            let n = self.seen.entry(content.clone()).or_default();
                            *n += 1;
                            format!("{content}|{n}")
                        });
                        (id, Ok(record))
                    }
                    Err(e) => (opt(id_column).unwrap_or_default(), Err(e)),
                };
                out.push((kind, id, record));
            }
        }
        out
    }
}

impl Reader for TemplateReader {
    fn files(&self) -> &[String] {
        &self.names
    }

    fn scan(&mut self) -> Result<Vec<(Option<Kind>, Problem)>> {
        Ok(match self.open() {
            Ok(_) => Vec::new(),
            Err(p) => vec![(None, p)],
        })
    }

    fn start(&mut self, _phase: usize) -> Result<()> {
        // Each phase reads the whole file; the driver keeps the records of the phase.
        self.seen.clear();
        self.queue.clear();
        match self.open() {
            Ok((rows, header)) => {
                self.rows = Some(rows);
                self.header = Some(header);
            }
            Err(p) => {
                self.rows = None;
                self.queue.push_back(Read::Problem(None, p));
            }
        }
        Ok(())
    }

    fn next(&mut self) -> Option<Read> {
        loop {
            if let Some(read) = self.queue.pop_front() {
                return Some(read);
            }
            let rows = self.rows.as_mut()?;
            let mut row = csv::StringRecord::new();
            match rows.read_record(&mut row) {
                Ok(true) => {
                    let line = row.position().map_or(0, |p| p.line());
                    for (kind, id, record) in self.row(&row) {
                        self.queue.push_back(Read::Item(Item {
                            file: 0,
                            line,
                            kind,
                            id,
                            record,
                            warnings: Vec::new(),
                        }));
                    }
                }
                Ok(false) => self.rows = None,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    self.rows = None;
                    return Some(Read::Problem(
                        None,
                        Problem::new(&self.names[0], line, "csv", e.to_string()),
                    ));
                }
            }
        }
    }
}

/// Imports one of Rounds' CSV templates.
pub async fn run(
    db: &Db,
    template: Template,
    path: &Path,
    options: &mut Options,
) -> Result<super::Summary> {
    let reader = TemplateReader::new(template, path);
    let kind = match template {
        Template::Encounters => "csv-encounters",
        Template::Procedures => "csv-procedures",
        Template::Diagnoses => "csv-diagnoses",
    };
    super::drive(db, Box::new(reader), kind, options).await
}
