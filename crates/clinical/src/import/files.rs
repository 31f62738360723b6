//! Opening input files: plain or gzip (by the `.gz` suffix), buffered, and read line by line
//! with the line number, so a reader can say where a problem is. A gzip file cut short is an
//! error at the line where it ends.

use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

pub type Input = Box<dyn BufRead + Send>;

pub fn is_gzip(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// The file's name without `.gz`, lower-cased, to tell its format by.
pub fn plain_name(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    name.strip_suffix(".gz").map(str::to_string).unwrap_or(name)
}

pub fn open(path: &Path) -> std::io::Result<Input> {
    let file = File::open(path)?;
    Ok(if is_gzip(path) {
        Box::new(BufReader::with_capacity(
            1 << 18,
            MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 18, file))
    })
}

/// Reads a whole (possibly gzip) file.
pub fn read_all(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// How a read error reads in a problem report.
pub fn describe(e: &std::io::Error, gzip: bool) -> String {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof if gzip => {
            "the gzip file is cut short (unexpected end of file)".to_string()
        }
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData if gzip => {
            format!("the gzip data is corrupt ({e})")
        }
        _ => format!("cannot read: {e}"),
    }
}

/// Lines of a file with their numbers (from 1), line endings removed.
pub struct Lines {
    input: Input,
    pub line: u64,
    pub buf: Vec<u8>,
}

impl Lines {
    pub fn new(input: Input) -> Lines {
        Lines {
            input,
            line: 0,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Reads the next line into `buf`; `Ok(false)` at the end.
    pub fn advance(&mut self) -> std::io::Result<bool> {
        self.buf.clear();
        let n = self.input.read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        Ok(true)
    }
}
