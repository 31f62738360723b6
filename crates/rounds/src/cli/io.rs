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
#[inline]
pub fn parse_number_bytes(path: &Path, line: u64, name: &str, bytes: &[u8]) -> anyhow::Result<f64> {
    let bytes = bytes.trim_ascii();
    match plain_decimal(bytes) {
        Some(value) => Ok(value),
        None => parse_other(path, line, name, bytes),
    }
}

/// Anything but a plain decimal, out of the way of the common case.
#[cold]
#[inline(never)]
fn parse_other(path: &Path, line: u64, name: &str, bytes: &[u8]) -> anyhow::Result<f64> {
    parse_number(path, line, name, &String::from_utf8_lossy(bytes))
}

/// Raw bytes (already trimmed) as a finite number, as `str::parse::<f64>` reads them, or `None`.
pub fn finite_number(bytes: &[u8]) -> Option<f64> {
    plain_decimal(bytes).or_else(|| {
        std::str::from_utf8(bytes)
            .ok()?
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
    })
}

#[inline]
fn plain_decimal(bytes: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, digits) = match bytes.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, bytes),
    };
    // Integer digits, then an optional point and fraction digits: two tight loops. Wrapping
    // arithmetic, because a long run of digits is refused below rather than overflowing.
    let mut mantissa = 0u64;
    let mut i = 0;
    let digit = |i: usize, mantissa: &mut u64| {
        let d = digits.get(i)?.wrapping_sub(b'0');
        (d <= 9).then(|| *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d)))
    };
    while digit(i, &mut mantissa).is_some() {
        i += 1;
    }
    let mut count = i;
    let mut decimals = 0;
    if digits.get(i) == Some(&b'.') {
        i += 1;
        while digit(i, &mut mantissa).is_some() {
            i += 1;
            decimals += 1;
        }
        count += decimals;
    }
    if i != digits.len() || count == 0 || count > 15 {
        return None;
    }
    let value = mantissa as f64 / POW10[decimals];
    Some(if negative { -value } else { value })
}

/// A CSV file read whole for a fast, parallel pass over its rows: the header (fields trimmed)
/// and the bytes of the data rows after it.
pub struct Table<'a> {
    path: &'a Path,
    bytes: Vec<u8>,
    pub headers: csv::StringRecord,
    body_start: usize,
    /// File line of the first data row.
    first_line: u64,
}

impl<'a> Table<'a> {
    /// Reads `path`; an empty file, or a header without data rows, is an error.
    pub fn read(path: &'a Path) -> anyhow::Result<Table<'a>> {
        let bytes =
            std::fs::read(path).with_context(|| format!("{}: cannot open", path.display()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            anyhow::bail!("{}: the file is empty", path.display());
        }
        let mut head = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
        let mut headers = head
            .headers()
            .with_context(|| format!("{}: cannot read the header", path.display()))?
            .clone();
        headers.trim();
        let body_start = head.position().byte() as usize;
        let first_line = head.position().line();
        if bytes[body_start..].iter().all(u8::is_ascii_whitespace) {
            anyhow::bail!("{}: no data rows, only a header", path.display());
        }
        Ok(Table {
            path,
            bytes,
            headers,
            body_start,
            first_line,
        })
    }

    /// The position of column `name`, or an error listing the columns there are.
    pub fn column(&self, name: &str) -> anyhow::Result<usize> {
        column_index(self.path, &self.headers, name)
    }

    /// Reads the data rows in pieces, one per core, in file order: `start(lines)` makes the
    /// state of a piece of at most `lines` rows, and `row(state, fields, line)` takes each
    /// record's raw (untrimmed) fields and its file line. Without quotes a CSV line is its fields
    /// split at commas, several times faster than a general parser; a file with a quote anywhere
    /// (a quoted field may hold a line break) goes through the `csv` crate in one piece. The
    /// first error in file order is returned.
    pub fn rows<T: Send>(
        &self,
        start: impl Fn(usize) -> T + Sync,
        row: impl Fn(&mut T, &[&[u8]], u64) -> anyhow::Result<()> + Sync,
    ) -> anyhow::Result<Vec<T>> {
        use rayon::prelude::*;
        let body = &self.bytes[self.body_start..];
        let quoted = body.contains(&b'"');
        let pieces = split_at_lines(
            body,
            if quoted {
                1
            } else {
                rayon::current_num_threads()
            },
        );
        // Every piece but the last ends at a line break, so its breaks are its lines.
        let lines: Vec<usize> = pieces
            .par_iter()
            .map(|p| p.iter().filter(|&&b| b == b'\n').count())
            .collect();
        let firsts = lines.iter().scan(self.first_line, |line, &count| {
            let first = *line;
            *line += count as u64;
            Some(first)
        });
        let jobs: Vec<(&[u8], u64, usize)> = pieces
            .iter()
            .zip(firsts)
            .zip(&lines)
            .map(|((&piece, first), &count)| (piece, first, count))
            .collect();
        jobs.into_par_iter()
            .map(|(piece, first_line, count)| {
                let mut state = start(count + 1);
                self.read_piece(piece, first_line, quoted, |fields, line| {
                    row(&mut state, fields, line)
                })?;
                Ok(state)
            })
            .collect()
    }

    fn read_piece(
        &self,
        piece: &[u8],
        first_line: u64,
        quoted: bool,
        mut row: impl FnMut(&[&[u8]], u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let width = self.headers.len();
        let check = |count: usize, line: u64| {
            if count != width {
                anyhow::bail!(
                    "{}: line {line}: {count} fields where the header has {width}",
                    self.path.display()
                );
            }
            Ok(())
        };
        let mut fields: Vec<&[u8]> = Vec::with_capacity(width);
        if !quoted {
            for (offset, text) in piece.split(|&b| b == b'\n').enumerate() {
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                if text.is_empty() {
                    continue; // as the csv crate, blank lines are not records
                }
                let line = first_line + offset as u64;
                fields.clear();
                fields.extend(text.split(|&b| b == b','));
                check(fields.len(), line)?;
                row(&fields, line)?;
            }
            return Ok(());
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(piece);
        let mut record = csv::ByteRecord::new();
        loop {
            let more = reader.read_byte_record(&mut record).map_err(|e| {
                let line = e
                    .position()
                    .map_or(first_line, |p| first_line + p.line() - 1);
                anyhow::anyhow!(
                    "{}: line {line}: not well-formed CSV ({e})",
                    self.path.display()
                )
            })?;
            if !more {
                return Ok(());
            }
            let line = first_line + record.position().map_or(1, |p| p.line()) - 1;
            let fields: Vec<&[u8]> = record.iter().collect();
            check(fields.len(), line)?;
            row(&fields, line)?;
        }
    }
}

/// The columns of a file in its simplest shape, read by `Table::plain_numbers`.
pub struct PlainNumbers {
    /// One vector per requested column, a value per row.
    pub columns: Vec<Vec<f64>>,
    /// Where each row's line starts in the file's bytes.
    pub starts: Vec<u32>,
}

impl Table<'_> {
    /// The file line of the first data row.
    pub fn first_line(&self) -> u64 {
        self.first_line
    }

    /// The file's bytes, header included; `PlainNumbers::starts` point into them.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The columns `wanted` as numbers, when the file has the shape nearly every data file has:
    /// no quotes, no blank lines, the header's number of fields on every line, and a plain
    /// decimal (`plain_decimal`: digits with an optional sign and point, no spaces) in every
    /// wanted field. Each field is scanned and read as a number in one pass, into columns
    /// allocated once, on every core. `None` when any line is not of that shape: the caller
    /// then reads the file with `rows`, which also names any bad row and column. The values are
    /// the doubles `rows` would give (`parse_number_bytes`, `finite_number`).
    pub fn plain_numbers(&self, wanted: &[usize]) -> Option<PlainNumbers> {
        use rayon::prelude::*;
        let width = self.headers.len();
        if self.bytes.len() > u32::MAX as usize || wanted.iter().any(|&c| c >= width) {
            return None;
        }
        let body = &self.bytes[self.body_start..];
        let pieces = split_at_lines(body, rayon::current_num_threads());
        // Rows of each piece: its lines, the last one perhaps without a line break; none if
        // there is a quote.
        let counts: Option<Vec<usize>> = pieces
            .par_iter()
            .map(|p| {
                let breaks = p.iter().filter(|&&b| b == b'\n').count();
                (!p.contains(&b'"'))
                    .then(|| breaks + usize::from(p.last().is_some_and(|&b| b != b'\n')))
            })
            .collect();
        let counts = counts?;
        let rows: usize = counts.iter().sum();
        // Zeroed memory comes from the kernel untouched; each core touches its own share.
        let mut columns = vec![vec![0.0f64; rows]; wanted.len()];
        let mut starts = vec![0u32; rows];
        // Per field of a line: the column it fills, if wanted.
        let mut slot = vec![usize::MAX; width];
        for (k, &c) in wanted.iter().enumerate() {
            slot[c] = k;
        }
        // Each piece's share of every output, and where the piece begins in the file.
        type Piece<'a> = (&'a [u8], usize, Vec<&'a mut [f64]>, &'a mut [u32]);
        let mut jobs: Vec<Piece> = Vec::new();
        {
            let mut rest_columns: Vec<&mut [f64]> =
                columns.iter_mut().map(|c| c.as_mut_slice()).collect();
            let mut rest_starts = starts.as_mut_slice();
            let mut offset = self.body_start;
            for (piece, &count) in pieces.iter().zip(&counts) {
                let mut mine = Vec::with_capacity(wanted.len());
                for column in rest_columns.iter_mut() {
                    let (head, tail) = std::mem::take(column).split_at_mut(count);
                    mine.push(head);
                    *column = tail;
                }
                let (head, tail) = rest_starts.split_at_mut(count);
                rest_starts = tail;
                jobs.push((piece, offset, mine, head));
                offset += piece.len();
            }
        }
        let ok = jobs
            .into_par_iter()
            .all(|(piece, offset, mut columns, starts)| {
                plain_piece(piece, offset, width, &slot, &mut columns, starts)
            });
        ok.then_some(PlainNumbers { columns, starts })
    }
}

/// Reads one piece for `plain_numbers`; false at the first line not of the plain shape.
#[inline(never)]
fn plain_piece(
    piece: &[u8],
    offset: usize,
    width: usize,
    slot: &[usize],
    columns: &mut [&mut [f64]],
    starts: &mut [u32],
) -> bool {
    let mut at = 0;
    for (row, start) in starts.iter_mut().enumerate() {
        *start = (offset + at) as u32;
        for (field, &column) in slot.iter().enumerate() {
            let last = field + 1 == width;
            if column != usize::MAX {
                let Some((value, end)) = plain_field(piece, at) else {
                    return false;
                };
                if let Some(cell) = columns.get_mut(column).and_then(|c| c.get_mut(row)) {
                    *cell = value;
                }
                at = end;
            } else {
                while at < piece.len() && !matches!(piece[at], b',' | b'\n' | b'\r' | b'"') {
                    at += 1;
                }
            }
            // What ends the field must be what the line needs there.
            match piece.get(at) {
                Some(b',') if !last => at += 1,
                Some(b'\n') if last => at += 1,
                Some(b'\r') if last && matches!(piece.get(at + 1), None | Some(b'\n')) => at += 2,
                None if last => {}
                _ => return false,
            }
        }
    }
    at >= piece.len()
}

/// A plain decimal starting at `at` and the index just past it: `plain_decimal`'s reading, in
/// the same pass that finds the field's end.
#[inline]
fn plain_field(bytes: &[u8], at: usize) -> Option<(f64, usize)> {
    // Most fields are whole numbers of a few digits: eight bytes are read at once, the digits
    // found and added up without a loop (SWAR). Anything else takes the loop below.
    if let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        // Digits become 0–9; every other byte is above 9 and gets its top bit set here.
        let x = word ^ 0x3030_3030_3030_3030;
        let other = (x.wrapping_add(0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080;
        let digits = (other.trailing_zeros() / 8) as usize;
        if (1..8).contains(&digits) && chunk[digits] != b'.' {
            // The digits to the top of the word (zeros before them are leading zeros), then
            // pairs, fours and eights of digits combined by three multiplications.
            let v = x << (8 * (8 - digits));
            let v = ((v & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561)) >> 8;
            let v = ((v & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601)) >> 16;
            let v = ((v & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001)) >> 32;
            // Fewer than eight digits (below 2^32, so the one-instruction conversion): exact,
            // and the double plain_decimal gives (v / 10^0).
            return Some((f64::from(v as u32), at + digits));
        }
    }
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let mut i = at;
    let negative = match bytes.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut mantissa = 0u64;
    let first = i;
    while let Some(&b) = bytes.get(i) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    let mut count = i - first;
    let mut decimals = 0;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        let from = i;
        while let Some(&b) = bytes.get(i) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
            i += 1;
        }
        decimals = i - from;
        count += decimals;
    }
    if count == 0 || count > 15 {
        return None;
    }
    let value = mantissa as f64 / POW10[decimals];
    Some((if negative { -value } else { value }, i))
}

/// Splits `body` into about `pieces` parts, each ending at a line break.
fn split_at_lines(body: &[u8], pieces: usize) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(pieces);
    let mut rest = body;
    let target = body.len() / pieces.max(1) + 1;
    while !rest.is_empty() {
        let cut = match rest
            .get(target..)
            .and_then(|tail| tail.iter().position(|&b| b == b'\n'))
        {
            Some(offset) => target + offset + 1,
            None => rest.len(),
        };
        let (part, tail) = rest.split_at(cut);
        parts.push(part);
        rest = tail;
    }
    parts
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

/// One record written by hand as a CSV row or a compact JSON object, byte for byte as the csv
/// crate and serde_json write the same fields (numbers in ryu's shortest form): a million rows
/// are formatted without a serializer call per field.
pub struct Record<'a> {
    buf: &'a mut Vec<u8>,
    json: bool,
    fields: usize,
}

impl<'a> Record<'a> {
    /// Starts a record in `buf`; `format` is Json or Csv.
    pub fn start(buf: &'a mut Vec<u8>, format: Format) -> Record<'a> {
        let json = format == Format::Json;
        if json {
            buf.push(b'{');
        }
        Record {
            buf,
            json,
            fields: 0,
        }
    }

    fn key(&mut self, name: &str) {
        if self.fields > 0 {
            self.buf.push(b',');
        }
        self.fields += 1;
        if self.json {
            self.buf.push(b'"');
            self.buf.extend_from_slice(name.as_bytes());
            self.buf.extend_from_slice(b"\":");
        }
    }

    pub fn text(&mut self, name: &str, value: &str) {
        self.key(name);
        let plain = |special: &dyn Fn(u8) -> bool| !value.bytes().any(special);
        if self.json {
            if plain(&|b| b < 0x20 || b == b'"' || b == b'\\') {
                self.buf.push(b'"');
                self.buf.extend_from_slice(value.as_bytes());
                self.buf.push(b'"');
            } else {
                serde_json::to_writer(&mut *self.buf, value).expect("writing to memory");
            }
        } else if plain(&|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
            self.buf.extend_from_slice(value.as_bytes());
        } else {
            self.buf.push(b'"');
            self.buf
                .extend_from_slice(value.replace('"', "\"\"").as_bytes());
            self.buf.push(b'"');
        }
    }

    /// A finite number, or nothing (JSON null, an empty CSV field).
    pub fn number(&mut self, name: &str, value: Option<f64>) {
        self.key(name);
        match value.filter(|v| v.is_finite()) {
            Some(v) => self
                .buf
                .extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes()),
            None if self.json => self.buf.extend_from_slice(b"null"),
            None => {}
        }
    }

    pub fn integer(&mut self, name: &str, value: usize) {
        self.key(name);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    pub fn boolean(&mut self, name: &str, value: bool) {
        self.key(name);
        self.buf
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    /// Small integers: a JSON array, or joined by `;` in one CSV field.
    pub fn integers(&mut self, name: &str, values: &[u8]) {
        self.key(name);
        if self.json {
            self.buf.push(b'[');
        }
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.buf.push(if self.json { b',' } else { b';' });
            }
            self.buf
                .extend_from_slice(itoa::Buffer::new().format(*v).as_bytes());
        }
        if self.json {
            self.buf.push(b']');
        }
    }

    pub fn end(self) {
        self.buf.push(if self.json { b'}' } else { b'\n' });
    }
}

/// Writes items `0..count` in order, each formatted by `item(i, buf)` (which may write
/// nothing), in blocks formatted on every core; memory stays bounded by one batch of blocks.
/// With a `separator`, `item` starts every record with it and the first one is dropped.
pub fn write_in_parallel(
    out: &mut dyn Write,
    count: usize,
    separator: Option<u8>,
    item: impl Fn(usize, &mut Vec<u8>) + Sync,
) -> io::Result<()> {
    use rayon::prelude::*;
    const BLOCK: usize = 16_384;
    let mut buffers = vec![Vec::new(); 4 * rayon::current_num_threads()];
    let mut pending_separator = separator.is_some();
    let mut start = 0;
    while start < count {
        buffers.par_iter_mut().enumerate().for_each(|(b, buf)| {
            buf.clear();
            let from = (start + b * BLOCK).min(count);
            let to = (from + BLOCK).min(count);
            (from..to).for_each(|i| item(i, buf));
        });
        for buf in &buffers {
            let skip = usize::from(pending_separator && !buf.is_empty());
            pending_separator &= buf.is_empty();
            out.write_all(&buf[skip..])?;
        }
        start += BLOCK * buffers.len();
    }
    Ok(())
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
    fn a_plain_field_reads_as_plain_decimal_with_the_fast_path_or_without() {
        let mut texts: Vec<String> = [
            "0",
            "7",
            "007",
            "12",
            "1234567",
            "12345678",
            "123456789",
            "-5",
            "+5",
            "3.25",
            "1.",
            ".5",
            "-0",
            "00000000",
            "999999999999999",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            texts.push((state % 10u64.pow((state >> 60) as u32 % 10)).to_string());
        }
        for text in &texts {
            let expected = plain_decimal(text.as_bytes()).unwrap();
            // Followed by each delimiter, with and without room for eight bytes.
            for tail in [",", "\n", "\r\n", ",1,2,3,4,5,6,7,8", "\n9,9,9,9,9,9"] {
                let line = format!("{text}{tail}");
                let (value, end) = plain_field(line.as_bytes(), 0).unwrap();
                assert_eq!(value.to_bits(), expected.to_bits(), "{line:?}");
                assert_eq!(end, text.len(), "{line:?}");
            }
        }
        for bad in ["", ",", "-", "a", "1234567890123456,"] {
            assert_eq!(plain_field(bad.as_bytes(), 0), None, "{bad:?}");
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
            "12345678901234567890123456789", // far past u64: refused, not overflowed
            "+",
            "-.",
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
