//! The control chart a quality team prints: data line and points, centre line, 3-sigma limits
//! (stepped where denominators vary), phase separators and the end of a frozen baseline, points
//! outside the limits as red diamonds, a centre line drawn red and dashed where the Anhøj rules
//! signal a shift, line labels, legend, and a text description for screen readers.

use crate::frame::{Frame, INK, Titles};
use crate::scale::format_number;
use crate::svg::{Anchor, Marker, Stroke, Svg};
use stats::spc::{ControlChart, Point};

const DATA: &str = "#4a7ab0";
const SIGNAL: &str = "#c0392b";
const CENTRE: &str = "#555555";
const LIMIT: &str = "#8c8c8c";

/// Renders `chart` as a standalone SVG document of 900 × 500 pixels. `label` writes a
/// subgroup's x for the axis and tooltips.
pub fn render<K>(chart: &ControlChart<K>, titles: &Titles, label: impl Fn(&K) -> String) -> String {
    render_sized(chart, titles, label, (900.0, 500.0))
}

pub fn render_sized<K>(
    chart: &ControlChart<K>,
    titles: &Titles,
    label: impl Fn(&K) -> String,
    (width, height): (f64, f64),
) -> String {
    let points = &chart.points;
    let labels: Vec<String> = points.iter().map(|p| label(&p.x)).collect();
    let count = points.len();

    // Every drawn quantity must be inside the y axis.
    let drawn = points
        .iter()
        .flat_map(|p| [p.value(), p.cl(), p.lcl(), p.ucl()])
        .flatten();
    let (y_min, y_max) = drawn.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (y_min, y_max) = if y_min.is_finite() {
        (y_min, y_max)
    } else {
        (0.0, 1.0)
    };

    // About a dozen x labels; turned when they would collide.
    let step = count.div_ceil(12).max(1);
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
    let spacing = (width - 168.0) / count.max(1) as f64 * step as f64;
    let rotate = longest * 6.5 > spacing;
    let room = if rotate { longest * 5.0 + 12.0 } else { 24.0 };
    let frame = Frame::new(
        width,
        height,
        (0.5, count as f64 + 0.5),
        (y_min, y_max),
        room,
    );
    let x_ticks: Vec<(f64, String)> = (0..count)
        .filter(|i| i % step == 0)
        .map(|i| (i as f64 + 1.0, labels[i].clone()))
        .collect();

    let mut svg = Svg::new(width, height);
    frame.draw(&mut svg, titles, &x_ticks, rotate);
    let decimals = crate::scale::decimals_for(frame.y_step());

    for (first, last) in phases(points) {
        draw_phase(
            &mut svg,
            &frame,
            &points[first..=last],
            first,
            decimals,
            last + 1 == count,
        );
        if first > 0 {
            let x = frame.x.map(first as f64 + 0.5);
            svg.line(
                (x, frame.top),
                (x, frame.bottom),
                Stroke::dashed(INK, 1.0, "4 3"),
            );
        }
        if first > 0 || last + 1 < count {
            let x = frame.x.map(first as f64 + 0.5) + 4.0;
            svg.text(
                (x, frame.top - 4.0),
                &format!("Phase {}", points[first].part),
                Anchor::Start,
                11.0,
                None,
            );
        }
    }
    if let Some(end) = points
        .windows(2)
        .position(|w| w[0].baseline && !w[1].baseline)
    {
        let x = frame.x.map(end as f64 + 1.5);
        svg.line(
            (x, frame.top),
            (x, frame.bottom),
            Stroke::dashed(INK, 1.0, "1 3"),
        );
        svg.text(
            (x - 4.0, frame.top + 12.0),
            "Baseline",
            Anchor::End,
            10.0,
            None,
        );
    }

    draw_data(&mut svg, &frame, points, &labels, decimals);
    draw_legend(
        &mut svg,
        &frame,
        chart.parts.iter().any(|p| p.runs.signal),
        points.iter().any(|p| !p.include),
    );
    svg.finish(&titles.title, &describe(chart, titles))
}

/// (first, last) index of each phase.
fn phases<K>(points: &[Point<K>]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        match out.last_mut() {
            Some((first, last)) if points[*first].part == p.part => *last = i,
            _ => out.push((i, i)),
        }
    }
    out
}

/// Centre line and limits of one phase; `offset` is the index of its first point.
fn draw_phase<K>(
    svg: &mut Svg,
    frame: &Frame,
    phase: &[Point<K>],
    offset: usize,
    decimals: usize,
    last_phase: bool,
) {
    let runs_signal = phase.first().is_some_and(|p| p.runs_signal);
    let centre = if runs_signal {
        Stroke::dashed(SIGNAL, 2.0, "8 4")
    } else {
        Stroke::solid(CENTRE, 1.5)
    };
    let line_of = |value: fn(&Point<K>) -> Option<f64>| -> Vec<Vec<(f64, f64, f64)>> {
        // Spans of consecutive points with the quantity; a missing one breaks the line.
        let mut segments: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new()];
        for (i, p) in phase.iter().enumerate() {
            let x = (offset + i) as f64 + 1.0;
            match value(p) {
                Some(v) => segments.last_mut().unwrap().push((
                    frame.x.map(x - 0.5),
                    frame.x.map(x + 0.5),
                    frame.y.map(v),
                )),
                None if !segments.last().unwrap().is_empty() => segments.push(Vec::new()),
                None => {}
            }
        }
        segments.retain(|s| !s.is_empty());
        segments
    };
    svg.open_group("limits", Some("3-sigma control limits"));
    for segment in line_of(|p| p.ucl()).into_iter().chain(line_of(|p| p.lcl())) {
        svg.step_line(&segment, Stroke::dashed(LIMIT, 1.2, "6 4"));
    }
    svg.close_group();
    svg.open_group(
        "centre",
        Some(if runs_signal {
            "centre line, runs signal"
        } else {
            "centre line"
        }),
    );
    for segment in line_of(|p| p.cl()) {
        svg.step_line(&segment, centre);
    }
    svg.close_group();

    // Line labels at the right edge, for the last phase only, as qicharts2 does.
    if let (true, Some(end)) = (last_phase, phase.last()) {
        let x = frame.right + 6.0;
        let mut used: Vec<f64> = Vec::new();
        for (name, value) in [("UCL", end.ucl()), ("CL", end.cl()), ("LCL", end.lcl())] {
            if let Some(v) = value {
                let y = frame.y.map(v) + 4.0;
                // Skip a label that would sit on top of another (e.g. LCL at 0 next to CL).
                if used.iter().any(|u| (u - y).abs() < 11.0) {
                    continue;
                }
                used.push(y);
                svg.text(
                    (x, y),
                    &format!("{name} {}", format_number(v, decimals)),
                    Anchor::Start,
                    11.0,
                    None,
                );
            }
        }
    }
}

fn draw_data<K>(
    svg: &mut Svg,
    frame: &Frame,
    points: &[Point<K>],
    labels: &[String],
    decimals: usize,
) {
    svg.open_group("data", Some("subgroup values"));
    let mut run: Vec<(f64, f64)> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        match p.value() {
            Some(v) if i == 0 || points[i - 1].part == p.part => {
                run.push(frame.at(i as f64 + 1.0, v))
            }
            Some(v) => {
                svg.polyline(&run, Stroke::solid(DATA, 1.5));
                run = vec![frame.at(i as f64 + 1.0, v)];
            }
            None => {
                svg.polyline(&run, Stroke::solid(DATA, 1.5));
                run.clear();
            }
        }
    }
    svg.polyline(&run, Stroke::solid(DATA, 1.5));
    for (i, p) in points.iter().enumerate() {
        let Some(v) = p.value() else { continue };
        let mut tooltip = format!("{}: {}", labels[i], format_number(v, decimals));
        let (shape, size, fill) = if p.sigma_signal {
            tooltip.push_str(" — outside the 3-sigma limits");
            (Marker::Diamond, 10.0, SIGNAL)
        } else if !p.include {
            tooltip.push_str(" — excluded from the calculations");
            (Marker::Circle, 7.0, "none")
        } else {
            (Marker::Circle, 6.0, DATA)
        };
        svg.marker(
            frame.at(i as f64 + 1.0, v),
            shape,
            size,
            fill,
            Some(&tooltip),
        );
    }
    svg.close_group();
}

fn draw_legend(svg: &mut Svg, frame: &Frame, runs_signal: bool, excluded: bool) {
    let y = frame.height - 12.0;
    let mut x = frame.left;
    svg.open_group("legend", Some("legend"));
    svg.marker((x, y - 4.0), Marker::Circle, 6.0, DATA, None);
    svg.text((x + 8.0, y), "subgroup", Anchor::Start, 11.0, None);
    x += 80.0;
    svg.marker((x, y - 4.0), Marker::Diamond, 10.0, SIGNAL, None);
    svg.text(
        (x + 9.0, y),
        "outside 3-sigma limits",
        Anchor::Start,
        11.0,
        None,
    );
    x += 160.0;
    svg.line(
        (x - 6.0, y - 4.0),
        (x + 14.0, y - 4.0),
        Stroke::dashed(LIMIT, 1.2, "6 4"),
    );
    svg.text((x + 18.0, y), "control limits", Anchor::Start, 11.0, None);
    x += 110.0;
    if excluded {
        svg.marker((x, y - 4.0), Marker::Circle, 7.0, "none", None);
        svg.text((x + 8.0, y), "excluded", Anchor::Start, 11.0, None);
        x += 80.0;
    }
    if runs_signal {
        svg.line(
            (x - 6.0, y - 4.0),
            (x + 14.0, y - 4.0),
            Stroke::dashed(SIGNAL, 2.0, "8 4"),
        );
        svg.text(
            (x + 18.0, y),
            "centre line: shift signalled by the Anhøj runs rules",
            Anchor::Start,
            11.0,
            None,
        );
    } else {
        svg.line(
            (x - 6.0, y - 4.0),
            (x + 14.0, y - 4.0),
            Stroke::solid(CENTRE, 1.5),
        );
        svg.text((x + 18.0, y), "centre line", Anchor::Start, 11.0, None);
    }
    svg.close_group();
}

/// What the chart shows, in words.
fn describe<K>(chart: &ControlChart<K>, titles: &Titles) -> String {
    let outside: usize = chart.parts.iter().map(|p| p.sigma_signals).sum();
    let signalled: Vec<String> = chart
        .parts
        .iter()
        .filter(|p| p.runs.signal)
        .map(|p| p.part.to_string())
        .collect();
    let phases = chart.parts.len();
    let mut text = format!(
        "{} of {} ({}): {} subgroups in {} phase{}. {} point{} outside the 3-sigma limits. ",
        chart.chart.title(),
        titles.y_label,
        titles.title,
        chart.points.len(),
        phases,
        if phases == 1 { "" } else { "s" },
        outside,
        if outside == 1 { "" } else { "s" }
    );
    if signalled.is_empty() {
        text.push_str("No runs signal (Anhøj rules).");
    } else {
        text.push_str(&format!(
            "Runs signal (Anhøj rules) in phase {}.",
            signalled.join(", ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use stats::spc::{Chart, Options, Rows, qic};

    fn c_chart(values: &[f64], options: &Options) -> ControlChart<u32> {
        let x: Vec<u32> = (1..=values.len() as u32).collect();
        let y: Vec<Option<f64>> = values.iter().map(|v| Some(*v)).collect();
        qic(
            Chart::C,
            Rows {
                x: &x,
                y: &y,
                n: None,
            },
            options,
        )
        .unwrap()
    }

    fn titles() -> Titles {
        Titles {
            title: "Falls <ward 7>".into(),
            subtitle: None,
            x_label: "Month".into(),
            y_label: "Falls".into(),
        }
    }

    #[test]
    fn a_point_outside_the_limits_is_a_red_diamond_with_a_tooltip_saying_so() {
        let mut values = vec![10.0; 20];
        values
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v += (i % 4) as f64);
        values[12] = 40.0;
        let svg = render(&c_chart(&values, &Options::default()), &titles(), |x| {
            format!("m{x}")
        });
        assert_eq!(
            svg.matches("<polygon").count(),
            1 + 1,
            "one signal and its legend sample"
        );
        assert!(svg.contains(&format!(
            "fill=\"{SIGNAL}\"><title>m13: 40.0 — outside the 3-sigma limits</title>"
        )));
        assert!(svg.contains("1 point outside the 3-sigma limits"));
    }

    #[test]
    fn the_chart_is_an_accessible_image_whose_text_is_escaped() {
        let svg = render(
            &c_chart(&[3.0, 5.0, 4.0, 6.0], &Options::default()),
            &titles(),
            |x| x.to_string(),
        );
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains("<title id=\"chart-title\">Falls &lt;ward 7&gt;</title>"));
        assert!(svg.contains("<desc id=\"chart-desc\">C chart of Falls"));
        assert!(!svg.contains("<ward"));
    }

    #[test]
    fn phases_are_separated_and_labelled() {
        let values: Vec<f64> = (0..24)
            .map(|i| {
                if i < 12 {
                    10.0 + (i % 3) as f64
                } else {
                    4.0 + (i % 2) as f64
                }
            })
            .collect();
        let options = Options {
            part_at: vec![12],
            ..Options::default()
        };
        let svg = render(&c_chart(&values, &options), &titles(), |x| x.to_string());
        assert!(svg.contains(">Phase 1</text>") && svg.contains(">Phase 2</text>"));
        assert!(svg.contains("in 2 phases"));
    }

    #[test]
    fn a_shift_draws_the_centre_line_red_and_dashed() {
        let values: Vec<f64> = (0..20).map(|i| if i < 10 { 5.0 } else { 15.0 }).collect();
        let chart = c_chart(&values, &Options::default());
        assert!(chart.parts[0].runs.signal);
        let svg = render(&chart, &titles(), |x| x.to_string());
        assert!(svg.contains(r#"aria-label="centre line, runs signal""#));
        assert!(svg.contains("Runs signal (Anhøj rules) in phase 1."));
    }
}
