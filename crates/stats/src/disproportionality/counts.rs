//! From (report, drug, event) occurrences to the 2×2 tables of every observed drug–event pair.
//! Ids are integers interned by the caller; counting buckets integer pairs by report, which keeps a
//! million-report database to a few hundred megabytes and well under a second.

use super::Table;
use crate::StatsError;
use rayon::prelude::*;

/// What a, b, c, d and N count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Margins {
    /// Reports: a report naming the drug and the event counts once; N is the number of reports.
    /// The usual unit of FAERS analyses.
    Reports,
    /// Drug–event pairs: each (report, drug, event) counts once in a, the margins and N, as in
    /// vigipy's contingency table.
    Pairs,
}

/// One observed drug–event pair and the number of reports (a) that name both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub drug: u32,
    pub event: u32,
    pub a: u64,
}

/// The observed pairs of a database with the margins of each drug and event and the total N.
#[derive(Debug, Clone, PartialEq)]
pub struct Contingency {
    pub margins: Margins,
    /// Sorted by drug, then event.
    pub cells: Vec<Cell>,
    pub drug_margins: Vec<u64>,
    pub event_margins: Vec<u64>,
    pub n: u64,
}

impl Contingency {
    pub fn table(&self, cell: &Cell) -> Table {
        let drug = self.drug_margins[cell.drug as usize];
        let event = self.event_margins[cell.event as usize];
        Table::from_margins(cell.a, drug, event, self.n)
            .expect("margins counted from the same occurrences")
    }
}

/// Counts the pairs of `occurrences` (report, drug, event), ids below `drugs` and `events`.
/// Repeated occurrences of the same triple count once.
pub fn count_cells(
    occurrences: &[(u32, u32, u32)],
    drugs: usize,
    events: usize,
    margins: Margins,
) -> Result<Contingency, StatsError> {
    if let Some(o) = occurrences
        .iter()
        .find(|o| o.1 as usize >= drugs || o.2 as usize >= events)
    {
        return Err(StatsError::invalid(
            "occurrences",
            format!("drug {} or event {} out of range", o.1, o.2),
        ));
    }
    // Bucket the (drug, event) pairs by report (a counting sort: linear, and input usually
    // arrives grouped by report already), then de-duplicate each report's short list.
    let reports = occurrences
        .iter()
        .map(|o| o.0 as usize + 1)
        .max()
        .unwrap_or(0);
    let mut start = vec![0usize; reports + 1];
    for o in occurrences {
        start[o.0 as usize + 1] += 1;
    }
    for r in 0..reports {
        start[r + 1] += start[r];
    }
    let mut fill = start.clone();
    let mut by_report = vec![0u64; occurrences.len()];
    for &(r, d, e) in occurrences {
        by_report[fill[r as usize]] = (d as u64) << 32 | e as u64;
        fill[r as usize] += 1;
    }
    drop(fill);

    let mut drug_margins = vec![0u64; drugs];
    let mut event_margins = vec![0u64; events];
    // In report units a drug or event counts once per report: remember the last report that
    // counted it.
    let mut drug_seen = vec![usize::MAX; drugs];
    let mut event_seen = vec![usize::MAX; events];
    let mut n = 0u64;
    let mut pair_counter = PairCounter::new(drugs, events, occurrences.len());
    for report in 0..reports {
        let pairs = &mut by_report[start[report]..start[report + 1]];
        if pairs.is_empty() {
            continue;
        }
        pairs.sort_unstable();
        let mut previous = None;
        if margins == Margins::Reports {
            n += 1;
        }
        for &key in pairs.iter() {
            if previous == Some(key) {
                continue;
            }
            previous = Some(key);
            let (drug, event) = ((key >> 32) as usize, (key & 0xffff_ffff) as usize);
            pair_counter.add(drug, event);
            match margins {
                Margins::Pairs => {
                    drug_margins[drug] += 1;
                    event_margins[event] += 1;
                    n += 1;
                }
                Margins::Reports => {
                    if drug_seen[drug] != report {
                        drug_seen[drug] = report;
                        drug_margins[drug] += 1;
                    }
                    if event_seen[event] != report {
                        event_seen[event] = report;
                        event_margins[event] += 1;
                    }
                }
            }
        }
    }
    drop(by_report);
    let cells = pair_counter.cells();
    Ok(Contingency {
        margins,
        cells,
        drug_margins,
        event_margins,
        n,
    })
}

/// Counts reports per (drug, event): a dense table when drugs × events is small enough (one
/// increment per occurrence, no sort), else a sort of packed keys (FAERS has ~10⁵ drug names).
enum PairCounter {
    Dense { events: usize, counts: Vec<u32> },
    Sparse(Vec<u64>),
}

impl PairCounter {
    /// 2²⁵ cells: a 128 MB table at most.
    const DENSE_LIMIT: usize = 1 << 25;

    fn new(drugs: usize, events: usize, occurrences: usize) -> PairCounter {
        match drugs.checked_mul(events) {
            Some(cells) if cells <= Self::DENSE_LIMIT => PairCounter::Dense {
                events,
                counts: vec![0; cells],
            },
            _ => PairCounter::Sparse(Vec::with_capacity(occurrences)),
        }
    }

    fn add(&mut self, drug: usize, event: usize) {
        match self {
            PairCounter::Dense { events, counts } => counts[drug * *events + event] += 1,
            PairCounter::Sparse(keys) => keys.push((drug as u64) << 32 | event as u64),
        }
    }

    /// The observed pairs, sorted by drug, then event.
    fn cells(self) -> Vec<Cell> {
        match self {
            PairCounter::Dense { events, counts } => counts
                .iter()
                .enumerate()
                .filter(|(_, a)| **a > 0)
                .map(|(i, &a)| Cell {
                    drug: (i / events) as u32,
                    event: (i % events) as u32,
                    a: a as u64,
                })
                .collect(),
            PairCounter::Sparse(mut keys) => {
                keys.par_sort_unstable();
                let mut cells: Vec<Cell> = Vec::new();
                for key in keys {
                    let (drug, event) = ((key >> 32) as u32, key as u32);
                    match cells.last_mut() {
                        Some(cell) if cell.drug == drug && cell.event == event => cell.a += 1,
                        _ => cells.push(Cell { drug, event, a: 1 }),
                    }
                }
                cells
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Report 0 names drugs 0 and 1 with events 0 and 1; report 1 names drug 0 with event 0;
    // report 2 names drug 1 with event 1, listed twice.
    const OCCURRENCES: [(u32, u32, u32); 7] = [
        (0, 0, 0),
        (0, 0, 1),
        (0, 1, 0),
        (0, 1, 1),
        (1, 0, 0),
        (2, 1, 1),
        (2, 1, 1),
    ];

    #[test]
    fn in_report_units_a_report_counts_once_in_each_margin() {
        let c = count_cells(&OCCURRENCES, 2, 2, Margins::Reports).unwrap();
        assert_eq!(c.n, 3);
        assert_eq!(c.drug_margins, vec![2, 2]);
        assert_eq!(c.event_margins, vec![2, 2]);
        let a: Vec<u64> = c.cells.iter().map(|cell| cell.a).collect();
        assert_eq!(a, vec![2, 1, 1, 2]);
        assert_eq!(
            c.table(&c.cells[0]),
            Table {
                a: 2.0,
                b: 0.0,
                c: 0.0,
                d: 1.0
            }
        );
    }

    #[test]
    fn in_pair_units_every_distinct_pair_on_a_report_counts() {
        let c = count_cells(&OCCURRENCES, 2, 2, Margins::Pairs).unwrap();
        assert_eq!(c.n, 6);
        assert_eq!(c.drug_margins, vec![3, 3]);
        assert_eq!(c.event_margins, vec![3, 3]);
        assert_eq!(
            c.table(&c.cells[3]),
            Table {
                a: 2.0,
                b: 1.0,
                c: 1.0,
                d: 2.0
            }
        );
    }

    #[test]
    fn the_dense_and_the_sorting_counters_agree() {
        let mut dense = PairCounter::new(3, 4, 0);
        let mut sparse = PairCounter::Sparse(Vec::new());
        for (d, e) in [(2, 3), (0, 1), (2, 3), (1, 0), (0, 1), (0, 1)] {
            dense.add(d, e);
            sparse.add(d, e);
        }
        let cells = dense.cells();
        assert_eq!(cells, sparse.cells());
        assert_eq!(
            cells,
            vec![
                Cell {
                    drug: 0,
                    event: 1,
                    a: 3
                },
                Cell {
                    drug: 1,
                    event: 0,
                    a: 1
                },
                Cell {
                    drug: 2,
                    event: 3,
                    a: 2
                }
            ]
        );
    }

    #[test]
    fn an_id_beyond_the_declared_range_is_refused() {
        assert!(count_cells(&[(0, 2, 0)], 2, 2, Margins::Reports).is_err());
    }
}
