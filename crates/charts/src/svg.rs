//! A minimal SVG writer: escaped text, lines, polylines, step lines, markers and text, collected
//! into one accessible `<svg role="img">` document with a `<title>` and `<desc>`.

use std::fmt::Write;

/// Escapes text for SVG element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stroke {
    pub colour: &'static str,
    pub width: f64,
    /// An SVG `stroke-dasharray`, e.g. "6 4"; `None` for a solid line.
    pub dash: Option<&'static str>,
}

impl Stroke {
    pub const fn solid(colour: &'static str, width: f64) -> Stroke {
        Stroke {
            colour,
            width,
            dash: None,
        }
    }

    pub const fn dashed(colour: &'static str, width: f64, dash: &'static str) -> Stroke {
        Stroke {
            colour,
            width,
            dash: Some(dash),
        }
    }

    fn attributes(&self) -> String {
        let mut a = format!(
            r#"fill="none" stroke="{}" stroke-width="{}""#,
            self.colour,
            num(self.width)
        );
        if let Some(dash) = self.dash {
            let _ = write!(a, r#" stroke-dasharray="{dash}""#);
        }
        a
    }
}

/// Marker shapes; a signal should differ from an ordinary point in shape as well as colour,
/// so that it still shows on a black-and-white print and to colour-blind readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Diamond,
    Square,
    Triangle,
}

/// How text is anchored at its point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// Coordinates in pixels, with two decimals: enough for print, small files.
pub fn num(v: f64) -> String {
    let rounded = (v * 100.0).round() / 100.0;
    if rounded == rounded.trunc() {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    }
}

/// An SVG document being written.
#[derive(Debug, Clone)]
pub struct Svg {
    pub width: f64,
    pub height: f64,
    body: String,
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Svg {
        Svg {
            width,
            height,
            body: String::new(),
        }
    }

    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: Stroke) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" {}/>"#,
            num(x1),
            num(y1),
            num(x2),
            num(y2),
            stroke.attributes()
        );
    }

    /// A line through the points in order.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: Stroke) {
        if points.len() < 2 {
            return;
        }
        let coords: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
            .collect();
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" {}/>"#,
            coords.join(" "),
            stroke.attributes()
        );
    }

    /// A line that holds each value over its own span: `spans` are (x from, x to, y). Used for
    /// limits that vary with the denominator. Adjacent spans are joined by vertical steps.
    pub fn step_line(&mut self, spans: &[(f64, f64, f64)], stroke: Stroke) {
        let mut points = Vec::with_capacity(spans.len() * 2);
        for &(from, to, y) in spans {
            points.push((from, y));
            points.push((to, y));
        }
        self.polyline(&points, stroke);
    }

    /// A marker centred at (x, y), with an optional tooltip (`<title>`), which screen readers
    /// also read.
    pub fn marker(
        &mut self,
        (x, y): (f64, f64),
        shape: Marker,
        size: f64,
        fill: &str,
        tooltip: Option<&str>,
    ) {
        let r = size / 2.0;
        let element = match shape {
            Marker::Circle => format!(r#"<circle cx="{}" cy="{}" r="{}""#, num(x), num(y), num(r)),
            Marker::Square => format!(
                r#"<rect x="{}" y="{}" width="{}" height="{}""#,
                num(x - r),
                num(y - r),
                num(size),
                num(size)
            ),
            Marker::Diamond => format!(
                r#"<polygon points="{},{} {},{} {},{} {},{}""#,
                num(x),
                num(y - r * 1.3),
                num(x + r * 1.3),
                num(y),
                num(x),
                num(y + r * 1.3),
                num(x - r * 1.3),
                num(y)
            ),
            Marker::Triangle => format!(
                r#"<polygon points="{},{} {},{} {},{}""#,
                num(x),
                num(y - r * 1.3),
                num(x + r * 1.2),
                num(y + r),
                num(x - r * 1.2),
                num(y + r)
            ),
        };
        let fill = if fill == "none" {
            r##"fill="#ffffff" stroke="#555555" stroke-width="1""##.to_string()
        } else {
            format!(r#"fill="{fill}""#)
        };
        match tooltip {
            Some(t) => {
                let _ = writeln!(
                    self.body,
                    "{element} {fill}><title>{}</title>{}",
                    escape(t),
                    closing(shape)
                );
            }
            None => {
                let _ = writeln!(self.body, "{element} {fill}/>");
            }
        }
    }

    /// Text at (x, y); `rotate` in degrees about that point.
    pub fn text(
        &mut self,
        (x, y): (f64, f64),
        text: &str,
        anchor: Anchor,
        size: f64,
        rotate: Option<f64>,
    ) {
        self.styled_text((x, y), text, anchor, size, rotate, "#333333", false);
    }

    #[allow(clippy::too_many_arguments)]
    pub fn styled_text(
        &mut self,
        (x, y): (f64, f64),
        text: &str,
        anchor: Anchor,
        size: f64,
        rotate: Option<f64>,
        colour: &str,
        bold: bool,
    ) {
        let anchor = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let transform = rotate
            .map(|deg| format!(r#" transform="rotate({} {} {})""#, num(deg), num(x), num(y)))
            .unwrap_or_default();
        let weight = if bold { r#" font-weight="bold""# } else { "" };
        let _ = writeln!(
            self.body,
            r#"<text x="{}" y="{}" text-anchor="{anchor}" font-size="{}" fill="{colour}"{weight}{transform}>{}</text>"#,
            num(x),
            num(y),
            num(size),
            escape(text)
        );
    }

    pub fn rect(&mut self, (x, y): (f64, f64), (width, height): (f64, f64), fill: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}"/>"#,
            num(x),
            num(y),
            num(width),
            num(height)
        );
    }

    /// Opens a group; `label` names it for assistive technology.
    pub fn open_group(&mut self, class: &str, label: Option<&str>) {
        let label = label
            .map(|l| format!(r#" aria-label="{}""#, escape(l)))
            .unwrap_or_default();
        let _ = writeln!(self.body, r#"<g class="{}"{label}>"#, escape(class));
    }

    pub fn close_group(&mut self) {
        self.body.push_str("</g>\n");
    }

    /// The finished document. `title` is the accessible name; `description` says in words what
    /// the chart shows, for readers who cannot see it.
    pub fn finish(self, title: &str, description: &str) -> String {
        format!(
            concat!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" "#,
                r#"role="img" aria-labelledby="chart-title chart-desc" aria-label="{t}" "#,
                r#"font-family="Helvetica, Arial, sans-serif">"#,
                "\n<title id=\"chart-title\">{t}</title>\n<desc id=\"chart-desc\">{d}</desc>\n",
                r##"<rect width="100%" height="100%" fill="#ffffff"/>"##,
                "\n{body}</svg>\n"
            ),
            w = num(self.width),
            h = num(self.height),
            t = escape(title),
            d = escape(description),
            body = self.body
        )
    }
}

fn closing(shape: Marker) -> &'static str {
    match shape {
        Marker::Circle => "</circle>",
        Marker::Square => "</rect>",
        Marker::Diamond | Marker::Triangle => "</polygon>",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_looks_like_markup_is_escaped() {
        assert_eq!(
            escape(r#"<b>"O'Neil" & co</b>"#),
            "&lt;b&gt;&quot;O&#39;Neil&quot; &amp; co&lt;/b&gt;"
        );
        assert_eq!(escape("bell\u{7}"), "bell");
    }

    #[test]
    fn a_document_names_itself_for_screen_readers() {
        let mut svg = Svg::new(100.0, 50.0);
        svg.text((1.0, 2.0), "a < b", Anchor::Start, 10.0, None);
        let doc = svg.finish("Falls & harm", "Two points");
        assert!(doc.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(doc.contains(r#"role="img""#));
        assert!(doc.contains(r#"aria-label="Falls &amp; harm""#));
        assert!(doc.contains("<title id=\"chart-title\">Falls &amp; harm</title>"));
        assert!(doc.contains(">a &lt; b</text>"));
        assert!(doc.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn coordinates_keep_two_decimals() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(1.23456), "1.23");
        assert_eq!(num(-0.004), "0");
    }

    #[test]
    fn a_step_line_holds_each_value_over_its_span() {
        let mut svg = Svg::new(10.0, 10.0);
        svg.step_line(
            &[(0.0, 1.0, 5.0), (1.0, 2.0, 3.0)],
            Stroke::solid("#000", 1.0),
        );
        assert!(
            svg.body.contains(r#"points="0,5 1,5 1,3 2,3""#),
            "{}",
            svg.body
        );
    }
}
