//! The frame every chart shares: page size and margins, the x and y scales of the plot area,
//! y gridlines, both axes with ticks and labels, the title, subtitle and axis titles.

use crate::scale::{LinearScale, nice_ticks, tick_labels};
use crate::svg::{Anchor, Stroke, Svg};

pub const INK: &str = "#333333";
pub const GRID: &str = "#e6e6e6";

/// Words around the plot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Titles {
    pub title: String,
    pub subtitle: Option<String>,
    pub x_label: String,
    pub y_label: String,
}

/// A plot area on a page, with its scales.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub x: LinearScale,
    pub y: LinearScale,
    y_ticks: Vec<f64>,
}

impl Frame {
    /// A frame of `width` × `height` pixels whose y axis covers [y_min, y_max] on nice ticks.
    /// `x_label_room` is the height reserved below the axis for tick labels.
    pub fn new(
        width: f64,
        height: f64,
        x_domain: (f64, f64),
        (y_min, y_max): (f64, f64),
        x_label_room: f64,
    ) -> Frame {
        let (left, right, top) = (72.0, width - 96.0, 64.0);
        let bottom = height - 56.0 - x_label_room;
        let y_ticks = nice_ticks(y_min, y_max, 6);
        let y = LinearScale::new(
            (y_ticks[0], *y_ticks.last().unwrap_or(&y_max)),
            (bottom, top),
        );
        let x = LinearScale::new(x_domain, (left, right));
        Frame {
            width,
            height,
            left,
            right,
            top,
            bottom,
            x,
            y,
            y_ticks,
        }
    }

    pub fn y_step(&self) -> f64 {
        match self.y_ticks.as_slice() {
            [a, b, ..] => b - a,
            _ => 1.0,
        }
    }

    /// Map a data point to pixels.
    pub fn at(&self, x: f64, y: f64) -> (f64, f64) {
        (self.x.map(x), self.y.map(y))
    }

    /// Gridlines, axes, ticks and titles. `x_ticks` are (data x, label); labels are turned
    /// 45° when `rotate_x` so that dates do not overlap.
    pub fn draw(&self, svg: &mut Svg, titles: &Titles, x_ticks: &[(f64, String)], rotate_x: bool) {
        svg.open_group("frame", None);
        let labels = tick_labels(&self.y_ticks);
        for (tick, label) in self.y_ticks.iter().zip(&labels) {
            let y = self.y.map(*tick);
            svg.line((self.left, y), (self.right, y), Stroke::solid(GRID, 1.0));
            svg.text((self.left - 8.0, y + 4.0), label, Anchor::End, 11.0, None);
        }
        svg.line(
            (self.left, self.bottom),
            (self.right, self.bottom),
            Stroke::solid(INK, 1.0),
        );
        svg.line(
            (self.left, self.top),
            (self.left, self.bottom),
            Stroke::solid(INK, 1.0),
        );
        for (x, label) in x_ticks {
            let px = self.x.map(*x);
            svg.line(
                (px, self.bottom),
                (px, self.bottom + 5.0),
                Stroke::solid(INK, 1.0),
            );
            if rotate_x {
                svg.text(
                    (px, self.bottom + 16.0),
                    label,
                    Anchor::End,
                    10.0,
                    Some(-45.0),
                );
            } else {
                svg.text((px, self.bottom + 18.0), label, Anchor::Middle, 11.0, None);
            }
        }
        svg.styled_text(
            (self.left, 28.0),
            &titles.title,
            Anchor::Start,
            17.0,
            None,
            INK,
            true,
        );
        if let Some(subtitle) = &titles.subtitle {
            svg.text((self.left, 48.0), subtitle, Anchor::Start, 12.0, None);
        }
        let centre_x = (self.left + self.right) / 2.0;
        svg.text(
            (centre_x, self.height - 30.0),
            &titles.x_label,
            Anchor::Middle,
            12.0,
            None,
        );
        let centre_y = (self.top + self.bottom) / 2.0;
        svg.text(
            (18.0, centre_y),
            &titles.y_label,
            Anchor::Middle,
            12.0,
            Some(-90.0),
        );
        svg.close_group();
    }
}
