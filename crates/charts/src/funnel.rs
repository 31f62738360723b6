//! The funnel plot a quality committee reads: each group's value against its denominator, the
//! target line, the 95% and 99.8% limits it is judged against (overdispersion-adjusted when
//! there is overdispersion), outliers as labelled red diamonds, legend and a text description.

use crate::frame::{Frame, INK, Titles};
use crate::scale::{decimals_for, format_number, nice_ticks, tick_labels};
use crate::svg::{Anchor, Marker, Stroke, Svg};
use stats::funnel::{Funnel, Limits, OutlierLimit};

const DATA: &str = "#4a7ab0";
const OUTLIER: &str = "#c0392b";
const TARGET: &str = "#555555";
const LIMIT_95: Stroke = Stroke::dashed("#8c8c8c", 1.2, "6 4");
const LIMIT_998: Stroke = Stroke::solid("#6b6b6b", 1.4);
/// Points along each limit curve; enough for a smooth line at print size.
const CURVE_POINTS: usize = 240;

/// Renders `funnel` as a standalone SVG document of 900 × 560 pixels.
pub fn render(funnel: &Funnel, titles: &Titles) -> String {
    render_sized(funnel, titles, (900.0, 560.0))
}

pub fn render_sized(funnel: &Funnel, titles: &Titles, (width, height): (f64, f64)) -> String {
    let points = &funnel.points;
    let max_x = points.iter().map(|p| p.denominator).fold(0.0, f64::max);
    let x_ticks = nice_ticks(0.0, max_x, 6);
    let x_end = *x_ticks.last().unwrap_or(&max_x);

    // As FunnelPlotR: the y axis spans the points and 0.7–1.3 × the target, and here also the
    // 99.8% limits at the largest denominator; the limits, which widen without bound as the
    // denominator shrinks, are cut off at its edges.
    let values = points.iter().map(|p| p.value);
    let narrowest = funnel.judging_limits(max_x);
    let low = values
        .clone()
        .fold(funnel.target * 0.7, |m, v| m.min(0.9 * v));
    let high = values.fold(funnel.target * 1.3, |m, v| m.max(1.1 * v));
    let (low, high) = (low.min(narrowest.lcl998), high.max(narrowest.ucl998));
    let frame = Frame::new(width, height, (0.0, x_end), (low.max(0.0), high), 24.0);
    let (y_low, y_high) = frame.y.domain;

    let mut svg = Svg::new(width, height);
    let labels = tick_labels(&x_ticks);
    let ticks: Vec<(f64, String)> = x_ticks.iter().copied().zip(labels).collect();
    frame.draw(&mut svg, titles, &ticks, false);
    let decimals = decimals_for(frame.y_step());

    // Limit curves, evaluated on a grid of denominators and drawn only inside the plot.
    let grid: Vec<(f64, Limits)> = (1..=CURVE_POINTS)
        .map(|i| x_end * i as f64 / CURVE_POINTS as f64)
        .map(|x| (x, funnel.judging_limits(x)))
        .collect();
    let curve = |value: fn(&Limits) -> f64| -> Vec<(f64, f64)> {
        grid.iter()
            .map(|(x, limits)| (*x, value(limits)))
            .filter(|(_, y)| y.is_finite() && (y_low..=y_high).contains(y))
            .map(|(x, y)| frame.at(x, y))
            .collect()
    };
    svg.open_group("limits", Some(&limits_name(funnel)));
    svg.polyline(&curve(|l| l.lcl95), LIMIT_95);
    svg.polyline(&curve(|l| l.ucl95), LIMIT_95);
    svg.polyline(&curve(|l| l.lcl998), LIMIT_998);
    svg.polyline(&curve(|l| l.ucl998), LIMIT_998);
    svg.close_group();

    svg.open_group("target", Some("target"));
    let target_y = frame.y.map(funnel.target);
    svg.line(
        (frame.left, target_y),
        (frame.right, target_y),
        Stroke::solid(TARGET, 1.5),
    );
    svg.text(
        (frame.right + 6.0, target_y + 4.0),
        &format!("target {}", format_number(funnel.target, decimals)),
        Anchor::Start,
        11.0,
        None,
    );
    svg.close_group();

    svg.open_group("data", Some("groups"));
    for p in points.iter().filter(|p| !p.outlier) {
        let tooltip = format!(
            "{}: {} (denominator {})",
            p.group,
            format_number(p.value, decimals),
            format_number(p.denominator, 1)
        );
        svg.marker(
            frame.at(p.denominator, p.value),
            Marker::Circle,
            6.0,
            DATA,
            Some(&tooltip),
        );
    }
    // Outliers last, so that they sit on top, each with its name beside it.
    for p in points.iter().filter(|p| p.outlier) {
        let (x, y) = frame.at(p.denominator, p.value);
        let tooltip = format!(
            "{}: {} (denominator {}) — outside the {} limits",
            p.group,
            format_number(p.value, decimals),
            format_number(p.denominator, 1),
            limit_percent(funnel)
        );
        svg.marker((x, y), Marker::Diamond, 10.0, OUTLIER, Some(&tooltip));
        let anchor = if x > frame.right - 80.0 {
            Anchor::End
        } else {
            Anchor::Start
        };
        let dx = if anchor == Anchor::End { -8.0 } else { 8.0 };
        svg.styled_text(
            (x + dx, y - 6.0),
            &p.group,
            anchor,
            11.0,
            None,
            OUTLIER,
            true,
        );
    }
    svg.close_group();

    draw_legend(&mut svg, &frame, funnel);
    svg.finish(&titles.title, &describe(funnel, titles))
}

fn limit_percent(funnel: &Funnel) -> &'static str {
    match funnel.options.limit {
        OutlierLimit::P95 => "95%",
        OutlierLimit::P998 => "99.8%",
    }
}

fn limits_name(funnel: &Funnel) -> String {
    if funnel.tau2 > 0.0 {
        format!(
            "95% and 99.8% limits adjusted for overdispersion (phi {:.3}, tau squared {:.5})",
            funnel.phi, funnel.tau2
        )
    } else {
        "95% and 99.8% limits (no overdispersion found)".into()
    }
}

fn draw_legend(svg: &mut Svg, frame: &Frame, funnel: &Funnel) {
    let y = frame.height - 12.0;
    let mut x = frame.left;
    svg.open_group("legend", Some("legend"));
    svg.marker((x, y - 4.0), Marker::Circle, 6.0, DATA, None);
    svg.text((x + 8.0, y), "group", Anchor::Start, 11.0, None);
    x += 64.0;
    svg.marker((x, y - 4.0), Marker::Diamond, 10.0, OUTLIER, None);
    let outlier = format!("outside {} limits", limit_percent(funnel));
    svg.text((x + 9.0, y), &outlier, Anchor::Start, 11.0, None);
    x += 150.0;
    for (stroke, name) in [(LIMIT_95, "95% limits"), (LIMIT_998, "99.8% limits")] {
        svg.line((x - 6.0, y - 4.0), (x + 14.0, y - 4.0), stroke);
        svg.text((x + 18.0, y), name, Anchor::Start, 11.0, None);
        x += 100.0;
    }
    let note = if funnel.tau2 > 0.0 {
        format!(
            "adjusted for overdispersion: φ = {:.2}, τ² = {:.4}",
            funnel.phi, funnel.tau2
        )
    } else {
        "no overdispersion: unadjusted limits".into()
    };
    svg.styled_text((x, y), &note, Anchor::Start, 11.0, None, INK, false);
    svg.close_group();
}

/// What the chart shows, in words.
fn describe(funnel: &Funnel, titles: &Titles) -> String {
    let outliers: Vec<&str> = funnel
        .points
        .iter()
        .filter(|p| p.outlier)
        .map(|p| p.group.as_str())
        .collect();
    let mut text = format!(
        "Funnel plot of {} ({}): {} groups against a target of {}, with {}. ",
        titles.y_label,
        titles.title,
        funnel.points.len(),
        format_number(funnel.target, 4),
        limits_name(funnel)
    );
    if outliers.is_empty() {
        text.push_str(&format!(
            "No group is outside the {} limits.",
            limit_percent(funnel)
        ));
    } else {
        text.push_str(&format!(
            "{} outside the {} limits: {}.",
            if outliers.len() == 1 {
                "1 group is".to_string()
            } else {
                format!("{} groups are", outliers.len())
            },
            limit_percent(funnel),
            outliers.join(", ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use stats::funnel::{FunnelKind, FunnelOptions, GroupCounts, SrMethod, funnel};

    fn titles() -> Titles {
        Titles {
            title: "Mortality <SHMI>".into(),
            subtitle: None,
            x_label: "Expected deaths".into(),
            y_label: "Standardised ratio".into(),
        }
    }

    fn hospitals() -> Funnel {
        // Twenty hospitals near the target and one with twice its expected deaths.
        let mut rows: Vec<GroupCounts> = (0..20)
            .map(|i| GroupCounts {
                group: format!("h{i:02}"),
                numerator: 100.0 + (i % 5) as f64 * 4.0 - 8.0,
                denominator: 100.0,
            })
            .collect();
        rows.push(GroupCounts {
            group: "Outlier & Co".into(),
            numerator: 400.0,
            denominator: 200.0,
        });
        funnel(
            &rows,
            FunnelOptions::new(FunnelKind::StandardisedRatio(SrMethod::Cqc)),
        )
        .unwrap()
    }

    #[test]
    fn an_outlier_is_a_red_diamond_labelled_with_its_name() {
        let f = hospitals();
        assert_eq!(f.points.iter().filter(|p| p.outlier).count(), 1);
        let svg = render(&f, &titles());
        assert!(svg.contains(&format!("fill=\"{OUTLIER}\"><title>Outlier &amp; Co: 2.00")));
        assert!(svg.contains(">Outlier &amp; Co</text>"));
        assert!(
            svg.contains(
                "1 group is outside the 99.8% limits: Outlier & Co."
                    .replace('&', "&amp;")
                    .as_str()
            )
        );
    }

    #[test]
    fn the_plot_is_an_accessible_image_with_target_and_both_limits() {
        let svg = render(&hospitals(), &titles());
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains("<title id=\"chart-title\">Mortality &lt;SHMI&gt;</title>"));
        assert!(svg.contains(">target 1.00</text>"));
        assert_eq!(
            svg.matches("<polyline").count(),
            4,
            "lower and upper, 95% and 99.8%"
        );
    }
}
