//! Reports as (report, drug, event) occurrences over interned names: the form every
//! spontaneous-report source is reduced to before counting, so millions of rows cost three
//! integers each rather than three strings.

use rustc_hash::FxHashMap;

/// Names to dense u32 ids, in order of first appearance. The names shown live in one arena, so
/// a new name costs one allocation (its key), not two.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    arena: String,
    /// End of each id's name in `arena`.
    ends: Vec<usize>,
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
        let id = self.ends.len() as u32;
        self.ids.insert(key.into(), id);
        self.arena.push_str(display);
        self.ends.push(self.arena.len());
        id
    }

    /// Maps every id of `other` to this interner's id for the same key, adding the new ones.
    fn absorb(&mut self, other: &Interner) -> Vec<u32> {
        let mut map = vec![0u32; other.len()];
        for (key, &id) in &other.ids {
            map[id as usize] = self.id_keyed(key, other.name(id));
        }
        map
    }

    /// Renumbers the ids so that they follow the names' order; returns the new id of each old one.
    fn renumber_by_name(&mut self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        order.sort_by(|&a, &b| self.name(a).cmp(self.name(b)));
        let mut new_id = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_id[old as usize] = new as u32;
        }
        let mut arena = String::with_capacity(self.arena.len());
        let mut ends = Vec::with_capacity(self.ends.len());
        for &old in &order {
            arena.push_str(self.name(old));
            ends.push(arena.len());
        }
        (self.arena, self.ends) = (arena, ends);
        for id in self.ids.values_mut() {
            *id = new_id[*id as usize];
        }
        new_id
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: u32) -> &str {
        let id = id as usize;
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        &self.arena[start..self.ends[id]]
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
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
    /// Rows usually come grouped by report and drug: the last ids skip a hash look-up.
    last_report: Last,
    last_drug: Last,
}

impl ReportPairs {
    pub fn add(&mut self, report: &str, drug: &str, event: &str) {
        let report = cached(&mut self.last_report, &mut self.reports, report);
        let drug = cached(&mut self.last_drug, &mut self.drugs, drug);
        let event = self.events.id(event);
        self.occurrences.push((report, drug, event));
    }
}

impl ReportPairs {
    /// Appends the occurrences of `other` (read, say, from another part of the same file),
    /// mapping its ids to this set's.
    pub fn append(&mut self, other: ReportPairs) {
        let reports = self.reports.absorb(&other.reports);
        let drugs = self.drugs.absorb(&other.drugs);
        let events = self.events.absorb(&other.events);
        self.occurrences.extend(
            other
                .occurrences
                .iter()
                .map(|&(r, d, e)| (reports[r as usize], drugs[d as usize], events[e as usize])),
        );
        self.last_report = Last::default();
        self.last_drug = Last::default();
    }

    /// Renumbers drugs and events in the order of their names, so that pairs counted from the
    /// occurrences come out sorted by drug name, then event name, without sorting the results.
    pub fn order_by_name(&mut self) {
        let drug = self.drugs.renumber_by_name();
        let event = self.events.renumber_by_name();
        for o in &mut self.occurrences {
            o.1 = drug[o.1 as usize];
            o.2 = event[o.2 as usize];
        }
        self.last_drug = Last::default();
    }
}

/// The last name looked up and its id (none while `id` is None); the buffer is reused.
#[derive(Debug, Default, Clone)]
struct Last {
    name: String,
    id: Option<u32>,
}

fn cached(last: &mut Last, names: &mut Interner, name: &str) -> u32 {
    match last.id {
        Some(id) if last.name == name => id,
        _ => {
            let id = names.id(name);
            last.name.clear();
            last.name.push_str(name);
            last.id = Some(id);
            id
        }
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

    #[test]
    fn ordering_by_name_renumbers_drugs_and_events_alphabetically() {
        let mut pairs = ReportPairs::default();
        pairs.add("R1", "ZOLPIDEM", "Somnambulism");
        pairs.add("R1", "ASPIRIN", "Fall");
        pairs.order_by_name();
        assert_eq!(
            (pairs.drugs.name(0), pairs.events.name(0)),
            ("ASPIRIN", "Fall")
        );
        assert_eq!(pairs.occurrences, vec![(0, 1, 1), (0, 0, 0)]);
        assert_eq!(pairs.drugs.get("ZOLPIDEM"), Some(1));
        pairs.add("R2", "ZOLPIDEM", "Fall");
        assert_eq!(pairs.occurrences[2], (1, 1, 0));
    }

    #[test]
    fn appending_maps_the_other_sets_names_onto_this_ones_ids() {
        let mut first = ReportPairs::default();
        first.add("R1", "ASPIRIN", "Fall");
        let mut second = ReportPairs::default();
        second.add("R2", "ZOLPIDEM", "Fall");
        second.add("R1", "ASPIRIN", "Rash");
        first.append(second);
        assert_eq!(first.occurrences, vec![(0, 0, 0), (1, 1, 0), (0, 0, 1)]);
        assert_eq!(
            (first.reports.len(), first.drugs.len(), first.events.len()),
            (2, 2, 2)
        );
    }
}
