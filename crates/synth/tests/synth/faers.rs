//! The FAERS extract through the platform's reader (pharma::faers) and screen
//! (stats::disproportionality): how many planted pairs each method flags, and how many others.

use crate::common::generated;
use pharma::faers::{FaersOptions, load_dir};
use stats::disproportionality::{Margins, ScreenOptions, count_cells, screen};
use std::collections::BTreeSet;

#[test]
fn every_method_flags_most_planted_pairs_and_mgps_few_others() {
    let g = generated();
    let mut faers = load_dir(&g.dir.join("faers"), FaersOptions::default()).unwrap();
    let summary = &faers.summary;
    assert_eq!(summary.quarters.len(), 8);
    assert_eq!(summary.cases, 20_000);
    assert!(summary.superseded_versions > 1_000, "{summary:?}");
    assert!(
        summary.deleted_cases > 100 && summary.latin1_lines > 0,
        "{summary:?}"
    );
    assert_eq!(summary.reports, summary.cases - summary.deleted_cases);

    let planted: BTreeSet<(String, String)> = g
        .truth
        .of_kind("drug-event")
        .map(|s| {
            (
                s.ids["drug"].as_str().unwrap().to_string(),
                s.ids["event"].as_str().unwrap().to_uppercase(),
            )
        })
        .collect();
    assert_eq!(planted.len(), 30);
    let pairs = &mut faers.pairs;
    pairs.order_by_name();
    let cells = count_cells(
        &pairs.occurrences,
        pairs.drugs.len(),
        pairs.events.len(),
        Margins::Reports,
    )
    .unwrap();
    let result = screen(&cells, &ScreenOptions::default()).unwrap();
    let mut flagged = [[0usize; 2]; 4];
    let mut seen = 0;
    for p in &result.pairs {
        let key = (
            pairs.drugs.name(p.drug).to_string(),
            pairs.events.name(p.event).to_uppercase(),
        );
        let is_planted = planted.contains(&key);
        seen += is_planted as usize;
        for (m, flag) in [p.signal_prr, p.signal_ror, p.signal_ic, p.signal_ebgm]
            .into_iter()
            .enumerate()
        {
            flagged[m][!is_planted as usize] += flag as usize;
        }
    }
    let others = result.pairs.len() - seen;
    println!(
        "{} reports, {} pairs ({} planted); prior {:?}",
        summary.reports,
        result.pairs.len(),
        seen,
        result.prior
    );
    println!(
        "{:<12} {:>16} {:>18}",
        "method", "planted flagged", "others flagged"
    );
    for (m, name) in ["PRR (Evans)", "ROR025 > 1", "IC025 > 0", "EB05 >= 2"]
        .iter()
        .enumerate()
    {
        println!(
            "{name:<12} {:>9}/{} {:>4.0}% {:>9}/{} {:>5.2}%",
            flagged[m][0],
            seen,
            100.0 * flagged[m][0] as f64 / seen as f64,
            flagged[m][1],
            others,
            100.0 * flagged[m][1] as f64 / others as f64
        );
    }
    assert_eq!(seen, 30, "every planted pair is reported");
    // EB05 >= 2: at least 90% of the planted pairs, and hardly anything else.
    assert!(
        flagged[3][0] >= 27,
        "EB05 flags {} planted pairs",
        flagged[3][0]
    );
    assert!(
        flagged[3][1] <= 5,
        "EB05 flags {} unplanted pairs",
        flagged[3][1]
    );
    // The frequentist criteria find the planted pairs too, at the price of more noise.
    for m in 0..3 {
        assert!(
            flagged[m][0] >= 28,
            "method {m} flags {} planted pairs",
            flagged[m][0]
        );
        assert!(
            flagged[m][1] >= flagged[3][1],
            "method {m} flags fewer others than EB05"
        );
        assert!(
            (flagged[m][1] as f64) < 0.05 * others as f64,
            "method {m} flags {} others",
            flagged[m][1]
        );
    }
}
