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
