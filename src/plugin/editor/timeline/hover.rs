//! What hovering the timeline says: the time, the score there and the piece under the pointer.

use super::ruler::{clock, per_bar};
use crate::engine::cut_plan::{Decision, Override};
use crate::engine::timeline::TimeRange;
use crate::plugin::editor::panel::short;
use crate::plugin::overrides::piece_at;
use crate::plugin::snapshot::Snapshot;

/// What the timeline says about song time `t`: the time in clock and bars:beats, the score
/// there against the threshold, and the piece of the plan it lies in with its length (from the
/// Timeline plan's `cuts` and `coverage`; Lookahead knows only the bin's decision).
pub(super) fn hover_text(
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

#[cfg(test)]
mod tests {
    use super::*;

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
