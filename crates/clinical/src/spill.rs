//! A map from record keys to small numbers that stays within a memory budget, for what an
//! import must remember of every record it reads (the ranks encounters give their diagnoses,
//! the encounters read). Within the budget it is a hash map; past it, its entries move to an
//! open-addressing hash table in an unnamed temporary file, read and written in place, so that
//! the operating system's page cache rather than the process holds what is in use. Keys are
//! already hashes (`records::key`), so they place themselves.

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
}
