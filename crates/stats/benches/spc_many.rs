//! Times 1,000 control charts of 36 monthly points each — one per unit × measure, as a
//! dashboard recomputes them — with centre lines, limits and the Anhøj rules. Inputs are made
//! before the clock starts; the median of 30 repetitions is reported.
//! Run: `cargo bench -p rounds-stats --bench spc_many`.

use stats::spc::{Chart, Options, Rows, qic};
use std::hint::black_box;
use std::time::Instant;

struct Series {
    chart: Chart,
    x: Vec<u32>,
    y: Vec<Option<f64>>,
    n: Option<Vec<Option<f64>>>,
}

/// 100 units × 10 measures, cycling through the chart types a quality dashboard uses.
fn dashboard() -> Vec<Series> {
    let charts = [
        Chart::P,
        Chart::U,
        Chart::I,
        Chart::C,
        Chart::Run,
        Chart::PPrime,
        Chart::UPrime,
        Chart::G,
        Chart::T,
        Chart::Mr,
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..1000)
        .map(|i| {
            let chart = charts[i % charts.len()];
            let x: Vec<u32> = (1..=36).collect();
            let n: Vec<Option<f64>> = (0..36)
                .map(|_| Some(200.0 + (800.0 * uniform()).floor()))
                .collect();
            let y = n
                .iter()
                .map(|n| {
                    let n = n.unwrap_or(1.0);
                    Some(match chart {
                        Chart::P | Chart::PPrime => (n * (0.05 + 0.05 * uniform())).floor(),
                        Chart::U | Chart::UPrime | Chart::C | Chart::G => {
                            (30.0 * uniform()).floor()
                        }
                        Chart::T => 1.0 + 20.0 * uniform(),
                        _ => 100.0 + 10.0 * uniform(),
                    })
                })
                .collect();
            Series {
                chart,
                x,
                y,
                n: chart.needs_denominator().then_some(n),
            }
        })
        .collect()
}

fn main() {
    let series = dashboard();
    let options = Options::default();
    let mut times = Vec::new();
    for _ in 0..30 {
        let start = Instant::now();
        for s in &series {
            let rows = Rows {
                x: &s.x,
                y: &s.y,
                n: s.n.as_deref(),
            };
            black_box(qic(s.chart, rows, &options).expect("dashboard series are valid"));
        }
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "1,000 charts x 36 points: median {:.2} ms, best {:.2} ms over {} runs (goal < 50 ms)",
        times[times.len() / 2],
        times[0],
        times.len()
    );
}
