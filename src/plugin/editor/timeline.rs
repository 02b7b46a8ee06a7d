//! The timeline: the song's waveform, its scores, the threshold, kept and cut stretches, the
//! cuts, the stretches decided by hand, what is not analysed yet and the playhead, over a ruler
//! in bars:beats (from the host's tempo) and clock time. The whole song by default; the wheel
//! zooms about the pointer, a drag scrolls, a double-click fits the song again, and in Timeline
//! analysis a click keeps or cuts the stretch under it by hand (see [`crate::plugin::overrides`]).
//!
//! Everything is drawn per pixel column or per run of bins, never per bin, so an hour-long
//! track costs what a short one does.

use egui::{Color32, Pos2, Rect, Stroke};

mod hover;
mod layers;
mod ruler;

use crate::engine::timeline::TimeRange;
use crate::plugin::overrides::{piece_at, toggled};
use crate::plugin::params::{Analysis, SlicerParams};
use crate::plugin::shared::Status;
use crate::plugin::snapshot::Snapshot;
use crate::plugin::view::View;
use hover::hover_text;
use layers::{by_hand, column_max, decisions, not_analysed, waveform};
use ruler::{clock, ruler};

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
            "{} cut{}, {} of {} cut",
            snapshot.cuts.len(),
            if snapshot.cuts.len() == 1 { "" } else { "s" },
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
    // Once a frame, after this frame's clicks.
    let overrides = params.overrides();
    if timeline {
        by_hand(&painter, &overrides, plot, t0, t1, &x);
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
