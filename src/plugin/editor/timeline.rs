//! The timeline: the song's waveform, its scores, the threshold, kept and cut stretches, the
//! cuts, the stretches decided by hand, what is not analysed yet and the playhead, over a ruler
//! in bars:beats (from the host's tempo) and clock time. The whole song by default; the wheel
//! zooms about the pointer, a drag scrolls, a double-click fits the song again, and in Timeline
//! analysis a click keeps or cuts the stretch under it by hand (see [`crate::plugin::overrides`]).
//!
//! Everything is drawn per pixel column or per run of bins, never per bin, so an hour-long
//! track costs what a short one does.

use egui::{Color32, Pos2, Rect, Stroke};

use super::panel::short;
use crate::engine::cut_plan::Decision;
use crate::engine::cut_plan::Override;
use crate::engine::timeline::TimeRange;
use crate::plugin::overrides::{piece_at, toggled};
use crate::plugin::params::{Analysis, SlicerParams};
use crate::plugin::shared::Status;
use crate::plugin::snapshot::Snapshot;
use crate::plugin::view::View;

const SCORE: Color32 = Color32::from_rgb(120, 190, 255);
const THRESHOLD: Color32 = Color32::from_rgb(255, 200, 60);
const CUT: Color32 = Color32::from_rgba_premultiplied(110, 30, 30, 110);
const KEPT: Color32 = Color32::from_rgba_premultiplied(20, 60, 30, 60);
const WAVE: Color32 = Color32::from_gray(110);
const MARKER: Color32 = Color32::from_rgb(255, 90, 90);
const PLAYHEAD: Color32 = Color32::from_rgb(240, 240, 240);
/// The line under the pointer.
const HOVER: Color32 = Color32::from_rgba_premultiplied(90, 90, 90, 90);
/// The outline of the soloed piece.
const SOLO: Color32 = Color32::from_rgb(255, 200, 60);
/// The band over a stretch decided by hand.
const BY_HAND: Color32 = Color32::from_rgb(235, 235, 235);
/// Its height, points.
const BY_HAND_BAND: f32 = 14.0;
const GRID: Color32 = Color32::from_gray(70);
/// Timeline analysis: stretches of the song not analysed yet (they pass untouched).
const NOT_ANALYSED: Color32 = Color32::from_rgba_premultiplied(60, 60, 60, 90);
/// What a stretch not analysed yet says, where there is room for it.
const PLAY_ONCE: &str = "play once to analyse";
/// Room under the plot for one row of ruler labels.
const RULER_ROW: f32 = 15.0;
/// Wheel travel (points) that zooms by a factor of e.
const WHEEL_PER_E: f32 = 200.0;

/// Draws the timeline into the remaining space, with its controls above; `status` gives the
/// host's playhead and takes the solo.
pub fn show(ui: &mut egui::Ui, snapshot: &Snapshot, params: &SlicerParams, status: &Status) {
    let playhead = status.playhead();
    let solo = status.solo();
    let mut view = params.editor.lock().map(|e| e.view).unwrap_or_default();
    let end = snapshot.song_end();
    // Lookahead has decided the past already: only Timeline analysis follows overrides.
    let timeline = params.analysis.value() == Analysis::Timeline;
    // Wrapped, so a narrow window never widens the plot past the panel.
    ui.horizontal_wrapped(|ui| {
        if ui.button("Whole song").clicked() {
            view = View::Whole;
        }
        let mut follow = matches!(view, View::Follow { .. });
        if ui.checkbox(&mut follow, "Follow").changed() {
            let (t0, t1) = view.range(end);
            view = if follow {
                View::Follow { seconds: t1 - t0 }
            } else {
                View::Fixed {
                    start: t0,
                    seconds: t1 - t0,
                }
            };
        }
        let cut: f64 = snapshot.cuts.iter().map(|c| c.end - c.start).sum();
        ui.label(format!(
            "{} cuts, {} of {} cut",
            snapshot.cuts.len(),
            clock(cut),
            clock(end)
        ));
        let by_hand = params.overrides().len();
        if ui
            .add_enabled(
                by_hand > 0,
                egui::Button::new(format!("Undo {by_hand} by hand")),
            )
            .on_hover_text("give every stretch kept or cut by hand back to the model")
            .clicked()
        {
            if let Ok(mut o) = params.overrides.lock() {
                o.clear();
            }
        }
        if ui
            .add_enabled(solo.is_some(), egui::Button::new("Stop solo"))
            .clicked()
        {
            status.set_solo(None);
        }
        ui.weak(if timeline {
            "click: keep/cut · alt-click: solo · wheel: zoom · drag: scroll · double-click: fit"
        } else {
            "wheel: zoom · drag: scroll · double-click: fit"
        });
    });
    let (rect, response) =
        ui.allocate_exact_size(ui.available_size(), egui::Sense::click_and_drag());
    let rows = if snapshot.tempo.is_some() { 2.0 } else { 1.0 };
    let plot = Rect::from_min_max(
        rect.min,
        Pos2::new(rect.max.x, rect.max.y - rows * RULER_ROW),
    );
    let cuts: Vec<TimeRange> = snapshot
        .cuts
        .iter()
        .map(|c| TimeRange::new(c.start, c.end))
        .collect();
    let coverage: Vec<TimeRange> = snapshot
        .coverage
        .iter()
        .map(|&(a, b)| TimeRange::new(a, b))
        .collect();
    // Input first, so this frame draws where the pointer left the view.
    let (t0, t1) = view.range(end);
    let per_point = (t1 - t0) / f64::from(plot.width().max(1.0));
    if response.double_clicked() {
        view = View::Whole;
    } else if response.clicked() && timeline {
        if let Some(pointer) = response.interact_pointer_pos() {
            let t = t0 + f64::from(pointer.x - plot.min.x) * per_point;
            if ui.input(|i| i.modifiers.alt) {
                // Solo the piece under the pointer; alt-clicking the soloed one stops.
                let piece = piece_at(t, &cuts, &coverage).map(|(r, _)| (r.start, r.end));
                let again = solo.is_some_and(|(a, b)| (a..b).contains(&t));
                status.set_solo(if again { None } else { piece });
            } else if let Ok(mut o) = params.overrides.lock() {
                *o = toggled(&o, t, &cuts, &coverage);
            }
        }
    } else if response.dragged() {
        let dx = f64::from(response.drag_delta().x);
        if dx != 0.0 {
            view = view.scrolled(end, -dx * per_point);
        }
    }
    if let Some(pointer) = response.hover_pos() {
        let wheel = ui.input(|i| i.smooth_scroll_delta);
        if wheel.y != 0.0 {
            let at = t0 + f64::from(pointer.x - plot.min.x) * per_point;
            view = view.zoomed(end, at, f64::from((-wheel.y / WHEEL_PER_E).exp()));
        } else if wheel.x != 0.0 {
            view = view.scrolled(end, -f64::from(wheel.x) * per_point);
        }
    }
    if let Ok(mut e) = params.editor.lock() {
        e.view = view;
    }

    let (t0, t1) = view.range(end);
    let x = |t: f64| plot.min.x + ((t - t0) / (t1 - t0)) as f32 * plot.width();
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, Color32::from_gray(20));
    ruler(&painter, snapshot, plot, rect, t0, t1, &x);
    if timeline {
        not_analysed(&painter, snapshot, plot, t0, t1, &x);
    }
    decisions(&painter, snapshot, plot, t0, t1, &x);
    let columns = plot.width().max(1.0) as usize;
    waveform(&painter, snapshot, plot, t0, t1, columns);

    // Scores: the highest per column, so a short spike is never drawn away.
    let top = snapshot
        .bins
        .iter()
        .map(|b| b.score)
        .filter(|s| s.is_finite())
        .fold(2.0 * snapshot.threshold, f64::max);
    let top = if top.is_finite() && top > 0.0 {
        top * 1.05
    } else {
        1.0
    };
    let y = |s: f64| plot.max.y - (s / top).clamp(0.0, 1.0) as f32 * plot.height();
    let scores = column_max(
        snapshot
            .bins
            .iter()
            .filter(|b| b.score.is_finite())
            .map(|b| (b.start, b.start + b.length, b.score as f32)),
        t0,
        t1,
        columns,
    );
    let column_x = |c: usize| plot.min.x + (c as f32 + 0.5) * plot.width() / columns as f32;
    let mut line = Vec::new();
    for (c, score) in scores.iter().enumerate() {
        match score {
            Some(s) => line.push(Pos2::new(column_x(c), y(f64::from(*s)))),
            // A gap in the analysis breaks the line.
            None => flush_line(&painter, &mut line),
        }
    }
    flush_line(&painter, &mut line);
    if snapshot.threshold.is_finite() {
        painter.hline(
            plot.x_range(),
            y(snapshot.threshold),
            Stroke::new(1.0, THRESHOLD),
        );
    }
    for cut in snapshot
        .cuts
        .iter()
        .filter(|c| c.end >= t0 && c.start <= t1)
    {
        painter.vline(x(cut.start), plot.y_range(), Stroke::new(1.5, MARKER));
        painter.vline(
            x(cut.end),
            plot.y_range(),
            Stroke::new(1.0, MARKER.gamma_multiply(0.6)),
        );
    }
    if timeline {
        by_hand(&painter, params, plot, t0, t1, &x);
    }
    if let Some((a, b)) = solo.filter(|_| timeline) {
        // Everything but the soloed piece dimmed, the piece outlined.
        for (from, to) in [(t0, a), (b, t1)] {
            if to > from {
                let r = Rect::from_min_max(
                    Pos2::new(x(from.max(t0)), plot.min.y),
                    Pos2::new(x(to.min(t1)), plot.max.y),
                );
                painter.rect_filled(r, 0.0, Color32::from_black_alpha(140));
            }
        }
        let r = Rect::from_min_max(Pos2::new(x(a), plot.min.y), Pos2::new(x(b), plot.max.y));
        painter.rect_stroke(r, 0.0, Stroke::new(2.0, SOLO), egui::StrokeKind::Inside);
    }
    if let Some(t) = playhead.filter(|t| (t0..=t1).contains(t)) {
        painter.vline(x(t), plot.y_range(), Stroke::new(1.5, PLAYHEAD));
    }
    if let Some(pointer) = response.hover_pos().filter(|p| plot.contains(*p)) {
        let t = t0 + f64::from(pointer.x - plot.min.x) * (t1 - t0) / f64::from(plot.width());
        painter.vline(pointer.x, plot.y_range(), Stroke::new(1.0, HOVER));
        let overrides = params.overrides();
        let text = hover_text(
            snapshot,
            &overrides,
            t,
            timeline.then_some((&cuts, &coverage)),
        );
        response.on_hover_text_at_pointer(text);
    }
    if snapshot.bins.is_empty() {
        painter.text(
            plot.center(),
            egui::Align2::CENTER_CENTER,
            "play or bounce the track to analyse it",
            egui::FontId::proportional(16.0),
            Color32::GRAY,
        );
    }
}

/// Draws a run of score points and empties it.
fn flush_line(painter: &egui::Painter, line: &mut Vec<Pos2>) {
    if line.len() > 1 {
        painter.add(egui::Shape::line(
            std::mem::take(line),
            Stroke::new(1.5, SCORE),
        ));
    }
    line.clear();
}

/// What the timeline says about song time `t`: the time in clock and bars:beats, the score
/// there against the threshold, and the piece of the plan it lies in with its length (from the
/// Timeline plan's `cuts` and `coverage`; Lookahead knows only the bin's decision).
fn hover_text(
    snapshot: &Snapshot,
    overrides: &[Override],
    t: f64,
    plan: Option<(&[TimeRange], &[TimeRange])>,
) -> String {
    let i = snapshot.bins.partition_point(|b| b.start + b.length <= t);
    let bin = snapshot.bins.get(i).filter(|b| b.start <= t);
    let mut lines = vec![clock(t)];
    if let Some((bin, beats, tempo)) = bin.and_then(|b| Some((b, b.beats?, snapshot.tempo?))) {
        let per_bar = per_bar(snapshot);
        let q = beats + (t - bin.start) * tempo / 60.0;
        let bar = (q / per_bar).floor();
        lines[0] += &format!(
            "  bar {}:{}",
            bar as i64 + 1,
            (q - bar * per_bar).floor() as i64 + 1
        );
    }
    if let Some(bin) = bin.filter(|b| b.score.is_finite()) {
        lines.push(format!(
            "score {} (threshold {})",
            short(bin.score),
            short(snapshot.threshold)
        ));
    }
    let piece = match plan {
        Some((cuts, coverage)) => piece_at(t, cuts, coverage).map(|(range, decision)| {
            let by_hand = overrides.iter().any(|o| o.range.contains(t));
            format!(
                "{} {:.1} s{}",
                if decision == Decision::Keep {
                    "kept"
                } else {
                    "cut"
                },
                range.duration(),
                if by_hand { ", by hand" } else { "" }
            )
        }),
        None => bin
            .and_then(|b| b.keep)
            .map(|keep| (if keep { "kept" } else { "cut" }).to_owned()),
    };
    lines.push(piece.unwrap_or_else(|| "not analysed yet".to_owned()));
    lines.join("\n")
}

/// Quarter notes per bar in the host's time signature (4/4 without one).
fn per_bar(snapshot: &Snapshot) -> f64 {
    snapshot
        .time_sig
        .filter(|(n, d)| *n > 0 && *d > 0)
        .map_or(4.0, |(n, d)| f64::from(n) * 4.0 / f64::from(d))
}

/// A band along the top of each stretch decided by hand, saying what was decided.
fn by_hand(
    painter: &egui::Painter,
    params: &SlicerParams,
    plot: Rect,
    t0: f64,
    t1: f64,
    x: &impl Fn(f64) -> f32,
) {
    for o in params
        .overrides()
        .iter()
        .filter(|o| o.range.end >= t0 && o.range.start <= t1)
    {
        let band = Rect::from_min_max(
            Pos2::new(x(o.range.start.max(t0)), plot.min.y),
            Pos2::new(x(o.range.end.min(t1)), plot.min.y + BY_HAND_BAND),
        );
        painter.rect_filled(band, 0.0, BY_HAND.gamma_multiply(0.85));
        // The longest text that fits the band.
        let texts = match o.decision {
            Decision::Keep => ["kept by hand", "kept"],
            Decision::Cut => ["cut by hand", "cut"],
        };
        let font = egui::FontId::proportional(11.0);
        let fitting = texts.into_iter().find(|text| {
            let galley = painter.layout_no_wrap((*text).to_owned(), font.clone(), Color32::BLACK);
            galley.size().x + 4.0 <= band.width()
        });
        if let Some(text) = fitting {
            painter.text(
                band.center(),
                egui::Align2::CENTER_CENTER,
                text,
                font,
                Color32::BLACK,
            );
        }
    }
}

/// Grey where the song has not been heard yet, which passes untouched until it is played.
fn not_analysed(
    painter: &egui::Painter,
    snapshot: &Snapshot,
    plot: Rect,
    t0: f64,
    t1: f64,
    x: &impl Fn(f64) -> f32,
) {
    let mut from = t0.max(0.0);
    for &(a, b) in snapshot.coverage.iter().chain([&(t1, t1)]) {
        if a > from {
            let r = Rect::from_min_max(
                Pos2::new(x(from), plot.min.y),
                Pos2::new(x(a.min(t1)), plot.max.y),
            );
            painter.rect_filled(r, 0.0, NOT_ANALYSED);
            if r.width() > 160.0 {
                painter.text(
                    r.center(),
                    egui::Align2::CENTER_CENTER,
                    PLAY_ONCE,
                    egui::FontId::proportional(14.0),
                    Color32::from_gray(200),
                );
            }
        }
        from = from.max(b);
    }
}

/// Kept and cut shading, one rectangle per run of bins with the same decision.
fn decisions(
    painter: &egui::Painter,
    snapshot: &Snapshot,
    plot: Rect,
    t0: f64,
    t1: f64,
    x: &impl Fn(f64) -> f32,
) {
    let mut run: Option<(f64, f64, bool)> = None;
    let fill = |(a, b, keep): (f64, f64, bool)| {
        let r = Rect::from_min_max(Pos2::new(x(a), plot.min.y), Pos2::new(x(b), plot.max.y));
        painter.rect_filled(r, 0.0, if keep { KEPT } else { CUT });
    };
    for b in snapshot
        .bins
        .iter()
        .filter(|b| b.start + b.length >= t0 && b.start <= t1)
    {
        let Some(keep) = b.keep else { continue };
        let end = b.start + b.length;
        run = match run {
            // Contiguous (to a microsecond) and the same decision: one run.
            Some((a, e, k)) if k == keep && (b.start - e).abs() < 1e-6 => Some((a, end, k)),
            Some(done) => {
                fill(done);
                Some((b.start, end, keep))
            }
            None => Some((b.start, end, keep)),
        };
    }
    if let Some(done) = run {
        fill(done);
    }
}

/// The waveform: each column's loudest block as a bar about the centre line, as tall as a sine
/// of that RMS level would swing (linear, as DAWs draw waveforms).
fn waveform(
    painter: &egui::Painter,
    snapshot: &Snapshot,
    plot: Rect,
    t0: f64,
    t1: f64,
    columns: usize,
) {
    let levels = &snapshot.levels;
    let blocks = levels.runs.iter().flat_map(|(start, values)| {
        values.iter().enumerate().map(move |(i, &ms)| {
            let a = start + i as f64 * levels.block_seconds;
            (a, a + levels.block_seconds, ms)
        })
    });
    let centre = plot.center().y;
    let half = plot.height() * 0.5;
    for (c, ms) in column_max(blocks, t0, t1, columns).into_iter().enumerate() {
        let Some(ms) = ms.filter(|&m| m > 0.0) else {
            continue;
        };
        let h = (2.0 * ms).sqrt().min(1.0) * half;
        if h >= 0.5 {
            let cx = plot.min.x + (c as f32 + 0.5) * plot.width() / columns as f32;
            painter.vline(cx, centre - h..=centre + h, Stroke::new(1.0, WAVE));
        }
    }
}

/// Grid lines and labels: bars:beats when the host gives beats, with clock time under them.
fn ruler(
    painter: &egui::Painter,
    snapshot: &Snapshot,
    plot: Rect,
    rect: Rect,
    t0: f64,
    t1: f64,
    x: &impl Fn(f64) -> f32,
) {
    let font = egui::FontId::monospace(11.0);
    let label = |t: f64, row: f32, text: String| {
        painter.text(
            Pos2::new(x(t), plot.max.y + (row + 0.5) * RULER_ROW),
            egui::Align2::CENTER_CENTER,
            text,
            font.clone(),
            Color32::GRAY,
        );
    };
    // Clock time on the last row, always.
    let clock_row = ((rect.max.y - plot.max.y) / RULER_ROW - 1.0)
        .max(0.0)
        .round();
    let step = grid_step(t1 - t0);
    let mut t = (t0 / step).floor() * step;
    while t <= t1 {
        if clock_row == 0.0 {
            painter.vline(x(t), plot.y_range(), Stroke::new(1.0, GRID));
        }
        label(t, clock_row, clock(t));
        t += step;
    }
    if clock_row == 0.0 {
        return;
    }
    // Beats are read off the bins themselves, so tempo changes are followed as the host gave
    // them.
    let beat_of = |t: f64| {
        snapshot
            .bins
            .iter()
            .find(|b| b.start <= t && t < b.start + b.length)
            .and_then(|b| b.beats.map(|beats| (b.start, beats)))
    };
    let (Some(tempo), Some((anchor_t, anchor_beats))) = (snapshot.tempo, beat_of((t0 + t1) / 2.0))
    else {
        return;
    };
    let per_bar = per_bar(snapshot);
    let seconds_per_beat = 60.0 / tempo;
    let span_beats = (t1 - t0) / seconds_per_beat;
    let step = grid_step(span_beats / per_bar) * per_bar;
    let first = ((anchor_beats + (t0 - anchor_t) / seconds_per_beat) / step).floor() * step;
    let mut b = first;
    while b <= anchor_beats + (t1 - anchor_t) / seconds_per_beat {
        let t = anchor_t + (b - anchor_beats) * seconds_per_beat;
        painter.vline(x(t), plot.y_range(), Stroke::new(1.0, GRID));
        let bar = (b / per_bar).floor();
        let beat = b - bar * per_bar;
        label(
            t,
            0.0,
            format!("{}:{}", bar as i64 + 1, beat.round() as i64 + 1),
        );
        b += step;
    }
}

/// Song seconds as minutes:seconds.
fn clock(t: f64) -> String {
    format!("{}:{:04.1}", (t / 60.0).floor() as i64, t.rem_euclid(60.0))
}

/// A round step giving about eight grid lines over `span` units.
fn grid_step(span: f64) -> f64 {
    const LINES: f64 = 8.0;
    let raw = (span / LINES).max(1e-3);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// Per pixel column of `[t0, t1)` cut into `columns`, the largest value among the `items`
/// (`(start, end, value)`) that overlap it; `None` where none does.
fn column_max(
    items: impl Iterator<Item = (f64, f64, f32)>,
    t0: f64,
    t1: f64,
    columns: usize,
) -> Vec<Option<f32>> {
    let mut out = vec![None; columns];
    if columns == 0 || t1 <= t0 {
        return out;
    }
    let per = (t1 - t0) / columns as f64;
    for (a, b, value) in items {
        if b <= t0 || a >= t1 {
            continue;
        }
        let first = ((a - t0) / per).floor().max(0.0) as usize;
        let last = (((b - t0) / per).ceil() as usize).clamp(first + 1, columns);
        for slot in &mut out[first.min(columns - 1)..last] {
            *slot = Some(slot.map_or(value, |m: f32| m.max(value)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_column_shows_the_largest_value_it_covers() {
        // Ten columns of one second; a short spike inside column 3 is not lost.
        let items = [
            (0.0, 2.5, 1.0),
            (3.2, 3.3, 9.0),
            (3.3, 6.0, 2.0),
            (20.0, 30.0, 5.0),
        ];
        let columns = column_max(items.into_iter(), 0.0, 10.0, 10);
        assert_eq!(
            columns,
            [
                Some(1.0),
                Some(1.0),
                Some(1.0),
                Some(9.0),
                Some(2.0),
                Some(2.0),
                None,
                None,
                None,
                None
            ]
        );
        assert!(column_max(items.into_iter(), 5.0, 5.0, 10)
            .iter()
            .all(Option::is_none));
    }

    #[test]
    fn hovering_tells_the_time_the_score_and_the_piece() {
        use crate::plugin::snapshot::TimelineBin;
        let bin = |start: f64, score: f64, keep: bool| TimelineBin {
            start,
            length: 1.0,
            beats: Some(start * 2.0),
            score,
            keep: Some(keep),
        };
        let snapshot = Snapshot {
            bins: vec![
                bin(0.0, 0.2, true),
                bin(1.0, 0.9, false),
                bin(2.0, 0.1, true),
            ],
            threshold: 0.5,
            tempo: Some(120.0),
            time_sig: Some((4, 4)),
            ..Snapshot::default()
        };
        let cuts = [TimeRange::new(1.0, 2.0)];
        let coverage = [TimeRange::new(0.0, 3.0)];
        let plan = Some((&cuts[..], &coverage[..]));
        assert_eq!(
            hover_text(&snapshot, &[], 1.5, plan),
            "0:01.5  bar 1:4\nscore 0.90 (threshold 0.50)\ncut 1.0 s"
        );
        let by_hand = [Override {
            range: TimeRange::new(2.0, 3.0),
            decision: Decision::Keep,
        }];
        assert!(hover_text(&snapshot, &by_hand, 2.5, plan).ends_with("kept 1.0 s, by hand"));
        assert!(hover_text(&snapshot, &[], 7.0, plan).ends_with("not analysed yet"));
        // Lookahead: the bin's own decision.
        assert!(hover_text(&snapshot, &[], 0.5, None).ends_with("\nkept"));
    }
}
