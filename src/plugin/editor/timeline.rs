//! The timeline: bin scores over song time, the threshold, kept/cut shading, cut markers, and a
//! bars:beats ruler when the host gives a musical position (seconds otherwise).

use egui::{Color32, Pos2, Rect, Stroke};

use crate::plugin::params::{Analysis, SlicerParams};
use crate::plugin::snapshot::Snapshot;

const SCORE: Color32 = Color32::from_rgb(120, 190, 255);
const THRESHOLD: Color32 = Color32::from_rgb(255, 200, 60);
const CUT: Color32 = Color32::from_rgba_premultiplied(110, 30, 30, 110);
const KEPT: Color32 = Color32::from_rgba_premultiplied(20, 60, 30, 60);
const MARKER: Color32 = Color32::from_rgb(255, 90, 90);
const GRID: Color32 = Color32::from_gray(70);
/// Timeline analysis: stretches of the song not analysed yet (they pass untouched).
const NOT_ANALYSED: Color32 = Color32::from_rgba_premultiplied(60, 60, 60, 90);
/// What a stretch not analysed yet says, where there is room for it.
const PLAY_ONCE: &str = "play once to analyse";
/// The longest view: a whole song, or a long session.
const MAX_ZOOM_SECONDS: f64 = 3600.0;
/// Room under the plot for the ruler labels.
const RULER: f32 = 18.0;

/// Draws the timeline into the remaining space, with its zoom controls above.
pub fn show(ui: &mut egui::Ui, snapshot: &Snapshot, params: &SlicerParams) {
    let (mut zoom, mut follow) = params
        .editor
        .lock()
        .map(|e| (e.zoom_seconds, e.follow))
        .unwrap_or((30.0, true));
    let end = snapshot.bins.last().map_or(0.0, |b| b.start + b.length);
    ui.horizontal(|ui| {
        ui.label("Show");
        ui.add(
            egui::Slider::new(&mut zoom, 5.0..=MAX_ZOOM_SECONDS)
                .logarithmic(true)
                .suffix(" s"),
        );
        ui.checkbox(&mut follow, "Follow");
        if ui.button("Whole track").clicked() {
            zoom = end.clamp(5.0, MAX_ZOOM_SECONDS);
        }
        ui.label(format!("{} cuts", snapshot.cuts.len()));
    });
    if let Ok(mut e) = params.editor.lock() {
        e.zoom_seconds = zoom;
        e.follow = follow;
    }
    let (rect, _) = ui.allocate_exact_size(ui.available_size(), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, Color32::from_gray(20));
    let plot = Rect::from_min_max(rect.min, Pos2::new(rect.max.x, rect.max.y - RULER));
    let t1 = if follow {
        end.max(zoom)
    } else {
        end.max(zoom).min(zoom.max(end))
    };
    let t0 = t1 - zoom;
    let x = |t: f64| plot.min.x + ((t - t0) / zoom) as f32 * plot.width();
    let visible = snapshot
        .bins
        .iter()
        .filter(|b| b.start + b.length >= t0 && b.start <= t1);
    let top = visible
        .clone()
        .map(|b| b.score)
        .filter(|s| s.is_finite())
        .fold(2.0 * snapshot.threshold, f64::max);
    let top = if top.is_finite() && top > 0.0 {
        top * 1.05
    } else {
        1.0
    };
    let y = |s: f64| plot.max.y - (s / top).clamp(0.0, 1.0) as f32 * plot.height();

    ruler(&painter, snapshot, plot, rect, t0, t1, &x);
    // Timeline analysis: grey where the song has not been heard yet, which passes untouched
    // until it is played.
    if params.analysis.value() == Analysis::Timeline {
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
    for b in visible.clone() {
        let shade = match b.keep {
            Some(false) => CUT,
            Some(true) => KEPT,
            None => continue,
        };
        let r = Rect::from_min_max(
            Pos2::new(x(b.start), plot.min.y),
            Pos2::new(x(b.start + b.length), plot.max.y),
        );
        painter.rect_filled(r, 0.0, shade);
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
    let points: Vec<Pos2> = visible
        .filter(|b| b.score.is_finite())
        .map(|b| Pos2::new(x(b.start + b.length / 2.0), y(b.score)))
        .collect();
    if points.len() > 1 {
        painter.add(egui::Shape::line(points, Stroke::new(1.5, SCORE)));
    }
    if snapshot.threshold.is_finite() {
        painter.hline(
            plot.x_range(),
            y(snapshot.threshold),
            Stroke::new(1.0, THRESHOLD),
        );
    }
    if snapshot.bins.is_empty() {
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "play or bounce the track to analyse it",
            egui::FontId::proportional(16.0),
            Color32::GRAY,
        );
    }
}

/// Grid lines and labels: bars:beats when the host gives beats, else seconds.
fn ruler(
    painter: &egui::Painter,
    snapshot: &Snapshot,
    plot: Rect,
    rect: Rect,
    t0: f64,
    t1: f64,
    x: &impl Fn(f64) -> f32,
) {
    let label_y = rect.max.y - RULER / 2.0;
    let font = egui::FontId::monospace(11.0);
    // Beats are read off the bins themselves, so tempo changes are followed as the host gave them.
    let beat_of = |t: f64| {
        snapshot
            .bins
            .iter()
            .find(|b| b.start <= t && t < b.start + b.length)
            .and_then(|b| b.beats.map(|beats| (b.start, beats)))
    };
    if let (Some(tempo), Some((anchor_t, anchor_beats))) =
        (snapshot.tempo, beat_of((t0 + t1) / 2.0))
    {
        let per_bar = snapshot
            .time_sig
            .filter(|(n, d)| *n > 0 && *d > 0)
            .map_or(4.0, |(n, d)| f64::from(n) * 4.0 / f64::from(d));
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
            let text = format!("{}:{}", bar as i64 + 1, beat.round() as i64 + 1);
            painter.text(
                Pos2::new(x(t), label_y),
                egui::Align2::CENTER_CENTER,
                text,
                font.clone(),
                Color32::GRAY,
            );
            b += step;
        }
        return;
    }
    let step = grid_step(t1 - t0);
    let mut t = (t0 / step).floor() * step;
    while t <= t1 {
        painter.vline(x(t), plot.y_range(), Stroke::new(1.0, GRID));
        let text = format!("{}:{:04.1}", (t / 60.0).floor() as i64, t.rem_euclid(60.0));
        painter.text(
            Pos2::new(x(t), label_y),
            egui::Align2::CENTER_CENTER,
            text,
            font.clone(),
            Color32::GRAY,
        );
        t += step;
    }
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
