//! Audio-thread DSP: the gate that follows published decisions.
//!
//! Everything here is allocation-free after construction: rings are preallocated and the
//! per-block work writes into caller-owned slices.

use std::f32::consts::FRAC_PI_2;

pub use super::buffers::{DelayLine, FixedRing};
use crate::engine::fades::{fade_in, fade_out};

/// Something the gate passes at an exact sample, for MIDI output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mark {
    /// A cut starts here.
    CutStart,
    /// A cut ends here.
    CutEnd,
    /// A bin starts here, with its score scaled to 0..=1 (the threshold at one half).
    Score(f32),
}

/// The gate: keep/cut transitions with equal-power ramps centred on them, as
/// [`crate::engine::render::render_gated`] draws them, plus the bin scores for MIDI.
pub struct GateState {
    /// `(position, keep after)` of transitions not yet fully passed.
    transitions: FixedRing<(u64, bool)>,
    /// `(position, scaled score)` of bins not yet passed.
    scores: FixedRing<(u64, f32)>,
    /// Keep state before the oldest held transition.
    state_before: bool,
    /// Keep state at the newest decided position.
    last_state: bool,
    /// Positions before this are decided.
    horizon: u64,
    ramp: usize,
    lead: usize,
    gain: f32,
    max_step: f32,
}

impl GateState {
    /// A gate remembering up to `capacity` pending transitions and scores.
    pub fn new(capacity: usize) -> Self {
        let mut gate = Self {
            transitions: FixedRing::new(capacity),
            scores: FixedRing::new(capacity),
            state_before: true,
            last_state: true,
            horizon: 0,
            ramp: 0,
            lead: 0,
            gain: 1.0,
            max_step: 1.0,
        };
        gate.set_ramp(0);
        gate
    }

    /// Forgets every decision: all audio counts as kept and undecided again.
    pub fn clear(&mut self) {
        self.transitions.clear();
        self.scores.clear();
        self.state_before = true;
        self.last_state = true;
        self.horizon = 0;
        self.gain = 1.0;
    }

    /// Sets the ramp length in samples.
    pub fn set_ramp(&mut self, ramp: usize) {
        self.ramp = ramp;
        self.lead = ramp / 2;
        // The steepest step of the quarter-sine ramp: larger steps only happen when the audio
        // thread is ahead of the analysis, and then they are slowed to this rate.
        self.max_step = if ramp == 0 {
            1.0
        } else {
            (FRAC_PI_2 / ramp as f32) * 1.001
        };
    }

    /// Whether another decision or score can be taken.
    pub fn has_room(&self) -> bool {
        !self.transitions.is_full() && !self.scores.is_full()
    }

    /// Records that `[start, end)` is kept or cut (decisions arrive in order, contiguous).
    pub fn decide(&mut self, start: u64, end: u64, keep: bool) {
        if keep != self.last_state {
            self.transitions.push((start, keep));
            self.last_state = keep;
        }
        self.horizon = self.horizon.max(end);
    }

    /// Records a bin's scaled score at `position`.
    pub fn score(&mut self, position: u64, scaled: f32) {
        self.scores.push((position, scaled));
    }

    /// Target gain at `q` from the transitions around it (undecided audio is kept).
    fn target(&self, q: u64) -> f32 {
        if q >= self.horizon {
            return 1.0;
        }
        let (mut state, mut prev, mut next) = (self.state_before, None, None);
        for i in 0..self.transitions.len() {
            let Some((pos, keep)) = self.transitions.get(i) else {
                break;
            };
            if pos <= q {
                state = keep;
                prev = Some(pos);
            } else {
                next = Some(pos);
                break;
            }
        }
        let rel = |pos: u64| q as i64 - (pos as i64 - self.lead as i64);
        // The start of the stream is not a transition, so nothing fades there.
        let prev = prev.filter(|&p| p > 0);
        if state {
            let fin = prev.map_or(1.0, |p| fade_in(rel(p), self.ramp) as f32);
            let fout = next.map_or(1.0, |n| fade_out(rel(n), self.ramp) as f32);
            fin * fout
        } else {
            let tail = prev.map_or(0.0, |p| fade_out(rel(p), self.ramp) as f32);
            let head = next.map_or(0.0, |n| fade_in(rel(n), self.ramp) as f32);
            tail.max(head)
        }
    }

    /// Writes the gain of positions `q0 ..` into `gains` and reports every mark passed, with
    /// its offset in the block. Returns whether any gain differs from 1.
    pub fn render(
        &mut self,
        q0: u64,
        gains: &mut [f32],
        mut on_mark: impl FnMut(usize, Mark),
    ) -> bool {
        if let Some(gain) = self.steady_gain(q0, gains.len()) {
            // Nothing changes in this block: one gain, and only the score marks to report.
            gains.fill(gain);
            let end = q0 + gains.len() as u64;
            while let Some((pos, scaled)) = self.scores.get(0) {
                if pos >= end {
                    break;
                }
                if pos >= q0 {
                    on_mark((pos - q0) as usize, Mark::Score(scaled));
                }
                self.scores.pop();
            }
            return gain != 1.0;
        }
        let mut any = false;
        for (i, g) in gains.iter_mut().enumerate() {
            let q = q0 + i as u64;
            while let Some((pos, scaled)) = self.scores.get(0) {
                if pos > q {
                    break;
                }
                if pos == q {
                    on_mark(i, Mark::Score(scaled));
                }
                self.scores.pop();
            }
            if let Some((pos, keep)) = self.first_transition_at(q) {
                debug_assert_eq!(pos, q);
                on_mark(i, if keep { Mark::CutEnd } else { Mark::CutStart });
            }
            let target = self.target(q);
            if q == 0 {
                // Nothing played before the stream start, so there is nothing to ramp from.
                self.gain = target;
            }
            let step = (target - self.gain).clamp(-self.max_step, self.max_step);
            self.gain = if (target - self.gain).abs() <= self.max_step {
                target
            } else {
                self.gain + step
            };
            *g = self.gain;
            any |= self.gain != 1.0;
            self.forget_passed(q);
        }
        any
    }

    /// The gain of all of `q0 .. q0 + n` when it is one settled value: decided, no transition
    /// or ramp touching the span, and the gain already there.
    fn steady_gain(&self, q0: u64, n: usize) -> Option<f32> {
        let end = q0 + n as u64;
        if q0 == 0 || end + self.lead as u64 >= self.horizon {
            return None;
        }
        let (lead, ramp) = (self.lead as u64, self.ramp as u64);
        let mut state = self.state_before;
        for i in 0..self.transitions.len() {
            let (pos, keep) = self.transitions.get(i)?;
            // The ramp around `pos` spans `pos - lead .. pos - lead + ramp`, and the transition
            // itself is a mark to report.
            let (from, to) = (pos.saturating_sub(lead), (pos + ramp).saturating_sub(lead));
            if from <= end && to.max(pos) >= q0 {
                return None;
            }
            if pos < q0 {
                state = keep;
            }
        }
        let gain = if state { 1.0 } else { 0.0 };
        (self.gain == gain).then_some(gain)
    }

    fn first_transition_at(&self, q: u64) -> Option<(u64, bool)> {
        (0..self.transitions.len())
            .filter_map(|i| self.transitions.get(i))
            .find(|&(pos, _)| pos >= q)
            .filter(|&(pos, _)| pos == q)
    }

    /// Drops transitions whose ramps lie wholly before `q`, keeping their state.
    fn forget_passed(&mut self, q: u64) {
        while self.transitions.len() > 1 {
            let (Some((_, keep)), Some((next, _))) =
                (self.transitions.get(0), self.transitions.get(1))
            else {
                break;
            };
            // The oldest transition only matters until the next one's ramp has fully begun.
            if next + (self.ramp as u64) < q {
                self.state_before = keep;
                self.transitions.pop();
            } else {
                break;
            }
        }
        if self.transitions.len() == 1 {
            if let Some((pos, keep)) = self.transitions.get(0) {
                if pos + (self.ramp as u64) < q {
                    self.state_before = keep;
                    self.transitions.pop();
                }
            }
        }
    }
}

/// `x` scaled by `gain`, passing unity and silence through exactly.
pub fn apply_gain(x: f32, gain: f32) -> f32 {
    if gain >= 1.0 {
        x
    } else if gain <= 0.0 {
        0.0
    } else {
        x * gain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_ramps_are_centred_equal_power_and_exact_elsewhere() {
        let mut gate = GateState::new(16);
        gate.set_ramp(8);
        gate.decide(0, 100, true);
        gate.decide(100, 200, false);
        gate.decide(200, 400, true);
        let mut gains = vec![0.0; 300];
        let mut marks = Vec::new();
        gate.render(0, &mut gains, |i, m| marks.push((i, m)));
        assert_eq!(marks, vec![(100, Mark::CutStart), (200, Mark::CutEnd)]);
        assert!(gains[..96].iter().all(|&g| g == 1.0));
        assert!(gains[104..196].iter().all(|&g| g == 0.0));
        assert!(gains[204..].iter().all(|&g| g == 1.0));
        // Equal power: the fade-out mirrors the fade-in.
        for k in 0..8 {
            let (out, inn) = (gains[96 + k], gains[196 + k]);
            assert!(
                (out * out + inn * inn - 1.0).abs() < 1e-5,
                "{k}: {out} {inn}"
            );
        }
    }

    #[test]
    fn undecided_audio_is_kept_and_late_changes_never_jump() {
        let mut gate = GateState::new(16);
        gate.set_ramp(10);
        gate.decide(0, 50, false);
        let mut gains = vec![0.0; 100];
        gate.render(0, &mut gains, |_, _| {});
        assert!(gains[..40].iter().all(|&g| g == 0.0));
        assert_eq!(gains[99], 1.0);
        let steepest = gains
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max);
        assert!(steepest <= FRAC_PI_2 / 10.0 * 1.001, "{steepest}");
    }
}
