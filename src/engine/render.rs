//! Rendering an edit: either splicing the kept ranges together, or silencing the cuts in place.
//!
//! Both work on planar audio (one `Vec<f32>` per channel). Times convert to sample indices by
//! rounding and are clipped to the audio, so a plan made on slightly different timing (another
//! sample rate, a rounded duration) still renders. Channels of unequal length are treated as if
//! padded with silence to the longest one.

use super::fades::{fade_in, fade_out};
use super::timeline::TimeRange;

mod streaming;

pub use streaming::StreamingSplice;

/// The crossfade at each join unless the user sets one, in seconds: long enough that a join
/// never clicks, short enough that no transient is smeared. The CLI and the plugin share it.
pub const DEFAULT_CROSSFADE_SECONDS: f64 = 0.02;

/// A range of sample indices, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn len(self) -> usize {
        self.end - self.start
    }
}

/// Joins kept ranges of planar audio with equal-power crossfades.
///
/// The kept ranges are taken in the order given. The output is as long as the kept ranges
/// together (each rounded to whole samples and clipped to the audio), with as many channels
/// as the input. Each join gets a crossfade of `crossfade_seconds` centred on it: the outgoing
/// piece plays on past its end while fading out along a cosine, the incoming one starts early
/// while fading in along a sine, so for uncorrelated material the power stays level
/// (cos² + sin² = 1) instead of dipping as a linear fade would. A crossfade never spans more
/// than the shorter of the two pieces, and reads past the ends of the audio repeat the edge
/// sample. With one piece, or a zero crossfade, the output is an exact copy of the kept samples.
pub fn render_keep(
    channels: &[Vec<f32>],
    sample_rate: u32,
    keep: &[TimeRange],
    crossfade_seconds: f64,
) -> Vec<Vec<f32>> {
    let total = longest(channels);
    let pieces = spans(keep, sample_rate, total);
    let crossfade = samples_for(crossfade_seconds, sample_rate);
    channels
        .iter()
        .map(|channel| splice(channel, total, &pieces, crossfade))
        .collect()
}

/// Gated render: same length as the input, cut regions silenced with equal-power ramps of
/// `ramp_seconds` at each transition.
///
/// Each ramp is centred on its transition: a fade-out is a quarter cosine from just before a
/// kept range ends to just after, a fade-in a quarter sine around where one starts. Away from
/// the ramps, kept audio is passed through bit for bit and cut audio is exactly 0. The start
/// and end of the audio are not transitions, so a range kept from the very start is not faded
/// in. Useful for auditioning a plan against the original timeline.
pub fn render_gated(
    channels: &[Vec<f32>],
    sample_rate: u32,
    keep: &[TimeRange],
    ramp_seconds: f64,
) -> Vec<Vec<f32>> {
    let total = longest(channels);
    // A ramp longer than the audio is meaningless; capping it also keeps index sums small.
    let ramp = samples_for(ramp_seconds, sample_rate).min(total);
    let gain = gate_gain(&spans(keep, sample_rate, total), ramp, total);
    channels
        .iter()
        .map(|channel| {
            channel
                .iter()
                .zip(&gain)
                .map(|(&x, &g)| apply_gain(x, g))
                .collect()
        })
        .collect()
}

/// Length of the longest channel.
fn longest(channels: &[Vec<f32>]) -> usize {
    channels.iter().map(Vec::len).max().unwrap_or(0)
}

/// A time in seconds as a sample index, rounded and clipped to `0..=total`; NaN maps to 0.
fn sample_index(seconds: f64, sample_rate: u32, total: usize) -> usize {
    let position = seconds * f64::from(sample_rate);
    if position.is_nan() {
        return 0;
    }
    position.round().clamp(0.0, total as f64) as usize
}

/// A duration in seconds as a whole number of samples; negative or non-finite gives 0.
fn samples_for(seconds: f64, sample_rate: u32) -> usize {
    if seconds.is_finite() && seconds > 0.0 {
        sample_index(seconds, sample_rate, usize::MAX)
    } else {
        0
    }
}

/// The kept ranges as non-empty sample spans, in the order given.
fn spans(keep: &[TimeRange], sample_rate: u32, total: usize) -> Vec<Span> {
    keep.iter()
        .map(|r| Span {
            start: sample_index(r.start, sample_rate, total),
            end: sample_index(r.end, sample_rate, total),
        })
        .filter(|s| s.end > s.start)
        .collect()
}

/// Sample `index` of a channel, with reads beyond the audio clamped to its edge samples.
/// Samples a short channel lacks (below `total`) read as silence.
fn read_clamped(channel: &[f32], total: usize, index: isize) -> f32 {
    let clamped = index.clamp(0, total.saturating_sub(1) as isize) as usize;
    channel.get(clamped).copied().unwrap_or(0.0)
}

/// One channel's pieces copied end to end, then crossfaded at each join.
fn splice(channel: &[f32], total: usize, pieces: &[Span], crossfade: usize) -> Vec<f32> {
    let mut out: Vec<f32> = Vec::with_capacity(pieces.iter().map(|p| p.len()).sum());
    for piece in pieces {
        out.extend((piece.start..piece.end).map(|i| read_clamped(channel, total, i as isize)));
    }
    let mut join_at = 0;
    for pair in pieces.windows(2) {
        join_at += pair[0].len();
        let length = crossfade.min(pair[0].len()).min(pair[1].len());
        crossfade_join(
            &mut out,
            channel,
            total,
            join_at,
            pair[0].end,
            pair[1].start,
            length,
        );
    }
    out
}

/// Rewrites the `length` output samples centred on output position `join_at`, where source
/// position `outgoing_end` meets source position `incoming_start`, as an equal-power crossfade.
fn crossfade_join(
    out: &mut [f32],
    channel: &[f32],
    total: usize,
    join_at: usize,
    outgoing_end: usize,
    incoming_start: usize,
    length: usize,
) {
    if length == 0 {
        return;
    }
    let lead = length / 2;
    let region = out.iter_mut().skip(join_at - lead).take(length);
    for (k, sample) in region.enumerate() {
        let offset = k as isize - lead as isize;
        let outgoing = read_clamped(channel, total, outgoing_end as isize + offset);
        let incoming = read_clamped(channel, total, incoming_start as isize + offset);
        let (gain_out, gain_in) = (fade_out(k as i64, length), fade_in(k as i64, length));
        *sample = (f64::from(outgoing) * gain_out + f64::from(incoming) * gain_in) as f32;
    }
}

/// Per-sample gain of the gate: for each kept span a plateau of 1 with ramps centred on its
/// interior edges; where ramps of neighbouring spans overlap, the larger gain wins so a short
/// cut dips rather than clicks.
fn gate_gain(pieces: &[Span], ramp: usize, total: usize) -> Vec<f64> {
    let mut gain = vec![0.0f64; total];
    let lead = ramp / 2;
    for piece in pieces {
        let fades_in = piece.start > 0;
        let fades_out = piece.end < total;
        let first = if fades_in {
            piece.start.saturating_sub(lead)
        } else {
            piece.start
        };
        let last = if fades_out {
            (piece.end + ramp - lead).min(total)
        } else {
            piece.end
        };
        let fade_in_origin = piece.start as isize - lead as isize;
        let fade_out_origin = piece.end as isize - lead as isize;
        for (i, g) in gain.iter_mut().enumerate().take(last).skip(first) {
            let mut w = 1.0;
            if fades_in {
                w *= fade_in((i as isize - fade_in_origin) as i64, ramp);
            }
            if fades_out {
                w *= fade_out((i as isize - fade_out_origin) as i64, ramp);
            }
            *g = g.max(w);
        }
    }
    gain
}

/// `x` scaled by `gain`, passing exact unity and silence through untouched by rounding.
fn apply_gain(x: f32, gain: f64) -> f32 {
    if gain >= 1.0 {
        x
    } else if gain <= 0.0 {
        0.0
    } else {
        (f64::from(x) * gain) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::FRAC_PI_2;

    const RATE: u32 = 48_000;

    use crate::synth::Lcg;

    fn noise(len: usize, seed: u64) -> Vec<f32> {
        let mut rng = Lcg::new(seed);
        (0..len).map(|_| rng.sample()).collect()
    }

    /// A ramp signal whose every sample is distinct, so any misplaced read shows.
    fn ramp_signal(len: usize, channel: usize) -> Vec<f32> {
        (0..len).map(|i| i as f32 + 0.25 * channel as f32).collect()
    }

    fn range(start: f64, end: f64) -> TimeRange {
        TimeRange::new(start, end)
    }

    fn rms(samples: &[f32]) -> f64 {
        let power: f64 = samples.iter().map(|&x| f64::from(x).powi(2)).sum();
        (power / samples.len().max(1) as f64).sqrt()
    }

    fn db(ratio: f64) -> f64 {
        20.0 * ratio.log10()
    }

    #[test]
    fn one_piece_is_an_exact_copy() {
        let input = vec![ramp_signal(RATE as usize, 0), ramp_signal(RATE as usize, 1)];
        let out = render_keep(&input, RATE, &[range(0.25, 0.75)], 0.05);
        for (o, i) in out.iter().zip(&input) {
            assert_eq!(o.as_slice(), &i[12_000..36_000]);
        }
    }

    #[test]
    fn zero_crossfade_concatenates_exactly() {
        let input = vec![ramp_signal(RATE as usize, 0)];
        let out = render_keep(&input, RATE, &[range(0.0, 0.1), range(0.5, 0.6)], 0.0);
        let expected: Vec<f32> = input[0][..4800]
            .iter()
            .chain(&input[0][24_000..28_800])
            .copied()
            .collect();
        assert_eq!(out[0], expected);
    }

    #[test]
    fn output_length_is_the_sum_of_kept_pieces_and_channels_are_kept() {
        let input: Vec<Vec<f32>> = (0..3).map(|c| noise(RATE as usize * 2, c)).collect();
        let keep = [range(0.1, 0.5), range(0.70001, 0.9), range(1.2, 2.0)];
        let out = render_keep(&input, RATE, &keep, 0.02);
        assert_eq!(out.len(), 3);
        // 19 200 + 9 600 (0.70001 s rounds to sample 33 600) + 38 400.
        assert!(out.iter().all(|c| c.len() == 19_200 + 9_600 + 38_400));
    }

    #[test]
    fn samples_away_from_joins_are_untouched() {
        let input = vec![ramp_signal(RATE as usize, 0)];
        let out = render_keep(&input, RATE, &[range(0.0, 0.5), range(0.7, 1.0)], 0.01);
        // 480-sample crossfade centred on output sample 24 000.
        assert_eq!(&out[0][..23_760], &input[0][..23_760]);
        assert_eq!(&out[0][24_240..], &input[0][33_840..]);
        assert_ne!(
            out[0][24_000], input[0][33_600],
            "the join must be crossfaded"
        );
    }

    #[test]
    fn the_crossfade_reads_past_each_piece_edge() {
        // Outgoing continues past sample 24 000, incoming starts before 33 600; with a
        // two-sample crossfade both reads are at known positions.
        let input = vec![ramp_signal(RATE as usize, 0)];
        let out = render_keep(
            &input,
            RATE,
            &[range(0.0, 0.5), range(0.7, 1.0)],
            2.0 / 48_000.0,
        );
        let (c1, s1) = ((FRAC_PI_2 * 0.25).cos(), (FRAC_PI_2 * 0.25).sin());
        let (c2, s2) = ((FRAC_PI_2 * 0.75).cos(), (FRAC_PI_2 * 0.75).sin());
        let first = (23_999.0 * c1 + 33_599.0 * s1) as f32;
        let second = (24_000.0 * c2 + 33_600.0 * s2) as f32;
        assert_eq!(&out[0][23_999..24_001], &[first, second]);
    }

    #[test]
    fn dc_does_not_dip_at_a_join() {
        let input = vec![vec![0.5f32; RATE as usize]];
        let out = render_keep(&input, RATE, &[range(0.0, 0.4), range(0.6, 1.0)], 0.05);
        let lowest = out[0].iter().copied().fold(f32::INFINITY, f32::min);
        let highest = out[0].iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert!(lowest >= 0.5 * 0.97, "level dipped to {lowest}");
        assert!(highest <= 0.5 * 1.4143, "level rose to {highest}");
    }

    #[test]
    fn white_noise_keeps_its_level_across_a_join() {
        let input = vec![noise(RATE as usize * 2, 11)];
        let crossfade = 0.05;
        let out = render_keep(&input, RATE, &[range(0.0, 0.8), range(1.1, 2.0)], crossfade);
        let join = 38_400;
        let half = (crossfade * f64::from(RATE)) as usize / 2;
        let across = rms(&out[0][join - half..join + half]);
        let reference = rms(&input[0]);
        let difference = db(across / reference).abs();
        assert!(
            difference < 1.0,
            "level changed by {difference:.2} dB across the join"
        );
    }

    #[test]
    fn crossfade_longer_than_the_pieces_is_shortened() {
        let input = vec![noise(RATE as usize, 3), noise(RATE as usize, 4)];
        let keep = [range(0.1, 0.101), range(0.3, 0.3005), range(0.9, 1.0)];
        let out = render_keep(&input, RATE, &keep, 5.0);
        for channel in &out {
            assert_eq!(channel.len(), 48 + 24 + 4_800);
            assert!(channel.iter().all(|x| x.is_finite() && x.abs() <= 1.5));
        }
        // The crossfade cannot reach into the long last piece past the short one's length.
        assert_eq!(&out[0][48 + 24 + 12..], &input[0][43_200 + 12..48_000]);
    }

    #[test]
    fn reads_at_the_audio_edges_are_clamped() {
        // The outgoing piece ends at the last sample, the incoming one starts at the first.
        let input = vec![ramp_signal(1_000, 0)];
        let out = render_keep(&input, 1_000, &[range(0.5, 1.0), range(0.0, 0.5)], 0.1);
        assert_eq!(out[0].len(), 1_000);
        assert!(out[0]
            .iter()
            .all(|x| x.is_finite() && *x >= 0.0 && *x <= 999.0 * 1.415));
    }

    #[test]
    fn ranges_outside_the_audio_are_clipped() {
        let input = vec![ramp_signal(1_000, 0)];
        let out = render_keep(&input, 1_000, &[range(-1.0, 0.1), range(0.9, 5.0)], 0.0);
        let expected: Vec<f32> = input[0][..100]
            .iter()
            .chain(&input[0][900..])
            .copied()
            .collect();
        assert_eq!(out[0], expected);
    }

    #[test]
    fn empty_keep_gives_empty_channels() {
        let input = vec![noise(1_000, 1), noise(1_000, 2)];
        assert_eq!(
            render_keep(&input, RATE, &[], 0.05),
            vec![Vec::<f32>::new(); 2]
        );
        let degenerate = [range(0.5, 0.5), range(0.7, 0.2), range(f64::NAN, f64::NAN)];
        assert_eq!(
            render_keep(&input, RATE, &degenerate, 0.05),
            vec![Vec::<f32>::new(); 2]
        );
        assert!(render_keep(&[], RATE, &[range(0.0, 1.0)], 0.05).is_empty());
    }

    #[test]
    fn degenerate_parameters_do_not_panic() {
        let input = vec![noise(1_000, 5), vec![0.25; 10]];
        let keep = [range(0.0, 0.01), range(0.015, 0.02)];
        for rate in [0, 1, RATE] {
            for fade in [f64::NAN, -1.0, f64::INFINITY, 1e300] {
                let out = render_keep(&input, rate, &keep, fade);
                assert!(out.iter().all(|c| c.len() == out[0].len()));
                let gated = render_gated(&input, rate, &keep, fade);
                assert_eq!(gated[0].len(), 1_000);
                assert_eq!(gated[1].len(), 10);
            }
        }
    }

    #[test]
    fn short_channels_read_as_silence() {
        let input = vec![vec![1.0f32; 100], vec![1.0f32; 10]];
        let out = render_keep(&input, 100, &[range(0.5, 1.0)], 0.0);
        assert_eq!(out[0], vec![1.0; 50]);
        assert_eq!(out[1], vec![0.0; 50]);
    }

    // ---- gated render ----

    #[test]
    fn gating_keeps_kept_audio_bit_exact_and_zeroes_cuts() {
        let input: Vec<Vec<f32>> = (0..2).map(|c| noise(RATE as usize, 20 + c)).collect();
        // Kept [0.2, 0.5) and [0.7, 1.0): samples 9 600..24 000 and 33 600..48 000.
        let out = render_gated(&input, RATE, &[range(0.2, 0.5), range(0.7, 1.0)], 0.01);
        let half = 240;
        for (o, i) in out.iter().zip(&input) {
            assert_eq!(o.len(), i.len());
            assert!(o[..9_600 - half].iter().all(|&x| x == 0.0));
            assert_eq!(
                &o[9_600 + half..24_000 - half],
                &i[9_600 + half..24_000 - half]
            );
            assert!(o[24_000 + half..33_600 - half].iter().all(|&x| x == 0.0));
            assert_eq!(
                &o[33_600 + half..],
                &i[33_600 + half..],
                "no fade at the file end"
            );
        }
    }

    #[test]
    fn gate_ramps_are_monotone_equal_power_curves() {
        let input = vec![vec![1.0f32; 10_000]];
        let out = render_gated(&input, 1_000, &[range(2.0, 6.0)], 0.5);
        let fade_in = &out[0][1_750..2_250];
        let fade_out = &out[0][5_750..6_250];
        assert!(
            fade_in.windows(2).all(|w| w[0] <= w[1]),
            "fade-in not rising"
        );
        assert!(
            fade_out.windows(2).all(|w| w[0] >= w[1]),
            "fade-out not falling"
        );
        assert!(fade_in[0] > 0.0 && fade_in[499] < 1.0 && out[0][2_250] == 1.0);
        assert!(out[0][1_749] == 0.0 && out[0][6_250] == 0.0);
        // Half way through an equal-power ramp the gain is 1/√2, not a linear fade's 1/2.
        assert!((fade_in[250] - std::f32::consts::FRAC_1_SQRT_2).abs() < 0.01);
    }

    #[test]
    fn zero_ramp_is_a_hard_gate() {
        let input = vec![ramp_signal(1_000, 0)];
        let out = render_gated(&input, 1_000, &[range(0.25, 0.5)], 0.0);
        let expected: Vec<f32> = (0..1_000)
            .map(|i| {
                if (250..500).contains(&i) {
                    input[0][i]
                } else {
                    0.0
                }
            })
            .collect();
        assert_eq!(out[0], expected);
    }

    #[test]
    fn gating_everything_or_nothing() {
        let input = vec![noise(5_000, 8)];
        assert_eq!(render_gated(&input, 1_000, &[range(0.0, 5.0)], 0.1), input);
        assert_eq!(
            render_gated(&input, 1_000, &[], 0.1),
            vec![vec![0.0; 5_000]]
        );
        assert!(render_gated(&[], 1_000, &[range(0.0, 5.0)], 0.1).is_empty());
    }

    #[test]
    fn a_short_cut_dips_without_dropping_to_a_click() {
        // A 20-sample cut with 100-sample ramps: the gain dips but stays continuous.
        let input = vec![vec![1.0f32; 1_000]];
        let out = render_gated(&input, 1_000, &[range(0.0, 0.49), range(0.51, 1.0)], 0.1);
        let steps = out[0].windows(2).map(|w| (w[1] - w[0]).abs());
        assert!(steps.fold(0.0f32, f32::max) < 0.05, "gain jumps");
        assert!(out[0][500] < 0.9, "the cut must still be audible as a dip");
    }
}
