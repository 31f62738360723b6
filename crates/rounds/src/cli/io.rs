//! File plumbing shared by the analysis commands: where input comes from, where output goes,
//! and which format to write. Commands stay about their method, not about files.

use anyhow::Context;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Output formats an analysis command can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Svg,
}

impl Format {
    /// The explicit `--format`, else the output file's extension, else `default`.
    pub fn choose(explicit: Option<Format>, output: Option<&Path>, default: Format) -> Format {
        if let Some(format) = explicit {
            return format;
        }
        match output.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
            Some(ext) if ext.eq_ignore_ascii_case("csv") => Format::Csv,
            Some(ext) if ext.eq_ignore_ascii_case("svg") => Format::Svg,
            _ => default,
        }
    }
}

/// A CSV reader over `path` with headers, trimming whitespace around fields.
pub fn csv_reader(path: &Path) -> anyhow::Result<csv::Reader<File>> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    Ok(csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(file))
}

/// Where results go: the named file (created or truncated) or standard output.
pub fn output(path: Option<&PathBuf>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("{}: cannot create", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    })
}

/// The position of column `name` in the header of `path`, or an error listing the columns there.
pub fn column_index(path: &Path, headers: &csv::StringRecord, name: &str) -> anyhow::Result<usize> {
    headers.iter().position(|h| h == name).ok_or_else(|| {
        let present: Vec<&str> = headers.iter().collect();
        anyhow::anyhow!("{}: no column `{name}` (the header has: {})", path.display(), present.join(", "))
    })
}

/// The line of `record` in its file (the header is line 1), for error messages.
pub fn line(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}

/// Field `column` (named `name`) of `record` as a finite number, or an error naming the file,
/// line and column.
pub fn number_field(path: &Path, record: &csv::StringRecord, column: usize, name: &str) -> anyhow::Result<f64> {
    parse_number(path, line(record), name, record.get(column).unwrap_or(""))
}

/// `text`, read from `path` at `line` in column `name`, as a finite number.
pub fn parse_number(path: &Path, line: u64, name: &str, text: &str) -> anyhow::Result<f64> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => anyhow::bail!(
            "{}: line {line}, column `{name}`: {} is not a number",
            path.display(),
            if text.is_empty() { "an empty field".to_string() } else { format!("`{text}`") }
        ),
    }
}

/// Reads every record of `path`, with a CSV syntax error (e.g. a row with too many fields) or an
/// empty file reported against the file.
pub fn records(path: &Path) -> anyhow::Result<(csv::StringRecord, Vec<csv::StringRecord>)> {
    let mut reader = csv_reader(path)?;
    let headers = reader.headers().with_context(|| format!("{}: cannot read the header", path.display()))?.clone();
    let records = reader
        .records()
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not a well-formed CSV file", path.display()))?;
    if records.is_empty() {
        anyhow::bail!("{}: no data rows (an empty file, or a header alone)", path.display());
    }
    Ok((headers, records))
}

/// Ends a command: its error, with the chain of causes, on standard error and a failing exit code.
pub fn finish(result: anyhow::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
