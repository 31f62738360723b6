//! Weekly syndromic counts for 50 regions × 5 syndromes, ISO weeks 2018-W01 to 2024-W52, written
//! as `surveillance/weekly.csv` with the columns `rounds surveil detect` reads (series, period,
//! count). Seven years, so that the last two have the five years of history Farrington's default
//! (b = 5) needs. Counts are negative binomial around a seasonal, slightly trending mean; planted
//! outbreaks add cases over a few weeks, peaking at a given multiple of the week's standard
//! deviation. Most outbreaks fall in the last two years (the evaluated ones); some fall in the
//! history, as real baselines hold past outbreaks.

use crate::rng::{self, Rng};
use crate::truth::Signal;
use crate::{Part, Sink, SynthError};
use chrono::{Datelike, Days, NaiveDate};
use rand::Rng as _;
use rand_distr::{Distribution, Gamma, Poisson, StandardNormal};
use std::path::Path;

pub const REGIONS: usize = 50;
/// Name, weekly cases per 100,000, seasonal amplitude, peak week.
pub const SYNDROMES: [(&str, f64, f64, f64); 5] = [
    ("ili", 6.0, 0.8, 5.0),
    ("gastrointestinal", 8.0, 0.35, 6.0),
    ("respiratory", 12.0, 0.5, 2.0),
    ("rash", 1.5, 0.2, 18.0),
    ("fever", 4.0, 0.25, 30.0),
];
pub const WEEKS: usize = 364;
/// The first week that has five years (and three weeks) of history: Farrington's default needs.
pub const FIRST_EVALUATED: usize = 52 * 5 + 3;
/// Negative binomial size (overdispersion) of the counts.
pub const SIZE: f64 = 15.0;
const OUTBREAKS_EVALUATED: usize = 60;
const OUTBREAKS_HISTORY: usize = 25;

pub fn first_monday() -> NaiveDate {
    NaiveDate::from_isoywd_opt(2018, 1, chrono::Weekday::Mon).expect("a valid ISO week")
}

/// The ISO week label of week `index`, e.g. 2023-W05.
pub fn period(index: usize) -> String {
    let week = (first_monday() + Days::new(7 * index as u64)).iso_week();
    format!("{:04}-W{:02}", week.year(), week.week())
}

pub fn series_name(region: usize, syndrome: usize) -> String {
    format!("region-{:02}/{}", region + 1, SYNDROMES[syndrome].0)
}

struct Outbreak {
    series: usize,
    start: usize,
    /// Expected extra cases per week.
    excess: Vec<f64>,
    peak_sd: f64,
}

fn mean(population: f64, syndrome: usize, trend: f64, t: usize) -> f64 {
    let (_, rate, amplitude, peak) = SYNDROMES[syndrome];
    let phase = 2.0 * std::f64::consts::PI * (t as f64 - peak) / 52.18;
    population / 1e5 * rate * (trend * t as f64 / 52.0).exp() * (1.0 + amplitude * phase.cos())
}

fn outbreak(rng: &mut Rng, series: usize, start: usize, mu: impl Fn(usize) -> f64) -> Outbreak {
    let weeks = rng.random_range(2..7);
    let peak_sd = rng.random_range(3.0..6.0);
    let excess = (0..weeks)
        .map(|j| {
            // A triangle peaking mid-way: an epidemic curve's rise and fall.
            let x = (j as f64 + 0.5) / weeks as f64;
            let shape = 1.0 - (2.0 * x - 1.0).abs() * 0.6;
            let m = mu(start + j);
            peak_sd * (m + m * m / SIZE).sqrt() * shape
        })
        .collect();
    Outbreak {
        series,
        start,
        excess,
        peak_sd,
    }
}

pub fn write(seed: u64, dir: &Path) -> Result<Part, SynthError> {
    let mut rng = rng::stream(seed, "surveillance", 0);
    let n = REGIONS * SYNDROMES.len();
    let populations: Vec<f64> = (0..REGIONS)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            300_000.0 * (0.8 * z).exp()
        })
        .collect();
    let trends: Vec<f64> = (0..n).map(|_| rng.random_range(-0.03..0.03)).collect();
    let mu = |s: usize, t: usize| {
        mean(
            populations[s / SYNDROMES.len()],
            s % SYNDROMES.len(),
            trends[s],
            t,
        )
    };

    // Series get at most one outbreak in the evaluated years and one in the history.
    let mut order: Vec<usize> = (0..n).collect();
    let mut outbreaks = Vec::new();
    for (count, low, high) in [
        (OUTBREAKS_EVALUATED, FIRST_EVALUATED + 2, WEEKS - 6),
        (OUTBREAKS_HISTORY, 60, FIRST_EVALUATED - 60),
    ] {
        for k in 0..count {
            let j = rng.random_range(k..n);
            order.swap(k, j);
            let s = order[k];
            let start = rng.random_range(low..high);
            outbreaks.push(outbreak(&mut rng, s, start, |t| mu(s, t)));
        }
    }
    outbreaks.sort_by_key(|o| (o.series, o.start));

    let mut csv = String::with_capacity(n * WEEKS * 28);
    csv.push_str("series,period,count\n");
    let periods: Vec<String> = (0..WEEKS).map(period).collect();
    for s in 0..n {
        let name = series_name(s / SYNDROMES.len(), s % SYNDROMES.len());
        let mut series_rng = rng::stream(seed, "surveillance-series", s as u64);
        for (t, label) in periods.iter().enumerate() {
            let m = mu(s, t);
            let lambda = Gamma::new(SIZE, m / SIZE)
                .expect("a positive mean")
                .sample(&mut series_rng);
            let mut count = poisson(&mut series_rng, lambda);
            for o in outbreaks.iter().filter(|o| o.series == s) {
                if t >= o.start && t < o.start + o.excess.len() {
                    count += poisson(&mut series_rng, o.excess[t - o.start]);
                }
            }
            csv.push_str(&format!("{name},{label},{count}\n"));
        }
    }
    let mut sink = Sink::create(dir.join("weekly.csv"))?;
    sink.write(csv.as_bytes())?;
    sink.finish()?;

    let mut part = Part::default();
    part.files
        .insert("surveillance/weekly.csv".to_string(), (n * WEEKS) as u64);
    for o in &outbreaks {
        let end = o.start + o.excess.len() - 1;
        part.signals.push(
            Signal::new(
                "outbreak",
                format!(
                    "An outbreak in {} from {} to {}, peaking at {:.1} standard deviations above the expected count.",
                    series_name(o.series / SYNDROMES.len(), o.series % SYNDROMES.len()),
                    periods[o.start],
                    periods[end],
                    o.peak_sd
                ),
            )
            .id("series", series_name(o.series / SYNDROMES.len(), o.series % SYNDROMES.len()))
            .parameter("start", periods[o.start].clone())
            .parameter("end", periods[end].clone())
            .parameter("weeks", o.excess.len())
            .parameter("peak_sd", (o.peak_sd * 100.0).round() / 100.0)
            .parameter(
                "expected_excess",
                o.excess.iter().map(|e| (e * 10.0).round() / 10.0).collect::<Vec<_>>(),
            )
            .parameter("evaluated", o.start >= FIRST_EVALUATED),
        );
    }
    Ok(part)
}

fn poisson(rng: &mut Rng, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean)
        .map(|d| d.sample(rng) as u64)
        .unwrap_or(0)
}
