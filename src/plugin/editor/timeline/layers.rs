//! The timeline's layers under the score curve: kept and cut runs, what is not analysed yet,
//! the waveform, and the stretches decided by hand; each drawn per run or per pixel column.

use egui::{Color32, Pos2, Rect, Stroke};

use super::{BY_HAND, BY_HAND_BAND, CUT, KEPT, NOT_ANALYSED, PLAY_ONCE, WAVE};
use crate::engine::cut_plan::{Decision, Override};
use crate::plugin::snapshot::Snapshot;

/// A band along the top of each stretch decided by hand, saying what was decided.
pub(super) fn by_hand(
    painter: &egui::Painter,
    overrides: &[Override],
    plot: Rect,
    t0: f64,
    t1: f64,
    x: &impl Fn(f64) -> f32,
) {
    for o in overrides
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
pub(super) fn not_analysed(
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
pub(super) fn decisions(
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
pub(super) fn waveform(
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

/// Per pixel column of `[t0, t1)` cut into `columns`, the largest value among the `items`
/// (`(start, end, value)`) that overlap it; `None` where none does.
pub(super) fn column_max(
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
}
