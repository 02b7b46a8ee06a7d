//! A PNG that shows where and why a recording was cut: the waveform with cut regions shaded,
//! and the segment scores against the threshold on the same time axis.

use std::path::Path;

use anyhow::{bail, Context};
use plotters::backend::DrawingBackend;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontFamily, FontStyle};

use super::cut_list::complement_within;
use super::timeline::{Segment, TimeRange};

mod outline;

pub use outline::{OutlineBuilder, WaveformOutline};

/// Width of the written image, in pixels.
pub const PLOT_WIDTH: u32 = 1600;
/// Height of the written image, in pixels (two stacked panels).
pub const PLOT_HEIGHT: u32 = 600;

const FONT: FontFamily<'static> = FontFamily::SansSerif;
const WAVE_COLOR: RGBColor = RGBColor(40, 70, 130);
const SCORE_COLOR: RGBColor = RGBColor(20, 90, 200);
const THRESHOLD_COLOR: RGBColor = RGBColor(230, 120, 0);
const CUT_COLOR: RGBColor = RGBColor(220, 30, 30);
/// Opacity of the cut shading: light enough that the waveform stays readable on top.
const CUT_ALPHA: f64 = 0.22;
/// Width of the legend strip right of the panels, so legends never hide data.
const LEGEND_WIDTH: u32 = 190;

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
enum Swatch {
    Line(RGBColor),
    Dashed(RGBColor),
    Tick(RGBColor),
    Shade,
}

const WAVEFORM_LEGEND: [(Swatch, &str); 2] = [
    (Swatch::Tick(WAVE_COLOR), "waveform (min/max)"),
    (Swatch::Shade, "cut"),
];
const SCORE_LEGEND: [(Swatch, &str); 3] = [
    (Swatch::Line(SCORE_COLOR), "score (higher = worse)"),
    (Swatch::Dashed(THRESHOLD_COLOR), "threshold"),
    (Swatch::Shade, "cut"),
];

/// Everything the plot shows about one processed recording.
pub struct PlotInput<'a> {
    /// Title drawn above the panels (usually the source file name).
    pub title: &'a str,
    /// The outline of the source audio, mixed to mono.
    pub waveform: &'a WaveformOutline,
    /// Scored segments (higher = worse).
    pub segments: &'a [Segment],
    /// Score above which segments were judged bad.
    pub threshold: f64,
    /// Source ranges that were kept; everything else in `[0, duration]` is shaded as cut.
    pub keep: &'a [TimeRange],
    /// Length of the source, in seconds.
    pub duration: f64,
}

/// Writes a PNG of `input` to `path` (which must end in `.png`): a `PLOT_WIDTH` x `PLOT_HEIGHT`
/// overview of the whole recording and, for one longer than ten minutes, rows of
/// [`ROW_HEIGHT`] beneath it showing five minutes or more each (at most 24 rows).
///
/// Text (title, axis labels, legend) needs a system font found through fontconfig; without one
/// the plot is still written, just without text.
pub fn plot_scores(path: &Path, input: &PlotInput) -> anyhow::Result<()> {
    let is_png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !is_png {
        bail!("plot path {} must end in .png", path.display());
    }
    let (pixels, height) =
        render_with_rows(input).with_context(|| format!("drawing plot {}", path.display()))?;
    save_png(path, &pixels, (PLOT_WIDTH, height))
        .with_context(|| format!("writing plot {}", path.display()))
}

/// The overview and, for a long recording, rows beneath it, each a stretch of the recording
/// at a readable scale drawn as a plot of its own; returns the pixels and the image height.
fn render_with_rows(input: &PlotInput) -> anyhow::Result<(Vec<u8>, u32)> {
    let mut pixels = render_rgb(input, PLOT_WIDTH, PLOT_HEIGHT)?;
    let rows = row_windows(time_span(input));
    for &(start, end) in &rows {
        let segments = window_segments(input.segments, start, end);
        let keep = window_ranges(input.keep, start, end);
        let waveform = input.waveform.window(start, end);
        let title = format!("{} - {}", clock(start), clock(end));
        let row = PlotInput {
            title: &title,
            waveform: &waveform,
            segments: &segments,
            threshold: input.threshold,
            keep: &keep,
            duration: end - start,
        };
        pixels.extend_from_slice(&render_rgb(&row, PLOT_WIDTH, ROW_HEIGHT)?);
    }
    Ok((pixels, PLOT_HEIGHT + ROW_HEIGHT * rows.len() as u32))
}

/// Recordings longer than this (seconds) get rows beneath the overview.
const ROWS_AFTER: f64 = 600.0;
/// The shortest stretch a row shows, in seconds (about 5 pixels a second).
const ROW_SECONDS: f64 = 300.0;
/// At most this many rows: a longer recording gets longer rows.
const MAX_ROWS: usize = 24;
/// Height of one row, in pixels (a title and the two panels).
pub const ROW_HEIGHT: u32 = 400;

/// `(start, end)` of each row for a recording of `duration` seconds; none for a short one.
fn row_windows(duration: f64) -> Vec<(f64, f64)> {
    // NaN and short recordings alike get no rows.
    if duration.is_nan() || duration <= ROWS_AFTER {
        return Vec::new();
    }
    let length = ROW_SECONDS.max(duration / MAX_ROWS as f64);
    let count = (duration / length).ceil() as usize;
    (0..count)
        .map(|i| (i as f64 * length, ((i + 1) as f64 * length).min(duration)))
        .collect()
}

/// The segments overlapping `[start, end)`, in the window's time.
fn window_segments(segments: &[Segment], start: f64, end: f64) -> Vec<Segment> {
    segments
        .iter()
        .filter(|s| s.end > start && s.start < end)
        .map(|s| Segment {
            start: s.start - start,
            end: s.end - start,
            score: s.score,
        })
        .collect()
}

/// `ranges` clipped to `[start, end)`, in the window's time.
fn window_ranges(ranges: &[TimeRange], start: f64, end: f64) -> Vec<TimeRange> {
    ranges
        .iter()
        .filter(|r| r.end > start && r.start < end)
        .map(|r| TimeRange::new(r.start.max(start) - start, r.end.min(end) - start))
        .collect()
}

/// `h:mm:ss` (or `m:ss`) of a time in seconds, for row titles.
fn clock(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Draws into memory first so that a failure never leaves a half-drawn file behind.
fn render_rgb(input: &PlotInput, width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
    let text = text_available();
    match render(input, (width, height), text) {
        Ok(pixels) => Ok(pixels),
        // A font can be found yet fail on some glyph; the picture is worth more than the text.
        Err(_) if text => render(input, (width, height), false),
        Err(e) => Err(e),
    }
}

/// Whether plotters can lay out text with a system font.
fn text_available() -> bool {
    FontDesc::new(FONT, 14.0, FontStyle::Normal)
        .box_size("0123456789 s")
        .is_ok()
}

fn save_png(path: &Path, pixels: &[u8], size: (u32, u32)) -> anyhow::Result<()> {
    let mut backend = BitMapBackend::new(path, size);
    backend
        .blit_bitmap((0, 0), size, pixels)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    backend.present().map_err(|e| anyhow::anyhow!("{e}"))
}

fn render(input: &PlotInput, size: (u32, u32), text: bool) -> anyhow::Result<Vec<u8>> {
    let view = View::new(input);
    let mut pixels = vec![255u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE)?;
        let body = if text {
            root.titled(input.title, (FONT, 22))?
        } else {
            root.clone()
        };
        let (plots, legend) = if text {
            let (plots, legend) = body.split_horizontally(size.0.saturating_sub(LEGEND_WIDTH));
            (plots, Some(legend))
        } else {
            (body, None)
        };
        let panels = plots.split_evenly((2, 1));
        draw_waveform(&panels[0], &view, text)?;
        draw_scores(&panels[1], &view, text)?;
        if let Some(legend) = legend {
            let strips = legend.split_evenly((2, 1));
            draw_legend(&strips[0], &WAVEFORM_LEGEND)?;
            draw_legend(&strips[1], &SCORE_LEGEND)?;
        }
        root.present()?;
    }
    Ok(pixels)
}

/// The input, sanitised for drawing: a positive time span, cut regions, plottable scores.
struct View<'a> {
    waveform: &'a WaveformOutline,
    x_max: f64,
    cuts: Vec<TimeRange>,
    /// (segment centre, score), finite scores only, in time order.
    scores: Vec<(f64, f64)>,
    threshold: Option<f64>,
}

impl<'a> View<'a> {
    fn new(input: &PlotInput<'a>) -> Self {
        let x_max = time_span(input);
        let mut scores: Vec<(f64, f64)> = input
            .segments
            .iter()
            .map(|s| ((s.start + s.end) / 2.0, s.score))
            .filter(|(t, score)| t.is_finite() && score.is_finite())
            .collect();
        scores.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self {
            waveform: input.waveform,
            x_max,
            cuts: complement_within(input.keep, x_max),
            scores,
            threshold: input.threshold.is_finite().then_some(input.threshold),
        }
    }

    /// Score axis range covering every score, the threshold and zero, with a little headroom.
    fn score_range(&self) -> (f64, f64) {
        let values = self.scores.iter().map(|s| s.1).chain(self.threshold);
        let (lo, hi) = values.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let span = if hi - lo > 1e-12 { hi - lo } else { 1.0 };
        (lo - 0.02 * span, hi + 0.08 * span)
    }
}

/// The time axis length: the stated duration, else whatever the data covers, else 1 s.
fn time_span(input: &PlotInput) -> f64 {
    if input.duration.is_finite() && input.duration > 0.0 {
        return input.duration;
    }
    let audio = input.waveform.duration();
    let ends = input
        .segments
        .iter()
        .map(|s| s.end)
        .chain(input.keep.iter().map(|r| r.end));
    let covered = ends.filter(|e| e.is_finite()).fold(audio, f64::max);
    if covered > 0.0 {
        covered
    } else {
        1.0
    }
}

type Area<'b> = DrawingArea<BitMapBackend<'b>, Shift>;

fn draw_waveform(area: &Area, view: &View, text: bool) -> anyhow::Result<()> {
    let probe = chart_builder(area, text).build_cartesian_2d(0.0..view.x_max, -1.0..1.0)?;
    let columns = probe.plotting_area().dim_in_pixel().0;
    drop(probe);
    let columns_env = view.waveform.envelope(view.x_max, columns);
    let peak = columns_env
        .iter()
        .map(|&(_, lo, hi)| lo.abs().max(hi.abs()))
        .fold(0.0_f32, f32::max);
    // Scale to the peak (not to full scale) so quiet takes still show their shape.
    let y = f64::from(peak).max(1e-4) * 1.05;

    let mut chart = chart_builder(area, text).build_cartesian_2d(0.0..view.x_max, -y..y)?;
    configure_axes(&mut chart, text, "amplitude", (view.x_max, 2.0 * y))?;
    shade_cuts(&mut chart, view, (-y, y))?;
    chart.draw_series(columns_env.iter().map(|&(t, lo, hi)| {
        PathElement::new(vec![(t, f64::from(lo)), (t, f64::from(hi))], WAVE_COLOR)
    }))?;
    Ok(())
}

fn draw_scores(area: &Area, view: &View, text: bool) -> anyhow::Result<()> {
    let (lo, hi) = view.score_range();
    let mut chart = chart_builder(area, text).build_cartesian_2d(0.0..view.x_max, lo..hi)?;
    configure_axes(&mut chart, text, "segment score", (view.x_max, hi - lo))?;
    shade_cuts(&mut chart, view, (lo, hi))?;
    chart.draw_series(LineSeries::new(
        view.scores.iter().copied(),
        SCORE_COLOR.stroke_width(2),
    ))?;
    if let Some(threshold) = view.threshold {
        let line = [(0.0, threshold), (view.x_max, threshold)];
        chart.draw_series(DashedLineSeries::new(
            line,
            10,
            6,
            THRESHOLD_COLOR.stroke_width(2),
        ))?;
    }
    Ok(())
}

type Chart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn chart_builder<'a, 'b>(
    area: &'a Area<'b>,
    text: bool,
) -> ChartBuilder<'a, 'b, BitMapBackend<'b>> {
    let mut builder = ChartBuilder::on(area);
    builder.margin(8);
    if text {
        builder.x_label_area_size(38).y_label_area_size(70);
    }
    builder
}

fn configure_axes(
    chart: &mut Chart,
    text: bool,
    y_desc: &str,
    (x_span, y_span): (f64, f64),
) -> anyhow::Result<()> {
    let x_label = |t: &f64| tick_label(*t, x_span);
    let y_label = |v: &f64| tick_label(*v, y_span);
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08));
    if text {
        mesh.x_desc("time (s)")
            .y_desc(y_desc)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label);
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw()?;
    Ok(())
}

/// A tick label with enough decimals for plotters' ~10 "nice" ticks over `span` (scores may be ~1e-4),
/// and no "-0".
fn tick_label(value: f64, span: f64) -> String {
    let step = span / 8.0;
    let decimals = if step.is_finite() && step > 0.0 {
        (-step.log10()).ceil().clamp(0.0, 9.0) as usize
    } else {
        2
    };
    let label = format!("{value:.decimals$}");
    if label
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        "0".to_string()
    } else {
        label
    }
}

fn shade_cuts(chart: &mut Chart, view: &View, (lo, hi): (f64, f64)) -> anyhow::Result<()> {
    let fill = CUT_COLOR.mix(CUT_ALPHA).filled();
    chart.draw_series(
        view.cuts
            .iter()
            .map(|c| Rectangle::new([(c.start, lo), (c.end, hi)], fill)),
    )?;
    Ok(())
}

/// A legend as a list of swatches and labels, top-aligned with its panel.
fn draw_legend(area: &Area, entries: &[(Swatch, &str)]) -> anyhow::Result<()> {
    for (i, &(swatch, label)) in entries.iter().enumerate() {
        let y = 18 + 22 * i as i32;
        match swatch {
            Swatch::Line(color) => area.draw(&PathElement::new(
                vec![(10, y), (34, y)],
                color.stroke_width(2),
            ))?,
            Swatch::Dashed(color) => {
                for x in [10, 24] {
                    area.draw(&PathElement::new(
                        vec![(x, y), (x + 9, y)],
                        color.stroke_width(2),
                    ))?;
                }
            }
            Swatch::Tick(color) => {
                for x in (10..=34).step_by(4) {
                    area.draw(&PathElement::new(vec![(x, y - 6), (x, y + 6)], color))?;
                }
            }
            Swatch::Shade => area.draw(&Rectangle::new(
                [(10, y - 6), (34, y + 6)],
                CUT_COLOR.mix(CUT_ALPHA).filled(),
            ))?,
        }
        area.draw(&Text::new(label, (42, y - 7), (FONT, 13)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
