//! Reports as (report, drug, event) occurrences over interned names: the form every
//! spontaneous-report source is reduced to before counting, so millions of rows cost three
//! integers each rather than three strings.

use rustc_hash::FxHashMap;

/// Names to dense u32 ids, in order of first appearance.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub fn id(&mut self, name: &str) -> u32 {
        self.id_keyed(name, name)
    }

    /// The id of `key`, remembering `display` as the name if the key is new: for names that
    /// compare case-insensitively but should be shown as first written (MedDRA terms).
    pub fn id_keyed(&mut self, key: &str, display: &str) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(key.into(), id);
        self.names.push(display.into());
        id
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// The drug–event occurrences of a report database.
#[derive(Debug, Default, Clone)]
pub struct ReportPairs {
    pub reports: Interner,
    pub drugs: Interner,
    pub events: Interner,
    /// (report, drug, event) ids; a triple may repeat (counting treats it once).
    pub occurrences: Vec<(u32, u32, u32)>,
}

impl ReportPairs {
    pub fn add(&mut self, report: &str, drug: &str, event: &str) {
        let triple = (
            self.reports.id(report),
            self.drugs.id(drug),
            self.events.id(event),
        );
        self.occurrences.push(triple);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_keeps_the_id_it_was_first_given() {
        let mut pairs = ReportPairs::default();
        pairs.add("R1", "ASPIRIN", "Nausea");
        pairs.add("R2", "IBUPROFEN", "Nausea");
        pairs.add("R1", "ASPIRIN", "Rash");
        assert_eq!(pairs.occurrences, vec![(0, 0, 0), (1, 1, 0), (0, 0, 1)]);
        assert_eq!(
            (pairs.drugs.name(1), pairs.events.get("Rash")),
            ("IBUPROFEN", Some(1))
        );
    }
}
