//! What an import must remember of every record it reads, within a memory budget: the ranks
//! encounters give their diagnoses and the encounters read (`KeyTable`, key to a small
//! number), what claims say about encounters (`KeyLog`, key to bytes) and what waits for the end
//! of a scan (`Queue`). Within the budget each is held in memory; past it, entries move to an
//! unnamed temporary file, read and written in place, so that the operating system's page cache
//! rather than the process holds what is in use. Keys are already hashes (`records::key`), so
//! they place themselves. `Encoder` and `Decoder` turn the records kept as bytes into bytes and
//! back.

use crate::records::KeyMap;
use std::fs::File;
use std::io;

/// What an import reports when its temporary file fails (the import is refused).
pub fn failure(e: &io::Error) -> String {
    format!("the import's temporary file failed ({e}); nothing was written")
}

/// A slot of the file's table: key (16 bytes), value (8), and 8 bytes that are 1 when used.
const SLOT: u64 = 32;

pub struct KeyTable {
    memory: KeyMap<u64>,
    budget: usize,
    disk: Option<DiskTable>,
}

impl KeyTable {
    /// A table that keeps up to `budget` entries in memory.
    pub fn new(budget: usize) -> KeyTable {
        KeyTable {
            memory: KeyMap::default(),
            budget: budget.max(1),
            disk: None,
        }
    }

    /// Sets `key` to `value` (a later value replaces an earlier one).
    pub fn insert(&mut self, key: u128, value: u64) -> io::Result<()> {
        self.memory.insert(key, value);
        if self.memory.len() >= self.budget {
            let disk = match &mut self.disk {
                Some(disk) => disk,
                None => self.disk.insert(DiskTable::new(self.budget as u64 * 4)?),
            };
            for (k, v) in self.memory.drain() {
                disk.put(k, v)?;
            }
            self.memory.shrink_to(self.budget);
        }
        Ok(())
    }

    pub fn get(&self, key: u128) -> io::Result<Option<u64>> {
        if let Some(v) = self.memory.get(&key) {
            return Ok(Some(*v));
        }
        match &self.disk {
            Some(disk) => disk.get(key),
            None => Ok(None),
        }
    }

    /// Whether the entries went to a file.
    pub fn spilled(&self) -> bool {
        self.disk.is_some()
    }
}

impl Default for KeyTable {
    fn default() -> Self {
        KeyTable::new(usize::MAX)
    }
}

/// Linear probing, at most half full.
struct DiskTable {
    file: File,
    /// Slots, a power of two.
    capacity: u64,
    len: u64,
}

impl DiskTable {
    fn new(capacity: u64) -> io::Result<DiskTable> {
        let capacity = capacity.max(16).next_power_of_two();
        let file = tempfile::tempfile()?;
        file.set_len(capacity * SLOT)?;
        Ok(DiskTable {
            file,
            capacity,
            len: 0,
        })
    }

    /// The slot `key` is in, or the empty one where it would go, with what is there.
    fn find(&self, key: u128) -> io::Result<(u64, Option<u64>)> {
        let mask = self.capacity - 1;
        let mut slot = (key as u64) & mask;
        let mut buf = [0u8; SLOT as usize];
        loop {
            read_at(&self.file, &mut buf, slot * SLOT)?;
            if buf[24] == 0 {
                return Ok((slot, None));
            }
            if u128::from_le_bytes(buf[..16].try_into().expect("16 bytes")) == key {
                let value = u64::from_le_bytes(buf[16..24].try_into().expect("8 bytes"));
                return Ok((slot, Some(value)));
            }
            slot = (slot + 1) & mask;
        }
    }

    fn get(&self, key: u128) -> io::Result<Option<u64>> {
        Ok(self.find(key)?.1)
    }

    fn put(&mut self, key: u128, value: u64) -> io::Result<()> {
        if (self.len + 1) * 2 > self.capacity {
            self.grow()?;
        }
        let (slot, found) = self.find(key)?;
        write_at(&self.file, &slot_bytes(key, value), slot * SLOT)?;
        if found.is_none() {
            self.len += 1;
        }
        Ok(())
    }

    /// Moves every entry into a file of twice the slots, reading this one in large blocks.
    fn grow(&mut self) -> io::Result<()> {
        let mut bigger = DiskTable::new(self.capacity * 2)?;
        const BLOCK: u64 = 4096;
        let mut buf = vec![0u8; (BLOCK * SLOT) as usize];
        let mut start = 0;
        while start < self.capacity {
            let slots = BLOCK.min(self.capacity - start);
            let bytes = &mut buf[..(slots * SLOT) as usize];
            read_at(&self.file, bytes, start * SLOT)?;
            for slot in bytes.chunks_exact(SLOT as usize) {
                if slot[24] != 0 {
                    let key = u128::from_le_bytes(slot[..16].try_into().expect("16 bytes"));
                    let value = u64::from_le_bytes(slot[16..24].try_into().expect("8 bytes"));
                    bigger.put(key, value)?;
                }
            }
            start += slots;
        }
        *self = bigger;
        Ok(())
    }
}

fn slot_bytes(key: u128, value: u64) -> [u8; SLOT as usize] {
    let mut out = [0u8; SLOT as usize];
    out[..16].copy_from_slice(&key.to_le_bytes());
    out[16..24].copy_from_slice(&value.to_le_bytes());
    out[24] = 1;
    out
}

/// Bytes of a `KeyLog` or `Queue` per record of the budget they are given.
const BYTES_PER_RECORD: usize = 64;

/// Bytes appended one after another: in memory up to a budget, then in a temporary file, with
/// what was appended since the last write kept in memory until it fills the budget again.
struct Log {
    file: Option<File>,
    /// The bytes from `written` on.
    tail: Vec<u8>,
    written: u64,
    budget: usize,
}

impl Log {
    fn new(records: usize) -> Log {
        Log {
            file: None,
            tail: Vec::new(),
            written: 0,
            budget: records.saturating_mul(BYTES_PER_RECORD),
        }
    }

    fn len(&self) -> u64 {
        self.written + self.tail.len() as u64
    }

    /// Appends `parts` one after another; returns where the first begins.
    fn append(&mut self, parts: &[&[u8]]) -> io::Result<u64> {
        let at = self.len();
        for part in parts {
            self.tail.extend_from_slice(part);
        }
        if self.tail.len() > self.budget {
            let file = match &mut self.file {
                Some(file) => file,
                None => self.file.insert(tempfile::tempfile()?),
            };
            write_at(file, &self.tail, self.written)?;
            self.written += self.tail.len() as u64;
            self.tail.clear();
        }
        Ok(at)
    }

    /// Fills `buf` with the bytes from `offset` on.
    fn read(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut filled = 0;
        if offset < self.written {
            let n = buf.len().min((self.written - offset) as usize);
            let file = self.file.as_ref().ok_or_else(past_the_end)?;
            read_at(file, &mut buf[..n], offset)?;
            filled = n;
        }
        if filled < buf.len() {
            let start = usize::try_from(offset + filled as u64 - self.written)
                .map_err(|_| past_the_end())?;
            let end = start + (buf.len() - filled);
            let bytes = self.tail.get(start..end).ok_or_else(past_the_end)?;
            buf[filled..].copy_from_slice(bytes);
        }
        Ok(())
    }

    /// Reads the log from the start in large blocks.
    fn cursor(&self) -> Cursor<'_> {
        Cursor {
            log: self,
            at: 0,
            block: Vec::new(),
            block_at: 0,
        }
    }
}

fn past_the_end() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "read past the end of a temporary log",
    )
}

struct Cursor<'a> {
    log: &'a Log,
    at: u64,
    block: Vec<u8>,
    block_at: u64,
}

impl Cursor<'_> {
    const BLOCK: u64 = 1 << 16;

    fn done(&self) -> bool {
        self.at >= self.log.len()
    }

    /// The next `n` bytes.
    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        let end = self.at + n as u64;
        if end > self.log.len() {
            return Err(past_the_end());
        }
        if self.at < self.block_at || end > self.block_at + self.block.len() as u64 {
            let len = (n as u64).max(Self::BLOCK).min(self.log.len() - self.at);
            self.block.resize(len as usize, 0);
            self.log.read(self.at, &mut self.block)?;
            self.block_at = self.at;
        }
        let start = (self.at - self.block_at) as usize;
        self.at = end;
        Ok(&self.block[start..start + n])
    }

    fn take_u32(&mut self) -> io::Result<usize> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")) as usize)
    }

    fn take_key(&mut self) -> io::Result<u128> {
        let bytes = self.take(16)?;
        Ok(u128::from_le_bytes(bytes.try_into().expect("16 bytes")))
    }
}

fn length(value: &[u8]) -> io::Result<[u8; 4]> {
    u32::try_from(value.len())
        .map(u32::to_le_bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a value of 4 GiB or more"))
}

/// A map from record keys to bytes within a memory budget: the values are appended to a `Log`
/// (a later value for a key is appended too, and replaces the earlier one), the place of each
/// key's latest value is kept in a `KeyTable`.
pub struct KeyLog {
    places: KeyTable,
    log: Log,
}

impl KeyLog {
    /// A map that keeps up to about `records` small entries in memory.
    pub fn new(records: usize) -> KeyLog {
        KeyLog {
            places: KeyTable::new(records),
            log: Log::new(records),
        }
    }

    pub fn insert(&mut self, key: u128, value: &[u8]) -> io::Result<()> {
        let at = self
            .log
            .append(&[&key.to_le_bytes(), &length(value)?, value])?;
        self.places.insert(key, at)
    }

    pub fn get(&self, key: u128) -> io::Result<Option<Vec<u8>>> {
        let Some(at) = self.places.get(key)? else {
            return Ok(None);
        };
        let mut head = [0u8; 20];
        self.log.read(at, &mut head)?;
        let len = u32::from_le_bytes(head[16..].try_into().expect("4 bytes")) as usize;
        let mut value = vec![0; len];
        self.log.read(at + 20, &mut value)?;
        Ok(Some(value))
    }

    /// Calls `f` with every key and its latest value, in the order the values were set.
    pub fn for_each(&self, mut f: impl FnMut(u128, &[u8]) -> io::Result<()>) -> io::Result<()> {
        let mut cursor = self.log.cursor();
        while !cursor.done() {
            let at = cursor.at;
            let key = cursor.take_key()?;
            let len = cursor.take_u32()?;
            let value = cursor.take(len)?;
            if self.places.get(key)? == Some(at) {
                f(key, value)?;
            }
        }
        Ok(())
    }

    /// Whether the values went to a file.
    pub fn spilled(&self) -> bool {
        self.log.file.is_some()
    }
}

impl Default for KeyLog {
    fn default() -> Self {
        KeyLog::new(usize::MAX)
    }
}

/// Byte records kept in the order they came, within a memory budget.
pub struct Queue {
    log: Log,
    len: u64,
}

impl Queue {
    /// A queue that keeps up to about `records` small records in memory.
    pub fn new(records: usize) -> Queue {
        Queue {
            log: Log::new(records),
            len: 0,
        }
    }

    pub fn push(&mut self, record: &[u8]) -> io::Result<()> {
        self.log.append(&[&length(record)?, record])?;
        self.len += 1;
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Calls `f` with every record, in the order they were pushed.
    pub fn for_each(&self, mut f: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        let mut records = self.records();
        while let Some(record) = records.next_record()? {
            f(record)?;
        }
        Ok(())
    }

    /// The records, in the order they were pushed, one at a time.
    pub fn records(&self) -> Records<'_> {
        Records(self.log.cursor())
    }
}

impl Default for Queue {
    fn default() -> Self {
        Queue::new(usize::MAX)
    }
}

/// Reads a `Queue`'s records one after another.
pub struct Records<'a>(Cursor<'a>);

impl Records<'_> {
    pub fn next_record(&mut self) -> io::Result<Option<&[u8]>> {
        if self.0.done() {
            return Ok(None);
        }
        let len = self.0.take_u32()?;
        self.0.take(len).map(Some)
    }

    /// The next records `keep` makes something of, up to `n` of them; empty at the end.
    pub fn next_chunk<T>(
        &mut self,
        n: usize,
        mut keep: impl FnMut(&[u8]) -> io::Result<Option<T>>,
    ) -> io::Result<Vec<T>> {
        let mut chunk = Vec::new();
        while chunk.len() < n {
            let Some(record) = self.next_record()? else {
                break;
            };
            chunk.extend(keep(record)?);
        }
        Ok(chunk)
    }
}

/// Writes the fields of a record kept as bytes; `Decoder` reads them back in the same order.
#[derive(Default)]
pub struct Encoder(Vec<u8>);

impl Encoder {
    pub fn key(&mut self, key: u128) -> &mut Encoder {
        self.0.extend_from_slice(&key.to_le_bytes());
        self
    }

    pub fn count(&mut self, n: usize) -> &mut Encoder {
        self.0.extend_from_slice(&(n as u64).to_le_bytes());
        self
    }

    pub fn text(&mut self, text: Option<&str>) -> &mut Encoder {
        match text {
            None => self.0.push(0),
            Some(t) => {
                self.0.push(1);
                self.count(t.len());
                self.0.extend_from_slice(t.as_bytes());
            }
        }
        self
    }

    pub fn number(&mut self, n: Option<i64>) -> &mut Encoder {
        match n {
            None => self.0.push(0),
            Some(n) => {
                self.0.push(1);
                self.0.extend_from_slice(&n.to_le_bytes());
            }
        }
        self
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Reads what an `Encoder` wrote.
pub struct Decoder<'a>(&'a [u8]);

impl<'a> Decoder<'a> {
    pub fn new(bytes: &'a [u8]) -> Decoder<'a> {
        Decoder(bytes)
    }

    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if n > self.0.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a record in a temporary log is cut short",
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    pub fn key(&mut self) -> io::Result<u128> {
        Ok(u128::from_le_bytes(
            self.take(16)?.try_into().expect("16 bytes"),
        ))
    }

    pub fn count(&mut self) -> io::Result<usize> {
        let n = u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes"));
        usize::try_from(n)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a count too large"))
    }

    fn present(&mut self) -> io::Result<bool> {
        Ok(self.take(1)?[0] != 0)
    }

    pub fn text(&mut self) -> io::Result<Option<String>> {
        if !self.present()? {
            return Ok(None);
        }
        let len = self.count()?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    pub fn number(&mut self) -> io::Result<Option<i64>> {
        if !self.present()? {
            return Ok(None);
        }
        Ok(Some(i64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        )))
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(unix)]
fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = file.seek_read(buf, offset)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        offset += n as u64;
    }
    Ok(())
}

#[cfg(windows)]
fn write_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = file.seek_write(buf, offset)?;
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Kind, key};

    #[test]
    fn past_its_budget_it_answers_as_a_map_would() {
        let mut table = KeyTable::new(100);
        let mut map = std::collections::HashMap::new();
        // Enough entries to spill and grow the file several times; every seventh key is set
        // twice, so later values must win wherever the first one went.
        for i in 0..5_000u64 {
            let k = key(Kind::Condition, &format!("c-{i}"));
            table.insert(k, i).unwrap();
            map.insert(k, i);
            if i % 7 == 0 {
                let again = key(Kind::Condition, &format!("c-{}", i / 2));
                table.insert(again, i + 1_000_000).unwrap();
                map.insert(again, i + 1_000_000);
            }
        }
        assert!(table.spilled());
        for i in 0..6_000u64 {
            let k = key(Kind::Condition, &format!("c-{i}"));
            assert_eq!(table.get(k).unwrap(), map.get(&k).copied(), "c-{i}");
        }
    }

    #[test]
    fn keys_that_collide_in_the_table_stay_apart() {
        let mut table = KeyTable::new(1);
        // Same low bits (the slot), different keys.
        for i in 0..50u128 {
            table.insert((i << 64) | 5, i as u64).unwrap();
        }
        for i in 0..50u128 {
            assert_eq!(table.get((i << 64) | 5).unwrap(), Some(i as u64));
        }
        assert_eq!(table.get((99 << 64) | 5).unwrap(), None);
    }

    #[test]
    fn a_key_log_past_its_budget_answers_as_a_map_would() {
        let mut log = KeyLog::new(10);
        let mut map = std::collections::HashMap::new();
        // A thousand keys set three times each, with values of 0 to 4 repeats (some empty).
        for i in 0..3_000u64 {
            let k = key(Kind::Encounter, &format!("e-{}", i % 1_000));
            let value = format!("value {i};").repeat((i % 5) as usize).into_bytes();
            log.insert(k, &value).unwrap();
            map.insert(k, value);
        }
        assert!(log.spilled());
        for i in 0..1_100u64 {
            let k = key(Kind::Encounter, &format!("e-{i}"));
            assert_eq!(log.get(k).unwrap(), map.get(&k).cloned(), "e-{i}");
        }
        let mut latest = std::collections::HashMap::new();
        log.for_each(|k, value| {
            assert!(
                latest.insert(k, value.to_vec()).is_none(),
                "a key given twice"
            );
            Ok(())
        })
        .unwrap();
        assert_eq!(latest, map);
    }

    #[test]
    fn a_queue_past_its_budget_gives_its_records_back_in_order() {
        let mut queue = Queue::new(2);
        let records: Vec<Vec<u8>> = (0..500).map(|i| "x".repeat(i % 300).into_bytes()).collect();
        for r in &records {
            queue.push(r).unwrap();
        }
        assert_eq!(queue.len(), 500);
        let mut back = Vec::new();
        queue
            .for_each(|r| {
                back.push(r.to_vec());
                Ok(())
            })
            .unwrap();
        assert_eq!(back, records);
    }

    #[test]
    fn a_decoder_reads_what_an_encoder_wrote_and_refuses_less() {
        let mut e = Encoder::default();
        e.key(7 << 100)
            .text(Some("Blue Cross"))
            .text(None)
            .text(Some(""))
            .number(Some(-12))
            .number(None)
            .count(3);
        let mut d = Decoder::new(e.bytes());
        assert_eq!(d.key().unwrap(), 7 << 100);
        assert_eq!(d.text().unwrap().as_deref(), Some("Blue Cross"));
        assert_eq!(d.text().unwrap(), None);
        assert_eq!(d.text().unwrap().as_deref(), Some(""));
        assert_eq!(d.number().unwrap(), Some(-12));
        assert_eq!(d.number().unwrap(), None);
        assert_eq!(d.count().unwrap(), 3);
        let cut = &e.bytes()[..20];
        let mut d = Decoder::new(cut);
        d.key().unwrap();
        assert_eq!(d.text().unwrap_err().kind(), io::ErrorKind::InvalidData);
    }
}
