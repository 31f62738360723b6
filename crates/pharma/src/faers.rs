//! FDA FAERS quarterly ASCII extracts (layout per the extract's ASC_NTS notes): `$`-delimited files
//! with a header, DEMOyyQq/DRUGyyQq/REACyyQq joined on `primaryid`, cases de-duplicated to their
//! latest version and deleted cases removed, reduced to (report, drug, event) occurrences.
//!
//! Text is bytes in the real files: a line that is not valid UTF-8 is decoded as Latin-1 (every
//! byte one character), so an odd byte in a drug name never stops an import; the count of such
//! lines is reported. OUTC, RPSR, THER and INDI are not needed for disproportionality and are not read.

use crate::PharmaError;
use crate::reports::ReportPairs;
use rustc_hash::{FxHashMap, FxHashSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// Which drugs of a report count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Primary and secondary suspect (role_cod PS, SS): the usual choice for signal detection.
    Suspect,
    /// Every drug, concomitant (C) and interacting (I) included.
    All,
}

/// Which DRUG column names the drug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrugField {
    /// `drugname`: the name as reported (brand or generic, often with strength).
    DrugName,
    /// `prod_ai`: the product's active ingredient(s); empty for unmatched names.
    ProdAi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaersOptions {
    pub role: Role,
    pub drug_field: DrugField,
}

impl Default for FaersOptions {
    fn default() -> FaersOptions {
        FaersOptions {
            role: Role::Suspect,
            drug_field: DrugField::DrugName,
        }
    }
}

/// One readable file and the name to report it by.
pub struct Source<R> {
    pub name: String,
    pub reader: R,
}

/// The files of one quarter.
pub struct QuarterSources<R> {
    /// "yyQq", e.g. "24Q1".
    pub quarter: String,
    pub demo: Source<R>,
    pub drug: Source<R>,
    pub reac: Source<R>,
    /// Lists of deleted case ids (one per line), when the extract has them.
    pub deleted: Vec<Source<R>>,
}

/// What an import read, kept and left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaersSummary {
    pub quarters: Vec<String>,
    pub demo_rows: usize,
    /// Distinct cases, and the older versions dropped in favour of each case's latest.
    pub cases: usize,
    pub superseded_versions: usize,
    /// Cases removed because a deleted-cases list names them.
    pub deleted_cases: usize,
    pub drug_rows: usize,
    /// DRUG rows of kept reports with the chosen role and a non-empty name.
    pub drug_rows_used: usize,
    /// DRUG rows of kept reports with the chosen role but an empty name in the chosen field.
    pub drug_rows_unnamed: usize,
    pub reac_rows: usize,
    /// Kept reports with at least one drug and one event: the reports of the analysis.
    pub reports: usize,
    /// Lines decoded as Latin-1 because they were not valid UTF-8.
    pub latin1_lines: usize,
}

/// A FAERS database reduced to drug–event occurrences.
pub struct Faers {
    pub pairs: ReportPairs,
    pub summary: FaersSummary,
}

/// Reads every quarter found below `dir` (the extract's ASCII/ and Deleted/ folders included).
pub fn load_dir(dir: &Path, options: FaersOptions) -> Result<Faers, PharmaError> {
    let quarters = find_quarters(dir)?;
    let open = |path: &PathBuf| -> Result<Source<BufReader<File>>, PharmaError> {
        let file = File::open(path).map_err(|source| PharmaError::Io {
            file: path.display().to_string(),
            source,
        })?;
        Ok(Source {
            name: path.display().to_string(),
            reader: BufReader::with_capacity(1 << 20, file),
        })
    };
    let mut sources = Vec::new();
    for q in &quarters {
        sources.push(QuarterSources {
            quarter: q.quarter.clone(),
            demo: open(&q.demo)?,
            drug: open(&q.drug)?,
            reac: open(&q.reac)?,
            deleted: q.deleted.iter().map(open).collect::<Result<_, _>>()?,
        });
    }
    read_quarters(sources, options)
}

/// The files of one quarter on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarterFiles {
    pub quarter: String,
    pub demo: PathBuf,
    pub drug: PathBuf,
    pub reac: PathBuf,
    pub deleted: Vec<PathBuf>,
}

/// Finds DEMOyyQq.txt, DRUGyyQq.txt, REACyyQq.txt and DELETEyyQq.txt (any case) up to three folders
/// deep; every quarter needs all of DEMO, DRUG and REAC.
pub fn find_quarters(dir: &Path) -> Result<Vec<QuarterFiles>, PharmaError> {
    let mut found: std::collections::BTreeMap<String, [Option<PathBuf>; 3]> = Default::default();
    let mut deleted: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
    let mut stack = vec![(dir.to_path_buf(), 0)];
    while let Some((folder, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|source| PharmaError::Io {
            file: folder.display().to_string(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| PharmaError::Io {
                    file: folder.display().to_string(),
                    source,
                })?
                .path();
            if path.is_dir() {
                if depth < 3 {
                    stack.push((path, depth + 1));
                }
                continue;
            }
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_ascii_uppercase)
            else {
                continue;
            };
            let Some(stem) = name.strip_suffix(".TXT") else {
                continue;
            };
            if let Some(quarter) = stem.strip_prefix("DELETE").and_then(quarter_code) {
                deleted.entry(quarter).or_default().push(path);
                continue;
            }
            for (k, prefix) in ["DEMO", "DRUG", "REAC"].iter().enumerate() {
                if let Some(quarter) = stem.strip_prefix(prefix).and_then(quarter_code) {
                    found.entry(quarter).or_default()[k] = Some(path.clone());
                }
            }
        }
    }
    if found.is_empty() {
        return Err(PharmaError::bad(
            dir.display().to_string(),
            0,
            "no FAERS quarter (DEMOyyQq.txt, DRUGyyQq.txt, REACyyQq.txt) found",
        ));
    }
    found
        .into_iter()
        .map(|(quarter, [demo, drug, reac])| {
            let missing = |file: Option<PathBuf>, what: &str| {
                file.ok_or_else(|| {
                    PharmaError::bad(
                        dir.display().to_string(),
                        0,
                        format!("quarter {quarter} has no {what}{quarter}.txt"),
                    )
                })
            };
            Ok(QuarterFiles {
                demo: missing(demo, "DEMO")?,
                drug: missing(drug, "DRUG")?,
                reac: missing(reac, "REAC")?,
                deleted: deleted.remove(&quarter).unwrap_or_default(),
                quarter,
            })
        })
        .collect()
}

/// "24Q1" from the part of a file name after its prefix.
fn quarter_code(rest: &str) -> Option<String> {
    let b = rest.as_bytes();
    (b.len() == 4
        && b[0].is_ascii_digit()
        && b[1].is_ascii_digit()
        && b[2] == b'Q'
        && (b'1'..=b'4').contains(&b[3]))
    .then(|| rest.to_string())
}

/// Joins the quarters: all DEMO files first (a case's latest version may be in a later quarter),
/// then each quarter's DRUG and REAC rows against the kept versions.
pub fn read_quarters<R: BufRead>(
    quarters: Vec<QuarterSources<R>>,
    options: FaersOptions,
) -> Result<Faers, PharmaError> {
    let mut summary = FaersSummary::default();
    let mut known: FxHashSet<u64> = FxHashSet::default();
    // caseid → (fda_dt, primaryid) of its latest version.
    let mut latest: FxHashMap<u64, (u32, u64)> = FxHashMap::default();
    let mut deleted: FxHashSet<u64> = FxHashSet::default();
    let mut rest = Vec::with_capacity(quarters.len());
    for q in quarters {
        summary.quarters.push(q.quarter.clone());
        let mut demo = Table::open(q.demo, &mut summary.latin1_lines)?;
        let (primaryid, caseid, fda_dt) = (
            demo.column("primaryid")?,
            demo.column("caseid")?,
            demo.column("fda_dt")?,
        );
        let mut rows = 0;
        while let Some(fields) = demo.next_row(&mut summary.latin1_lines)? {
            rows += 1;
            let id = demo.integer(&fields, primaryid)?;
            let case = demo.integer(&fields, caseid)?;
            let date = demo.date(&fields, fda_dt)?;
            known.insert(id);
            let entry = latest.entry(case).or_insert((date, id));
            if (date, id) > *entry {
                *entry = (date, id);
            }
        }
        if rows == 0 {
            return Err(PharmaError::bad(
                demo.name.clone(),
                1,
                format!("empty quarter {}: the DEMO file has no reports", q.quarter),
            ));
        }
        summary.demo_rows += rows;
        for list in q.deleted {
            read_deleted(list, &mut deleted)?;
        }
        rest.push((q.drug, q.reac));
    }
    summary.cases = latest.len();
    summary.superseded_versions = known.len() - latest.len();
    // primaryid of each kept version → its report index.
    let mut kept: FxHashMap<u64, u32> = FxHashMap::default();
    let mut kept_ids: Vec<u64> = latest
        .iter()
        .filter(|(case, _)| {
            let gone = deleted.contains(case);
            summary.deleted_cases += gone as usize;
            !gone
        })
        .map(|(_, &(_, id))| id)
        .collect();
    kept_ids.sort_unstable();
    for (i, &id) in kept_ids.iter().enumerate() {
        kept.insert(id, i as u32);
    }
    drop(latest);

    let mut pairs = ReportPairs::default();
    let mut drugs_of: Vec<Vec<u32>> = vec![Vec::new(); kept_ids.len()];
    let mut events_of: Vec<Vec<u32>> = vec![Vec::new(); kept_ids.len()];
    let mut folded = String::new();
    for (drug_source, reac_source) in rest {
        let mut drug = Table::open(drug_source, &mut summary.latin1_lines)?;
        let primaryid = drug.column("primaryid")?;
        let role = drug.column("role_cod")?;
        let name = drug.column(match options.drug_field {
            DrugField::DrugName => "drugname",
            DrugField::ProdAi => "prod_ai",
        })?;
        while let Some(fields) = drug.next_row(&mut summary.latin1_lines)? {
            summary.drug_rows += 1;
            let Some(report) = drug.report(&fields, primaryid, &known, &kept)? else {
                continue;
            };
            if options.role == Role::Suspect && !matches!(fields[role].trim(), "PS" | "SS") {
                continue;
            }
            let drug_name = fields[name].trim();
            if drug_name.is_empty() {
                summary.drug_rows_unnamed += 1;
                continue;
            }
            summary.drug_rows_used += 1;
            folded.clear();
            folded.extend(drug_name.chars().flat_map(char::to_uppercase));
            drugs_of[report as usize].push(pairs.drugs.id(&folded));
        }
        let mut reac = Table::open(reac_source, &mut summary.latin1_lines)?;
        let (primaryid, pt) = (reac.column("primaryid")?, reac.column("pt")?);
        while let Some(fields) = reac.next_row(&mut summary.latin1_lines)? {
            summary.reac_rows += 1;
            let Some(report) = reac.report(&fields, primaryid, &known, &kept)? else {
                continue;
            };
            let term = fields[pt].trim();
            if term.is_empty() {
                return Err(PharmaError::bad(reac.name.clone(), reac.line, "empty pt"));
            }
            // MedDRA terms compare case-insensitively (older extracts upper-case them); the first
            // spelling seen is the one shown.
            folded.clear();
            folded.extend(term.chars().flat_map(char::to_uppercase));
            events_of[report as usize].push(pairs.events.id_keyed(&folded, term));
        }
    }
    for (i, (drugs, events)) in drugs_of.iter().zip(&events_of).enumerate() {
        if drugs.is_empty() || events.is_empty() {
            continue;
        }
        summary.reports += 1;
        let report = pairs.reports.id(&kept_ids[i].to_string());
        for &d in drugs {
            for &e in events {
                pairs.occurrences.push((report, d, e));
            }
        }
    }
    Ok(Faers { pairs, summary })
}

fn read_deleted<R: BufRead>(
    source: Source<R>,
    deleted: &mut FxHashSet<u64>,
) -> Result<(), PharmaError> {
    let mut latin1 = 0;
    let mut lines = Lines {
        name: source.name,
        reader: source.reader,
        buf: Vec::new(),
        line: 0,
    };
    while let Some(text) = lines.next_line(&mut latin1)? {
        let value = text.trim().trim_end_matches('$').trim();
        if value.is_empty() {
            continue;
        }
        match value.parse::<u64>() {
            Ok(case) => {
                deleted.insert(case);
            }
            // A header line ("caseid") is allowed on the first line only.
            Err(_)
                if lines.line == 1
                    && value.chars().all(|c| c.is_ascii_alphabetic() || c == '_') => {}
            Err(_) => {
                return Err(PharmaError::bad(
                    lines.name.clone(),
                    lines.line,
                    format!("`{value}` is not a case id"),
                ));
            }
        }
    }
    Ok(())
}

/// Lines of a byte stream, each decoded as UTF-8 or else as Latin-1.
struct Lines<R> {
    name: String,
    reader: R,
    buf: Vec<u8>,
    line: usize,
}

impl<R: BufRead> Lines<R> {
    fn next_line(&mut self, latin1: &mut usize) -> Result<Option<String>, PharmaError> {
        self.buf.clear();
        let read = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| PharmaError::Io {
                file: self.name.clone(),
                source,
            })?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        Ok(Some(match std::str::from_utf8(&self.buf) {
            Ok(text) => text.to_string(),
            Err(_) => {
                *latin1 += 1;
                self.buf.iter().map(|&b| b as char).collect()
            }
        }))
    }
}

/// A `$`-delimited table with a header.
struct Table<R> {
    name: String,
    line: usize,
    lines: Lines<R>,
    header: Vec<String>,
}

impl<R: BufRead> Table<R> {
    fn open(source: Source<R>, latin1: &mut usize) -> Result<Table<R>, PharmaError> {
        let mut lines = Lines {
            name: source.name.clone(),
            reader: source.reader,
            buf: Vec::new(),
            line: 0,
        };
        let Some(header) = lines.next_line(latin1)? else {
            return Err(PharmaError::bad(
                source.name,
                0,
                "empty file: no header line",
            ));
        };
        let header: Vec<String> = split(&header, None)
            .into_iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        Ok(Table {
            name: source.name,
            line: 1,
            lines,
            header,
        })
    }

    fn column(&self, name: &str) -> Result<usize, PharmaError> {
        self.header.iter().position(|h| h == name).ok_or_else(|| {
            PharmaError::bad(
                self.name.clone(),
                1,
                format!(
                    "missing column `{name}` (header: {})",
                    self.header.join("$")
                ),
            )
        })
    }

    /// The next non-empty row, with exactly as many fields as the header.
    fn next_row(&mut self, latin1: &mut usize) -> Result<Option<Vec<String>>, PharmaError> {
        loop {
            let Some(text) = self.lines.next_line(latin1)? else {
                return Ok(None);
            };
            self.line = self.lines.line;
            if text.trim().is_empty() {
                continue;
            }
            let fields: Vec<String> = split(&text, Some(self.header.len()))
                .into_iter()
                .map(str::to_string)
                .collect();
            if fields.len() != self.header.len() {
                return Err(PharmaError::bad(
                    self.name.clone(),
                    self.line,
                    format!(
                        "expected {} `$`-separated fields, found {}",
                        self.header.len(),
                        fields.len()
                    ),
                ));
            }
            return Ok(Some(fields));
        }
    }

    fn integer(&self, fields: &[String], column: usize) -> Result<u64, PharmaError> {
        let v = fields[column].trim();
        v.parse().map_err(|_| {
            PharmaError::bad(
                self.name.clone(),
                self.line,
                format!("{} `{v}` is not a number", self.header[column]),
            )
        })
    }

    /// A YYYYMMDD date as a sortable integer; an empty date sorts first.
    fn date(&self, fields: &[String], column: usize) -> Result<u32, PharmaError> {
        let v = fields[column].trim();
        if v.is_empty() {
            return Ok(0);
        }
        if v.len() == 8
            && let Ok(d) = v.parse()
        {
            return Ok(d);
        }
        Err(PharmaError::bad(
            self.name.clone(),
            self.line,
            format!("{} `{v}` is not a YYYYMMDD date", self.header[column]),
        ))
    }

    /// The kept report a DRUG/REAC row belongs to; None for a superseded or deleted version; an
    /// error for a primaryid that no DEMO file has (the row would otherwise be mis-joined or lost).
    fn report(
        &self,
        fields: &[String],
        column: usize,
        known: &FxHashSet<u64>,
        kept: &FxHashMap<u64, u32>,
    ) -> Result<Option<u32>, PharmaError> {
        let id = self.integer(fields, column)?;
        if !known.contains(&id) {
            return Err(PharmaError::bad(
                self.name.clone(),
                self.line,
                format!("primaryid {id} is in no DEMO file"),
            ));
        }
        Ok(kept.get(&id).copied())
    }
}

/// Splits on `$`. Some extracts end every line with a `$`: with `expected` columns, one extra empty
/// trailing field is dropped; a header's trailing empty field always is.
fn split(line: &str, expected: Option<usize>) -> Vec<&str> {
    let mut fields: Vec<&str> = line.split('$').collect();
    let trailing = fields.len() > 1 && fields.last() == Some(&"");
    if trailing && expected.is_none_or(|n| fields.len() == n + 1) {
        fields.pop();
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_dollar_is_not_a_field() {
        assert_eq!(split("1$2$", Some(2)), vec!["1", "2"]);
        assert_eq!(split("1$2$", None), vec!["1", "2"]);
        // An empty last field that the header does have is kept.
        assert_eq!(split("1$", Some(2)), vec!["1", ""]);
    }

    #[test]
    fn a_quarter_code_is_two_digits_q_and_a_quarter() {
        assert_eq!(quarter_code("24Q1").as_deref(), Some("24Q1"));
        assert_eq!(quarter_code("24Q5"), None);
        assert_eq!(quarter_code("2024Q1"), None);
    }
}
