//! The signal table of a disproportionality screen (`stats::disproportionality::screen`) with drug
//! and event names: the columns a drug-safety physician reads, written as CSV or JSON. Rows are
//! formatted in parallel because a FAERS-sized screen has millions of them.

use crate::reports::Interner;
use rayon::prelude::*;
use stats::disproportionality::PairSignal;
use std::io::{self, Write};

/// The columns, in order.
pub const COLUMNS: [&str; 28] = [
    "drug",
    "event",
    "a",
    "drug_reports",
    "event_reports",
    "n",
    "expected",
    "prr",
    "prr_lower",
    "prr_upper",
    "chi2",
    "chi2_yates",
    "ror",
    "ror_lower",
    "ror_upper",
    "ic",
    "ic025",
    "ic975",
    "bcpnn_ic",
    "bcpnn_ic025",
    "bcpnn_ic975",
    "ebgm",
    "eb05",
    "eb95",
    "signal_prr",
    "signal_ror",
    "signal_ic",
    "signal_ebgm",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    /// An array of objects keyed by the column names; a non-finite number is `null`.
    Json,
}

/// Writes the table; `pairs` are written in the order given.
pub fn write(
    out: &mut dyn Write,
    format: TableFormat,
    pairs: &[PairSignal],
    drugs: &Interner,
    events: &Interner,
) -> io::Result<()> {
    match format {
        TableFormat::Csv => writeln!(out, "{}", COLUMNS.join(","))?,
        TableFormat::Json => out.write_all(b"[")?,
    }
    const CHUNK: usize = 16_384;
    // Format a batch of chunks in parallel, then write them in order, so memory stays bounded.
    for (batch_index, batch) in pairs.chunks(CHUNK * 16).enumerate() {
        let buffers: Vec<Vec<u8>> = batch
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(i, chunk)| {
                let mut row = Row {
                    buf: Vec::with_capacity(chunk.len() * 320),
                    format,
                };
                for (j, pair) in chunk.iter().enumerate() {
                    let first = batch_index == 0 && i == 0 && j == 0;
                    row.pair(pair, drugs, events, first);
                }
                row.buf
            })
            .collect();
        for b in buffers {
            out.write_all(&b)?;
        }
    }
    if format == TableFormat::Json {
        out.write_all(b"]\n")?;
    }
    out.flush()
}

struct Row {
    buf: Vec<u8>,
    format: TableFormat,
}

impl Row {
    fn pair(&mut self, p: &PairSignal, drugs: &Interner, events: &Interner, first: bool) {
        if self.format == TableFormat::Json {
            self.buf
                .extend_from_slice(if first { b"\n{" } else { b",\n{" });
        }
        self.text(0, drugs.name(p.drug));
        self.text(1, events.name(p.event));
        let integers = [p.a, p.drug_margin, p.event_margin, p.n];
        for (k, v) in integers.into_iter().enumerate() {
            self.integer(2 + k, v);
        }
        let numbers = [
            p.expected,
            p.prr.estimate,
            p.prr.lower,
            p.prr.upper,
            p.chi2,
            p.chi2_yates,
            p.ror.estimate,
            p.ror.lower,
            p.ror.upper,
            p.ic.ic,
            p.ic.ic025,
            p.ic.ic975,
            p.bcpnn_ic.ic,
            p.bcpnn_ic.ic025,
            p.bcpnn_ic.ic975,
            p.eb.ebgm,
            p.eb.eb05,
            p.eb.eb95,
        ];
        for (k, v) in numbers.into_iter().enumerate() {
            self.number(6 + k, v);
        }
        for (k, v) in [p.signal_prr, p.signal_ror, p.signal_ic, p.signal_ebgm]
            .into_iter()
            .enumerate()
        {
            self.boolean(24 + k, v);
        }
        self.buf
            .extend_from_slice(if self.format == TableFormat::Json {
                b"}"
            } else {
                b"\n"
            });
    }

    fn key(&mut self, column: usize) {
        match self.format {
            TableFormat::Csv if column > 0 => self.buf.push(b','),
            TableFormat::Csv => {}
            TableFormat::Json => {
                if column > 0 {
                    self.buf.push(b',');
                }
                self.buf.push(b'"');
                self.buf.extend_from_slice(COLUMNS[column].as_bytes());
                self.buf.extend_from_slice(b"\":");
            }
        }
    }

    fn text(&mut self, column: usize, value: &str) {
        self.key(column);
        match self.format {
            TableFormat::Json => {
                serde_json::to_writer(&mut self.buf, value).expect("writing to memory")
            }
            TableFormat::Csv if value.contains([',', '"', '\n', '\r']) => {
                self.buf.push(b'"');
                self.buf
                    .extend_from_slice(value.replace('"', "\"\"").as_bytes());
                self.buf.push(b'"');
            }
            TableFormat::Csv => self.buf.extend_from_slice(value.as_bytes()),
        }
    }

    fn integer(&mut self, column: usize, value: u64) {
        self.key(column);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    fn number(&mut self, column: usize, value: f64) {
        self.key(column);
        if value.is_finite() {
            self.buf
                .extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
        } else if self.format == TableFormat::Json {
            self.buf.extend_from_slice(b"null");
        } else {
            self.buf.extend_from_slice(if value.is_nan() {
                b"NaN"
            } else if value > 0.0 {
                b"inf"
            } else {
                b"-inf"
            });
        }
    }

    fn boolean(&mut self, column: usize, value: bool) {
        self.key(column);
        self.buf
            .extend_from_slice(if value { b"true" } else { b"false" });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::ReportPairs;
    use stats::disproportionality::{Margins, Prior, ScreenOptions, count_cells, screen};

    fn table(format: TableFormat) -> String {
        let mut pairs = ReportPairs::default();
        for r in 0..6 {
            pairs.add(
                &format!("R{r}"),
                if r < 4 { "ZOLPIDEM" } else { "ASPIRIN, 81 MG" },
                if r % 2 == 0 { "Somnambulism" } else { "Fall" },
            );
        }
        pairs.order_by_name();
        let c = count_cells(
            &pairs.occurrences,
            pairs.drugs.len(),
            pairs.events.len(),
            Margins::Reports,
        )
        .unwrap();
        let options = ScreenOptions {
            prior: Some(Prior::DUMOUCHEL),
            ..Default::default()
        };
        let s = screen(&c, &options).unwrap().pairs;
        let mut out = Vec::new();
        write(&mut out, format, &s, &pairs.drugs, &pairs.events).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_csv_has_the_issue_columns_and_quotes_a_name_with_a_comma() {
        let csv = table(TableFormat::Csv);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        assert_eq!(lines.len(), 5);
        // Sorted by drug, then event: ASPIRIN's pairs first; a = 1, 2 reports name the drug, 3 the
        // event, 6 reports in all, E = 2·3/6 = 1.
        assert!(
            lines[1].starts_with("\"ASPIRIN, 81 MG\",Fall,1,2,3,6,1.0,"),
            "{}",
            lines[1]
        );
        assert_eq!(lines[1].split(',').count(), COLUMNS.len() + 1);
    }

    #[test]
    fn the_json_is_an_array_of_objects_keyed_by_column() {
        let json: serde_json::Value = serde_json::from_str(&table(TableFormat::Json)).unwrap();
        let rows = json.as_array().unwrap();
        assert_eq!(rows.len(), 4);
        let keys: Vec<&String> = rows[3].as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), COLUMNS.len());
        assert_eq!(rows[3]["drug"], "ZOLPIDEM");
        assert_eq!(rows[3]["event"], "Somnambulism");
        assert_eq!(rows[3]["a"], 2);
        assert_eq!(rows[3]["expected"], 4.0 * 3.0 / 6.0);
    }
}
