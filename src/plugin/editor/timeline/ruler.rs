//! The ruler under the timeline: bars:beats from the host's tempo, with clock time under them.

use egui::{Color32, Pos2, Rect, Stroke};

use super::{GRID, RULER_ROW};
use crate::plugin::snapshot::Snapshot;

/// Grid lines and labels: bars:beats when the host gives beats, with clock time under them.
pub(super) fn ruler(
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

/// Quarter notes per bar in the host's time signature (4/4 without one).
pub(super) fn per_bar(snapshot: &Snapshot) -> f64 {
    snapshot
        .time_sig
        .filter(|(n, d)| *n > 0 && *d > 0)
        .map_or(4.0, |(n, d)| f64::from(n) * 4.0 / f64::from(d))
}

/// Song seconds as minutes:seconds.
pub(super) fn clock(t: f64) -> String {
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
