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
    Ok(csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(file))
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
        anyhow::anyhow!(
            "{}: no column `{name}` (the header has: {})",
            path.display(),
            present.join(", ")
        )
    })
}

/// The line of `record` in its file (the header is line 1), for error messages.
pub fn line(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}

/// Field `column` (named `name`) of `record` as a finite number, or an error naming the file,
/// line and column.
pub fn number_field(
    path: &Path,
    record: &csv::StringRecord,
    column: usize,
    name: &str,
) -> anyhow::Result<f64> {
    parse_number(path, line(record), name, record.get(column).unwrap_or(""))
}

/// `text`, read from `path` at `line` in column `name`, as a finite number.
pub fn parse_number(path: &Path, line: u64, name: &str, text: &str) -> anyhow::Result<f64> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => anyhow::bail!(
            "{}: line {line}, column `{name}`: {} is not a number",
            path.display(),
            if text.is_empty() {
                "an empty field".to_string()
            } else {
                format!("`{text}`")
            }
        ),
    }
}

/// Raw field bytes as a finite number, as `parse_number` would read them. Plain decimals of up to
/// 15 digits (`-12.345`), nearly every value in a data file, take an exact fast path: the digits
/// as an integer (exact below 2^53) divided by a power of ten (exact up to 10^22), a single
/// correctly rounded division, so the result is the same double the full parser gives.
pub fn parse_number_bytes(path: &Path, line: u64, name: &str, bytes: &[u8]) -> anyhow::Result<f64> {
    let bytes = bytes.trim_ascii();
    match plain_decimal(bytes) {
        Some(value) => Ok(value),
        None => parse_number(path, line, name, &String::from_utf8_lossy(bytes)),
    }
}

fn plain_decimal(bytes: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, digits) = match bytes.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, bytes),
    };
    let (mut mantissa, mut count, mut decimals, mut point) = (0u64, 0usize, 0usize, false);
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                count += 1;
                decimals += usize::from(point);
            }
            b'.' if !point => point = true,
            _ => return None,
        }
    }
    if count == 0 || count > 15 {
        return None;
    }
    let value = mantissa as f64 / POW10[decimals];
    Some(if negative { -value } else { value })
}

/// Reads every record of `path`, with a CSV syntax error (e.g. a row with too many fields) or an
/// empty file reported against the file.
pub fn records(path: &Path) -> anyhow::Result<(csv::StringRecord, Vec<csv::StringRecord>)> {
    let mut reader = csv_reader(path)?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: cannot read the header", path.display()))?
        .clone();
    let records = reader
        .records()
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not a well-formed CSV file", path.display()))?;
    if records.is_empty() {
        anyhow::bail!(
            "{}: no data rows (an empty file, or a header alone)",
            path.display()
        );
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

/// A file holding `text` in the temporary folder, named apart per test process; for tests of
/// commands that read files.
#[cfg(test)]
pub fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("rounds-test-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decimal_fast_path_gives_the_same_double_as_the_full_parser() {
        let samples = [
            "0",
            "-0",
            "1",
            "0.1",
            "-0.5128",
            "5.624",
            "123456789012345",
            "0.00000000000001",
            "3.14159265358979",
            "-999999.999999999",
            "68.4",
            "1.",
            ".5",
            "+2.25",
            "0.3",
        ];
        for text in samples {
            assert_eq!(
                plain_decimal(text.as_bytes()),
                Some(text.parse::<f64>().unwrap()),
                "{text}"
            );
        }
        // A pseudo-random sweep of 6-decimal values, as data files hold them.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let text = format!(
                "{}.{:06}",
                (state >> 40) as i64 - (1 << 23),
                state % 1_000_000
            );
            assert_eq!(
                plain_decimal(text.as_bytes()),
                Some(text.parse::<f64>().unwrap()),
                "{text}"
            );
        }
    }

    #[test]
    fn anything_but_a_plain_decimal_goes_to_the_full_parser() {
        for text in [
            "1e5",
            "nan",
            "inf",
            "1,5",
            "",
            "-",
            ".",
            "1.2.3",
            "1234567890123456",
        ] {
            assert_eq!(plain_decimal(text.as_bytes()), None, "{text}");
        }
        let err = parse_number_bytes(Path::new("f.csv"), 7, "age", b" abc ").unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.csv: line 7, column `age`: `abc` is not a number"
        );
        assert_eq!(
            parse_number_bytes(Path::new("f.csv"), 7, "age", b"1e2").unwrap(),
            100.0
        );
    }
}
