//! Synthea's CSV export (`rounds import synthea-csv DIR`): organizations, providers, payers,
//! patients, encounters, conditions and procedures. Columns are found by header name, so every
//! published layout reads: procedures with `DATE` (before 3.0) or `START`/`STOP`, providers with
//! `UTILIZATION` or `ENCOUNTERS`/`PROCEDURES`, conditions and procedures with or without
//! `SYSTEM`. A file whose header lacks a needed column is refused with the columns it lacks.
//! Conditions and procedures have no id in Synthea's CSV; theirs is made from the row's content
//! (patient, encounter, code, time and occurrence), so a re-import matches them again.

use super::template::Header;
use super::{Item, Problem, Read, Reader};
use crate::codes;
use crate::records::{self, Kind, LeftToStore, Record, Ref};
use crate::store::Refused;
use crate::{Error, Result};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    Organizations,
    Providers,
    Patients,
    Encounters,
    Conditions,
    Procedures,
}

impl Table {
    fn file(self) -> &'static str {
        match self {
            Table::Organizations => "organizations.csv",
            Table::Providers => "providers.csv",
            Table::Patients => "patients.csv",
            Table::Encounters => "encounters.csv",
            Table::Conditions => "conditions.csv",
            Table::Procedures => "procedures.csv",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Table::Organizations => Kind::Organization,
            Table::Providers => Kind::Practitioner,
            Table::Patients => Kind::Patient,
            Table::Encounters => Kind::Encounter,
            Table::Conditions => Kind::Condition,
            Table::Procedures => Kind::Procedure,
        }
    }

    /// Columns every published layout has.
    fn required(self) -> &'static [&'static str] {
        match self {
            Table::Organizations => &["id", "name"],
            Table::Providers => &["id", "name"],
            Table::Patients => &["id", "birthdate", "gender"],
            Table::Encounters => &["id", "start", "patient", "encounterclass"],
            Table::Conditions => &["start", "patient", "code"],
            Table::Procedures => &["patient", "code"],
        }
    }
}

const TABLES: [Table; 6] = [
    Table::Organizations,
    Table::Providers,
    Table::Patients,
    Table::Encounters,
    Table::Conditions,
    Table::Procedures,
];

struct Open {
    table: Table,
    file: usize,
    header: Header,
    rows: csv::Reader<Box<dyn std::io::Read + Send>>,
    /// Occurrences of each content key, for the ids of conditions and procedures.
    seen: HashMap<String, u32>,
}

pub struct SyntheaReader {
    dir: PathBuf,
    names: Vec<String>,
    present: Vec<Table>,
    payers: HashMap<String, String>,
    phase: usize,
    queue: VecDeque<Table>,
    open: Option<Open>,
}

impl SyntheaReader {
    pub fn new(dir: &Path) -> Result<SyntheaReader> {
        if !dir.is_dir() {
            return Err(Error::File {
                path: dir.display().to_string(),
                reason: "is not a directory of Synthea CSV files".into(),
            });
        }
        let present: Vec<Table> = TABLES
            .into_iter()
            .filter(|t| dir.join(t.file()).is_file())
            .collect();
        for needed in [Table::Patients, Table::Encounters] {
            if !present.contains(&needed) {
                return Err(Error::File {
                    path: dir.display().to_string(),
                    reason: format!("has no {} (is it a Synthea CSV export?)", needed.file()),
                });
            }
        }
        let mut names: Vec<String> = present
            .iter()
            .map(|t| dir.join(t.file()).display().to_string())
            .collect();
        let payers_file = dir.join("payers.csv");
        let mut payers = HashMap::new();
        if payers_file.is_file() {
            names.push(payers_file.display().to_string());
            let mut rdr = super::template::reader(&payers_file)?;
            let header = Header::new(rdr.headers().map_err(|e| Error::File {
                path: payers_file.display().to_string(),
                reason: e.to_string(),
            })?);
            if let Some(missing) = header.missing_as(&["id", "name"], true) {
                return Err(Error::File {
                    path: payers_file.display().to_string(),
                    reason: missing,
                });
            }
            let (id, name) = (
                header.find("id").unwrap_or(0),
                header.find("name").unwrap_or(1),
            );
            for row in rdr.records() {
                let row = row.map_err(|e| Error::File {
                    path: payers_file.display().to_string(),
                    reason: e.to_string(),
                })?;
                payers.insert(
                    row.get(id).unwrap_or("").to_string(),
                    row.get(name).unwrap_or("").to_string(),
                );
            }
        }
        Ok(SyntheaReader {
            dir: dir.to_path_buf(),
            names,
            present,
            payers,
            phase: 0,
            queue: VecDeque::new(),
            open: None,
        })
    }

    fn file_index(&self, table: Table) -> usize {
        self.present.iter().position(|t| *t == table).unwrap_or(0)
    }

    fn open(&mut self, table: Table) -> std::result::Result<Open, Problem> {
        let file = self.file_index(table);
        let path = self.dir.join(table.file());
        let mut rows = super::template::reader(&path)
            .map_err(|e| Problem::new(&self.names[file], 1, "file", e.to_string()))?;
        let header = match rows.headers() {
            Ok(h) if h.iter().any(|c| !c.trim().is_empty()) => Header::new(h),
            Ok(_) => return Err(Problem::new(&self.names[file], 1, "file", "is empty")),
            Err(e) => return Err(Problem::new(&self.names[file], 1, "header", e.to_string())),
        };
        if let Some(missing) = header.missing_as(table.required(), true) {
            return Err(Problem::new(
                &self.names[file],
                1,
                "header",
                format!(
                    "{missing}; not a Synthea {} layout Rounds knows",
                    table.file()
                ),
            ));
        }
        if table == Table::Procedures
            && header.find("date").is_none()
            && header.find("start").is_none()
        {
            return Err(Problem::new(
                &self.names[file],
                1,
                "header",
                "missing column DATE (Synthea before 3.0) or START (3.0 and later)",
            ));
        }
        Ok(Open {
            table,
            file,
            header,
            rows,
            seen: HashMap::new(),
        })
    }
}

fn refuse(field: &str, reason: impl Into<String>) -> Refused {
    Refused {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// One row → (id, record, warnings).
fn map_row(
    open: &mut Open,
    row: &csv::StringRecord,
    payers: &HashMap<String, String>,
) -> (String, std::result::Result<Record, Refused>, Vec<Refused>) {
    let h = &open.header;
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
    let mut warnings = Vec::new();
    let time = |name: &str| -> std::result::Result<Option<String>, Refused> {
        opt(name)
            .map(|v| {
                records::parse_datetime_with(&v, true)
                    .map_err(|r| refuse(&name.to_ascii_uppercase(), r))
            })
            .transpose()
    };
    let date = |name: &str| -> std::result::Result<Option<String>, Refused> {
        opt(name)
            .map(|v| records::parse_date(&v).map_err(|r| refuse(&name.to_ascii_uppercase(), r)))
            .transpose()
    };
    let money = |name: &str| -> std::result::Result<Option<i64>, Refused> {
        opt(name)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| format!("'{v}' is not an amount"))
                    .and_then(records::cents)
                    .map_err(|r| refuse(&name.to_ascii_uppercase(), r))
            })
            .transpose()
    };
    let mut id = get("id").to_string();
    let record = (|| -> std::result::Result<Record, Refused> {
        if open.table.required().contains(&"id") && id.is_empty() {
            return Err(refuse("Id", "is required"));
        }
        Ok(match open.table {
            Table::Organizations => Record::Organization(records::Organization {
                name: opt("name").ok_or_else(|| refuse("NAME", "is required"))?,
                ccn: None,
                department_of: None,
                payer: false,
                identifiers: Vec::new(),
            }),
            Table::Providers => Record::Practitioner(records::Practitioner {
                npi: None,
                name: get("name").to_string(),
                identifiers: Vec::new(),
            }),
            Table::Patients => {
                let sex = codes::sex(get("gender")).ok_or_else(|| {
                    refuse("GENDER", format!("'{}' is not M or F", get("gender")))
                })?;
                let zip3 = opt("zip")
                    .filter(|z| z.len() >= 3 && z.bytes().take(3).all(|b| b.is_ascii_digit()))
                    .map(|z| z[..3].to_string());
                Record::Patient(records::Patient {
                    birth_date: Some(
                        date("birthdate")?.ok_or_else(|| refuse("BIRTHDATE", "is required"))?,
                    ),
                    sex,
                    zip3,
                    death_date: date("deathdate")?,
                })
            }
            Table::Encounters => {
                let class = codes::encounter_class(get("encounterclass")).ok_or_else(|| {
                    refuse(
                        "ENCOUNTERCLASS",
                        format!(
                            "'{}' is not an encounter class Rounds knows",
                            get("encounterclass")
                        ),
                    )
                })?;
                let admit_at = time("start")?.ok_or_else(|| refuse("START", "is required"))?;
                let discharge_at = time("stop")?;
                if discharge_at.as_ref().is_some_and(|end| *end < admit_at) {
                    return Err(refuse(
                        "STOP",
                        format!("{} is before START {}", get("stop"), get("start")),
                    ));
                }
                Record::Encounter(records::Encounter {
                    patient: Ref::Id(Kind::Patient, get("patient").to_string()),
                    class,
                    admit_at,
                    discharge_at,
                    location: None,
                    service_provider: opt("organization").map(|o| Ref::Id(Kind::Organization, o)),
                    attending: opt("provider").map(|p| Ref::Id(Kind::Practitioner, p)),
                    admit_source: None,
                    discharge_disposition: None,
                    ms_drg: None,
                    payer: opt("payer").map(|p| payers.get(&p).cloned().unwrap_or(p)),
                    cost_cents: money("base_encounter_cost")?,
                    charges_cents: money("total_claim_cost")?,
                    billing_kept: LeftToStore(false),
                })
            }
            Table::Conditions | Table::Procedures => {
                let system = match opt("system") {
                    None => codes::SNOMED.to_string(),
                    Some(s) => match codes::system_uri(&s) {
                        Some(uri) => uri.to_string(),
                        None => {
                            warnings.push(refuse(
                                "SYSTEM",
                                format!(
                                    "code system '{s}' is not one Rounds knows; stored as given"
                                ),
                            ));
                            s
                        }
                    },
                };
                let code = opt("code").ok_or_else(|| refuse("CODE", "is required"))?;
                let patient = Ref::Id(Kind::Patient, get("patient").to_string());
                let encounter = opt("encounter").map(|e| Ref::Id(Kind::Encounter, e));
                let at = if open.table == Table::Procedures {
                    match time("start")? {
                        Some(t) => Some(t),
                        None => time("date")?,
                    }
                } else {
                    time("start")?
                };
                let content = format!(
                    "{}|{}|{}|{}|{}",
                    get("patient"),
                    get("encounter"),
                    system,
                    code,
                    at.clone().unwrap_or_default()
                );
                let n = open.seen.entry(content.clone()).or_default();
                *n += 1;
                id = format!("{content}|{n}");
                if open.table == Table::Conditions {
                    Record::Condition(records::Condition {
                        patient,
                        encounter,
                        code_system: system,
                        code,
                        present_on_admission: None,
                        rank: None,
                        onset_at: at,
                        rank_kept: LeftToStore(false),
                    })
                } else {
                    Record::Procedure(records::Procedure {
                        patient,
                        encounter,
                        code_system: system,
                        code,
                        performed_at: at,
                        performer: None,
                    })
                }
            }
        })
    })();
    (id, record, warnings)
}

impl Reader for SyntheaReader {
    fn files(&self) -> &[String] {
        &self.names
    }

    fn scan(&mut self) -> Result<Vec<(Option<Kind>, Problem)>> {
        let mut problems = Vec::new();
        for table in self.present.clone() {
            if let Err(p) = self.open(table) {
                problems.push((Some(table.kind()), p));
            }
        }
        Ok(problems)
    }

    fn start(&mut self, phase: usize) -> Result<()> {
        self.phase = phase;
        self.open = None;
        // Organizations are facilities (phase 0); the rest follow `Kind`'s order.
        self.queue = self
            .present
            .iter()
            .copied()
            .filter(|t| {
                if t.kind() == Kind::Organization {
                    phase == 0
                } else {
                    t.kind().index() + 1 == phase
                }
            })
            .collect();
        Ok(())
    }

    fn next(&mut self) -> Option<Read> {
        loop {
            if let Some(open) = &mut self.open {
                let mut row = csv::StringRecord::new();
                match open.rows.read_record(&mut row) {
                    Ok(true) => {
                        let line = row.position().map_or(0, |p| p.line());
                        let (id, record, warnings) = map_row(open, &row, &self.payers);
                        return Some(Read::Item(Item {
                            file: open.file,
                            line,
                            kind: open.table.kind(),
                            id,
                            record,
                            warnings,
                        }));
                    }
                    Ok(false) => self.open = None,
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        let (file, kind) = (open.file, open.table.kind());
                        self.open = None;
                        return Some(Read::Problem(
                            Some(kind),
                            Problem::new(&self.names[file], line, "csv", e.to_string()),
                        ));
                    }
                }
                continue;
            }
            let table = self.queue.pop_front()?;
            match self.open(table) {
                Ok(open) => self.open = Some(open),
                Err(p) => return Some(Read::Problem(Some(table.kind()), p)),
            }
        }
    }
}

/// Imports a Synthea CSV export directory.
pub async fn run(
    db: &platform::Db,
    dir: &Path,
    options: &mut super::Options,
) -> Result<super::Summary> {
    let reader = SyntheaReader::new(dir)?;
    super::drive(db, Box::new(reader), "synthea-csv", options).await
}
