//! Keep or cut by hand: stretches of the song a user clicked in the editor. They are saved with
//! the project as ranges of song seconds, so they survive a new analysis and a threshold drag,
//! and the gate, the MIDI cut notes and the marker exports all follow them (Timeline analysis
//! applies them to its plan; Lookahead has decided the past already and cannot).

use crate::engine::cut_plan::{Decision, Override};
use crate::engine::timeline::TimeRange;

/// The piece of the plan under song time `t` (the `cuts` and the analysed `coverage`, song
/// seconds, ascending): the cut containing it, or the kept piece from the cut before it (or the
/// start of the analysed stretch) to the next cut (or the end of the stretch); `None` outside
/// what was analysed.
pub fn piece_at(
    t: f64,
    cuts: &[TimeRange],
    coverage: &[TimeRange],
) -> Option<(TimeRange, Decision)> {
    let span = coverage.iter().find(|c| c.contains(t))?;
    if let Some(cut) = cuts.iter().find(|c| c.contains(t)) {
        return Some((*cut, Decision::Cut));
    }
    let start = cuts
        .iter()
        .map(|c| c.end)
        .filter(|&e| e <= t)
        .fold(span.start, f64::max);
    let end = cuts
        .iter()
        .map(|c| c.start)
        .filter(|&s| s > t)
        .fold(span.end, f64::min);
    Some((TimeRange::new(start, end), Decision::Keep))
}

/// The overrides after a click at song time `t` on the editor's plan (its `cuts` and the
/// analysed `coverage`, song seconds, ascending). Inside a stretch decided by hand, the click
/// undoes that decision; inside a cut, it keeps the cut; inside a kept piece, it cuts the piece
/// (from the cut before it, or the start of the analysed stretch, to the next cut or the end
/// of the stretch). Outside what was analysed it changes nothing.
pub fn toggled(
    overrides: &[Override],
    t: f64,
    cuts: &[TimeRange],
    coverage: &[TimeRange],
) -> Vec<Override> {
    let mut out = overrides.to_vec();
    if let Some(last) = out.iter().rposition(|o| o.range.contains(t)) {
        out.remove(last);
        return out;
    }
    if let Some((range, now)) = piece_at(t, cuts, coverage) {
        let decision = match now {
            Decision::Keep => Decision::Cut,
            Decision::Cut => Decision::Keep,
        };
        out.push(Override { range, decision });
    }
    out
}

/// A key of `overrides` for [`super::params::SlicerParams::plan_key`]: equal lists give equal
/// keys.
pub fn key(overrides: &[Override]) -> impl Iterator<Item = u64> + '_ {
    overrides.iter().flat_map(|o| {
        [
            o.range.start.to_bits(),
            o.range.end.to_bits(),
            u64::from(o.decision == Decision::Keep),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(a: f64, b: f64) -> TimeRange {
        TimeRange::new(a, b)
    }

    #[test]
    fn a_click_keeps_a_cut_cuts_a_kept_piece_and_a_second_click_undoes_it() {
        let cuts = [r(2.0, 4.0), r(8.0, 9.0)];
        let coverage = [r(0.0, 12.0), r(20.0, 30.0)];
        let kept_cut = toggled(&[], 3.0, &cuts, &coverage);
        assert_eq!(
            kept_cut,
            [Override {
                range: r(2.0, 4.0),
                decision: Decision::Keep
            }]
        );
        // A kept piece between two cuts, and one at the end of an analysed stretch.
        let both = toggled(&kept_cut, 5.0, &cuts, &coverage);
        assert_eq!(both[1].range, r(4.0, 8.0));
        assert_eq!(both[1].decision, Decision::Cut);
        assert_eq!(toggled(&[], 10.0, &cuts, &coverage)[0].range, r(9.0, 12.0));
        assert_eq!(toggled(&[], 25.0, &cuts, &coverage)[0].range, r(20.0, 30.0));
        // Clicking a stretch decided by hand gives it back to the model.
        assert_eq!(toggled(&both, 6.0, &cuts, &coverage), kept_cut);
        // Not analysed: nothing to decide.
        assert!(toggled(&[], 15.0, &cuts, &coverage).is_empty());
    }
}
