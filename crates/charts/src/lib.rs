//! Server-side SVG charts for Rounds: the same markup on a web page, in a CLI's `--format svg`
//! and in a printed board packet. No dependencies beyond the statistics they draw; no
//! JavaScript. `svg` writes elements, `scale` maps data to pixels, `frame` draws the axes and
//! titles every chart shares, and one module per chart type draws that chart.

pub mod control;
pub mod frame;
pub mod funnel;
pub mod scale;
pub mod svg;
