//! Optional Shewhart zone rule sets, for teams that use them instead of (or beside) the Anhøj
//! rules: the Western Electric rules (Western Electric Statistical Quality Control Handbook,
//! 1956) and Nelson's eight rules (Nelson 1984, J Qual Technol 16:237). Each rule is flagged on
//! the point that completes its pattern; patterns do not cross phases or excluded points.

use super::{Chart, ControlChart, Point};
use crate::StatsError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSet {
    /// 1: one point beyond 3σ; 2: two of three beyond 2σ on one side; 3: four of five beyond
    /// 1σ on one side; 4: eight in a row on one side.
    WesternElectric,
    /// 1: one point beyond 3σ; 2: nine in a row on one side; 3: six in a row steadily rising
    /// or falling; 4: fourteen in a row alternating up and down; 5: two of three beyond 2σ on
    /// one side; 6: four of five beyond 1σ on one side; 7: fifteen in a row within 1σ;
    /// 8: eight in a row beyond 1σ, on either side.
    Nelson,
}

impl RuleSet {
    pub fn name(self) -> &'static str {
        match self {
            RuleSet::WesternElectric => "Western Electric",
            RuleSet::Nelson => "Nelson",
        }
    }
}

/// For each point of the chart, the numbers of the rules of `set` that it completes.
/// The zones need a sigma that is symmetric about the centre line, so run, MR, T and G charts
/// are refused.
pub fn rule_violations<K>(
    chart: &ControlChart<K>,
    set: RuleSet,
) -> Result<Vec<Vec<u8>>, StatsError> {
    rule_violations_in(chart.chart, &chart.points, set)
}

/// `rule_violations` of the points of a chart of type `kind`.
pub fn rule_violations_in<K>(
    kind: Chart,
    points: &[Point<K>],
    set: RuleSet,
) -> Result<Vec<Vec<u8>>, StatsError> {
    struct View<'a, K> {
        chart: Chart,
        points: &'a [Point<K>],
    }
    let chart = View {
        chart: kind,
        points,
    };
    if matches!(chart.chart, Chart::Run | Chart::Mr | Chart::T | Chart::G) {
        return Err(StatsError::invalid(
            "rules",
            format!(
                "the {} rules need symmetric sigma zones, which a {} does not have",
                set.name(),
                chart.chart.title()
            ),
        ));
    }
    let mut flags = vec![Vec::new(); chart.points.len()];
    let mut start = 0;
    while start < chart.points.len() {
        let part = chart.points[start].part;
        let end = (start..chart.points.len())
            .find(|&i| chart.points[i].part != part)
            .unwrap_or(chart.points.len());
        // The sequence the rules read: included points with a value, cl and sigma, in order.
        let (index, z): (Vec<usize>, Vec<f64>) = (start..end)
            .filter_map(|i| {
                let p = &chart.points[i];
                match (p.include, p.value(), p.cl(), p.sigma()) {
                    (true, Some(v), Some(cl), Some(s)) if s > 0.0 => Some((i, (v - cl) / s)),
                    _ => None,
                }
            })
            .unzip();
        for (k, rules) in zone_rules(&z, set).into_iter().enumerate() {
            flags[index[k]] = rules;
        }
        start = end;
    }
    Ok(flags)
}

/// The rules each position of a z-score sequence completes.
fn zone_rules(z: &[f64], set: RuleSet) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new(); z.len()];
    for k in 0..z.len() {
        let mut fired = Vec::new();
        let side = z[k].signum();
        let same_side_run = run_back(k, |i| z[i] * side > 0.0);
        match set {
            RuleSet::WesternElectric => {
                if z[k].abs() > 3.0 {
                    fired.push(1);
                }
                if m_of_last_n(z, k, 2, 3, 2.0) {
                    fired.push(2);
                }
                if m_of_last_n(z, k, 4, 5, 1.0) {
                    fired.push(3);
                }
                if side != 0.0 && same_side_run >= 8 {
                    fired.push(4);
                }
            }
            RuleSet::Nelson => {
                if z[k].abs() > 3.0 {
                    fired.push(1);
                }
                if side != 0.0 && same_side_run >= 9 {
                    fired.push(2);
                }
                if k >= 5 {
                    let rising = (k - 4..=k).all(|i| z[i] > z[i - 1]);
                    let falling = (k - 4..=k).all(|i| z[i] < z[i - 1]);
                    if rising || falling {
                        fired.push(3);
                    }
                }
                if k >= 13 {
                    let alternating = (k - 11..=k).all(|i| {
                        let a = z[i] - z[i - 1];
                        let b = z[i - 1] - z[i - 2];
                        a * b < 0.0
                    });
                    if alternating {
                        fired.push(4);
                    }
                }
                if m_of_last_n(z, k, 2, 3, 2.0) {
                    fired.push(5);
                }
                if m_of_last_n(z, k, 4, 5, 1.0) {
                    fired.push(6);
                }
                if run_back(k, |i| z[i].abs() < 1.0) >= 15 {
                    fired.push(7);
                }
                if run_back(k, |i| z[i].abs() > 1.0) >= 8 {
                    fired.push(8);
                }
            }
        }
        out[k] = fired;
    }
    out
}

/// How many consecutive positions ending at `k` satisfy `holds`.
fn run_back(k: usize, holds: impl Fn(usize) -> bool) -> usize {
    (0..=k).rev().take_while(|&i| holds(i)).count()
}

/// `m` of the last `n` points (ending at `k`, which must be one of them) lie beyond `limit`
/// sigma on the same side.
fn m_of_last_n(z: &[f64], k: usize, m: usize, n: usize, limit: f64) -> bool {
    if k + 1 < n {
        return false;
    }
    let side = z[k].signum();
    if side == 0.0 || z[k].abs() <= limit {
        return false;
    }
    (k + 1 - n..=k).filter(|&i| z[i] * side > limit).count() >= m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fired(z: &[f64], set: RuleSet, rule: u8) -> Vec<usize> {
        zone_rules(z, set)
            .iter()
            .enumerate()
            .filter(|(_, r)| r.contains(&rule))
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn one_point_beyond_three_sigma_breaks_rule_one_of_both_sets() {
        let z = [0.5, -3.2, 0.1, 3.0];
        assert_eq!(fired(&z, RuleSet::WesternElectric, 1), vec![1]);
        assert_eq!(fired(&z, RuleSet::Nelson, 1), vec![1]);
    }

    #[test]
    fn two_of_three_beyond_two_sigma_on_one_side_is_western_electric_rule_two() {
        // The second of the pair completes it; a pair split across sides does not.
        assert_eq!(
            fired(&[2.5, 0.0, 2.1], RuleSet::WesternElectric, 2),
            vec![2]
        );
        assert!(fired(&[2.5, 0.0, -2.1], RuleSet::WesternElectric, 2).is_empty());
        assert_eq!(fired(&[2.5, 0.0, 2.1], RuleSet::Nelson, 5), vec![2]);
    }

    #[test]
    fn four_of_five_beyond_one_sigma_on_one_side_is_western_electric_rule_three() {
        let z = [1.5, 1.2, 0.3, 1.1, 1.9];
        assert_eq!(fired(&z, RuleSet::WesternElectric, 3), vec![4]);
    }

    #[test]
    fn eight_in_a_row_on_one_side_is_western_electric_rule_four_but_nelson_needs_nine() {
        let z: Vec<f64> = std::iter::once(-1.0)
            .chain(std::iter::repeat_n(0.4, 9))
            .collect();
        assert_eq!(fired(&z, RuleSet::WesternElectric, 4), vec![8, 9]);
        assert_eq!(fired(&z, RuleSet::Nelson, 2), vec![9]);
    }

    #[test]
    fn six_points_steadily_rising_is_nelson_rule_three() {
        let z = [-1.0, -0.8, -0.5, 0.0, 0.2, 0.9, 0.8];
        assert_eq!(fired(&z, RuleSet::Nelson, 3), vec![5]);
    }

    #[test]
    fn fourteen_points_alternating_is_nelson_rule_four() {
        let z: Vec<f64> = (0..14)
            .map(|i| if i % 2 == 0 { 0.5 } else { -0.5 })
            .collect();
        assert_eq!(fired(&z, RuleSet::Nelson, 4), vec![13]);
        assert!(fired(&z[..13], RuleSet::Nelson, 4).is_empty());
    }

    #[test]
    fn fifteen_points_hugging_the_centre_line_is_nelson_rule_seven() {
        let z: Vec<f64> = (0..15)
            .map(|i| if i % 2 == 0 { 0.3 } else { -0.2 })
            .collect();
        assert_eq!(fired(&z, RuleSet::Nelson, 7), vec![14]);
    }

    #[test]
    fn eight_points_avoiding_the_middle_zone_is_nelson_rule_eight() {
        let z: Vec<f64> = (0..8)
            .map(|i| if i % 3 == 0 { 1.5 } else { -1.2 })
            .collect();
        assert_eq!(fired(&z, RuleSet::Nelson, 8), vec![7]);
    }
}
