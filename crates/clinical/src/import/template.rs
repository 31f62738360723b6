//! Rounds' own CSV templates (docs/clinical/csv-templates.md), for sites without FHIR:
//! value sets (here), and encounters, procedures and diagnoses.

use super::{Options, Problem};
use crate::value_sets::{self, Member};
use crate::{Error, Result, codes};
use platform::audit::{self, Event};
use platform::db::Db;
use std::path::Path;

/// A CSV file's header, mapped by column name (case-insensitive, trimmed).
pub struct Header {
    names: Vec<String>,
}

impl Header {
    pub fn new(record: &csv::StringRecord) -> Header {
        Header { names: record.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase()).collect() }
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
            .map(|c| if upper { c.to_ascii_uppercase() } else { c.to_string() })
            .collect();
        (!missing.is_empty()).then(|| format!("missing column{} {}", if missing.len() == 1 { "" } else { "s" }, missing.join(", ")))
    }

    pub fn missing(&self, required: &[&str]) -> Option<String> {
        self.missing_as(required, false)
    }
}

pub fn reader(path: &Path) -> Result<csv::Reader<Box<dyn std::io::Read + Send>>> {
    let input = super::files::open(path).map_err(|e| Error::File { path: path.display().to_string(), reason: format!("cannot open: {e}") })?;
    Ok(csv::ReaderBuilder::new().flexible(true).from_reader(Box::new(input) as Box<dyn std::io::Read + Send>))
}

/// Loads value sets from `name,system,code[,description]`; each set named in the file is
/// replaced by the file's members. Every patient's outcomes are recomputed (they may depend on
/// any set). All or nothing.
pub async fn load_value_sets(db: &Db, path: &Path, options: &Options) -> Result<(u64, u64)> {
    let file = path.display().to_string();
    let mut rdr = reader(path)?;
    let header = Header::new(rdr.headers().map_err(|e| Error::File { path: file.clone(), reason: format!("cannot read the header: {e}") })?);
    if let Some(missing) = header.missing(&["name", "system", "code"]) {
        return Err(Error::File { path: file, reason: missing });
    }
    let (n, s, c, d) = (header.find("name").unwrap_or(0), header.find("system").unwrap_or(1), header.find("code").unwrap_or(2), header.find("description"));
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
        members.push(Member { name, system: system.to_string(), code: get(c).to_string(), description: d.map(|d| get(d).to_string()).unwrap_or_default() });
    }
    if rows == 0 && problems.is_empty() {
        problems.push(Problem::new(&file, 2, "file", "has a header but no rows"));
    }
    if !problems.is_empty() {
        let mut summary = super::Summary { kind: "value-sets".into(), files: vec![file], ..Default::default() };
        summary.types.entry("ValueSet".into()).or_default().rejected = problems.len() as u64;
        summary.types.entry("ValueSet".into()).or_default().read = rows;
        problems.truncate(options.max_problems);
        return Err(Error::Rejected { summary: Box::new(summary), problems });
    }
    let mut tx = db.begin().await?;
    let (added, removed) = value_sets::replace(&mut tx, &members).await?;
    if added + removed > 0 {
        sqlx::query("DELETE FROM clinical_stale_patients").execute(&mut *tx).await?;
        sqlx::query("INSERT INTO clinical_stale_patients (patient_id) SELECT id FROM patients").execute(&mut *tx).await?;
        crate::outcomes::recompute_stale(&mut tx).await?;
    }
    let detail = format!("value sets from {}: {added} codes added, {removed} removed", path.file_name().and_then(|f| f.to_str()).unwrap_or(""));
    audit::append(
        &mut tx,
        &Event { actor: &options.actor, address: &options.address, action: "import.run", record_type: "value_set", record_id: "", outcome: "success", detail: &detail },
    )
    .await?;
    tx.commit().await?;
    Ok((added, removed))
}
