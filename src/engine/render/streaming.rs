//! [`render_keep`](super::render_keep) for a source that arrives a block at a time: the same
//! samples, holding only what the next crossfade still needs instead of the whole recording.

use anyhow::{bail, Result};

use super::{samples_for, spans, Span};
use crate::engine::fades::{fade_in, fade_out};
use crate::engine::timeline::TimeRange;

/// Output frames gathered before they are handed to the sink.
const OUT_BLOCK: usize = 4096;

/// One stretch of the output: a copy of source samples, or a crossfade between two places.
#[derive(Debug, Clone, Copy)]
enum Stretch {
    /// Source samples `from..to`, as they are.
    Copy { from: usize, to: usize },
    /// `length` samples of the outgoing piece from `outgoing` fading out over the incoming
    /// piece from `incoming` fading in (positions may reach past either end of the source).
    Join {
        outgoing: isize,
        incoming: isize,
        length: usize,
    },
}

/// Splices the kept ranges of a source of known length as it is pushed, writing the edit to a
/// sink in blocks. The kept ranges must be in ascending order and must not overlap, as a
/// [`CutPlan`](crate::engine::cut_plan::CutPlan)'s are.
pub struct StreamingSplice {
    stretches: Vec<Stretch>,
    /// The stretch being written and how far into it.
    current: usize,
    done_in_current: usize,
    total: usize,
    /// Source samples held, per channel, from source position `held_from` on.
    held: Vec<Vec<f32>>,
    held_from: usize,
    received: usize,
    out: Vec<Vec<f32>>,
}

impl StreamingSplice {
    /// A splice of `keep` (seconds) from a source of `total` frames and `channels` channels at
    /// `sample_rate` Hz, with crossfades of `crossfade_seconds` as in `render_keep`.
    pub fn new(
        keep: &[TimeRange],
        sample_rate: u32,
        total: usize,
        channels: usize,
        crossfade_seconds: f64,
    ) -> Result<Self> {
        let pieces = spans(keep, sample_rate, total);
        if pieces.windows(2).any(|p| p[1].start < p[0].end) {
            bail!("the kept ranges overlap or are out of order");
        }
        let crossfade = samples_for(crossfade_seconds, sample_rate);
        Ok(Self {
            stretches: stretches(&pieces, crossfade),
            current: 0,
            done_in_current: 0,
            total,
            held: vec![Vec::new(); channels],
            held_from: 0,
            received: 0,
            out: vec![Vec::with_capacity(OUT_BLOCK); channels],
        })
    }

    /// Adds the next block of the source; complete output blocks go to `sink`.
    pub fn push(
        &mut self,
        block: &[Vec<f32>],
        sink: &mut dyn FnMut(&[Vec<f32>]) -> Result<()>,
    ) -> Result<()> {
        let frames = block.first().map_or(0, Vec::len);
        for (held, plane) in self.held.iter_mut().zip(block) {
            held.extend_from_slice(plane);
        }
        self.received += frames;
        self.write_available(sink)?;
        self.forget_unneeded();
        Ok(())
    }

    /// Writes the rest of the edit once the whole source has been pushed.
    pub fn finish(mut self, sink: &mut dyn FnMut(&[Vec<f32>]) -> Result<()>) -> Result<()> {
        if self.received < self.total {
            bail!(
                "the recording ended after {} of the {} frames it had when it was analysed",
                self.received,
                self.total
            );
        }
        self.write_available(sink)?;
        if self.out.first().is_some_and(|o| !o.is_empty()) {
            sink(&self.out)?;
        }
        Ok(())
    }

    /// Source position `index` clamped to the recording, as `render_keep` reads it.
    fn clamp(&self, index: isize) -> usize {
        index.clamp(0, self.total.saturating_sub(1) as isize) as usize
    }

    /// Whether clamped source position `index` has arrived.
    fn has(&self, index: usize) -> bool {
        index < self.received.min(self.total)
    }

    fn write_available(&mut self, sink: &mut dyn FnMut(&[Vec<f32>]) -> Result<()>) -> Result<()> {
        while let Some(&stretch) = self.stretches.get(self.current) {
            let finished = match stretch {
                Stretch::Copy { from, to } => {
                    let start = from + self.done_in_current;
                    let end = to.min(self.received);
                    if end > start {
                        let (first, last) = (start - self.held_from, end - self.held_from);
                        for (out, held) in self.out.iter_mut().zip(&self.held) {
                            out.extend_from_slice(&held[first..last]);
                        }
                        self.done_in_current += end - start;
                    }
                    from + self.done_in_current >= to
                }
                Stretch::Join {
                    outgoing,
                    incoming,
                    length,
                } => {
                    while self.done_in_current < length {
                        let k = self.done_in_current as isize;
                        let (a, b) = (self.clamp(outgoing + k), self.clamp(incoming + k));
                        if !self.has(a) || !self.has(b) {
                            break;
                        }
                        let position = self.done_in_current as i64;
                        let (gain_out, gain_in) =
                            (fade_out(position, length), fade_in(position, length));
                        for (out, held) in self.out.iter_mut().zip(&self.held) {
                            let (x, y) = (held[a - self.held_from], held[b - self.held_from]);
                            out.push((f64::from(x) * gain_out + f64::from(y) * gain_in) as f32);
                        }
                        self.done_in_current += 1;
                    }
                    self.done_in_current >= length
                }
            };
            if self.out.first().is_some_and(|o| o.len() >= OUT_BLOCK) {
                sink(&self.out)?;
                self.out.iter_mut().for_each(Vec::clear);
            }
            if !finished {
                break;
            }
            self.current += 1;
            self.done_in_current = 0;
        }
        Ok(())
    }

    /// Drops held samples before the earliest position any later stretch reads.
    fn forget_unneeded(&mut self) {
        let needed = match self.stretches.get(self.current) {
            Some(Stretch::Copy { from, .. }) => from + self.done_in_current,
            Some(Stretch::Join { outgoing, .. }) => {
                self.clamp(outgoing + self.done_in_current as isize)
            }
            None => self.received,
        }
        .min(self.received);
        if needed > self.held_from {
            let drop = needed - self.held_from;
            for held in &mut self.held {
                held.drain(..drop);
            }
            self.held_from = needed;
        }
    }
}

/// The output of `render_keep` as stretches in output order: each piece's body, and between
/// two pieces a crossfade centred on the join, `lead` samples before it.
fn stretches(pieces: &[Span], crossfade: usize) -> Vec<Stretch> {
    let mut out = Vec::with_capacity(2 * pieces.len());
    let mut head = 0;
    for (i, piece) in pieces.iter().enumerate() {
        let next = pieces.get(i + 1);
        let length = next.map_or(0, |n| crossfade.min(piece.len()).min(n.len()));
        let lead = length / 2;
        out.push(Stretch::Copy {
            from: piece.start + head,
            to: piece.end - lead,
        });
        if let Some(next) = next.filter(|_| length > 0) {
            out.push(Stretch::Join {
                outgoing: piece.end as isize - lead as isize,
                incoming: next.start as isize - lead as isize,
                length,
            });
        }
        head = length - lead;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::render_keep;
    use super::*;
    use proptest::prelude::*;

    fn streamed(
        channels: &[Vec<f32>],
        keep: &[TimeRange],
        rate: u32,
        crossfade: f64,
        block: usize,
    ) -> Vec<Vec<f32>> {
        let total = channels[0].len();
        let mut splice =
            StreamingSplice::new(keep, rate, total, channels.len(), crossfade).unwrap();
        let mut out = vec![Vec::new(); channels.len()];
        let mut sink = |b: &[Vec<f32>]| {
            for (o, p) in out.iter_mut().zip(b) {
                o.extend_from_slice(p);
            }
            Ok(())
        };
        for start in (0..total).step_by(block) {
            let end = (start + block).min(total);
            let piece: Vec<Vec<f32>> = channels.iter().map(|c| c[start..end].to_vec()).collect();
            splice.push(&piece, &mut sink).unwrap();
        }
        splice.finish(&mut sink).unwrap();
        out
    }

    proptest! {
        #[test]
        fn streaming_splices_exactly_what_the_whole_file_render_does(
            total in 1usize..3000,
            cuts in proptest::collection::vec(0.0f64..1.0, 0..12),
            crossfade in 0usize..200,
            block in 1usize..700,
        ) {
            let rate = 1000;
            let channels: Vec<Vec<f32>> = (0..2)
                .map(|c| (0..total).map(|i| ((i * (7 + c)) % 101) as f32 / 101.0 - 0.5).collect())
                .collect();
            let mut edges: Vec<f64> = cuts.iter().map(|c| c * total as f64 / 1000.0).collect();
            edges.sort_by(f64::total_cmp);
            let keep: Vec<TimeRange> = edges
                .chunks_exact(2)
                .map(|p| TimeRange::new(p[0], p[1]))
                .collect();
            let crossfade = crossfade as f64 / 1000.0;
            let whole = render_keep(&channels, rate, &keep, crossfade);
            prop_assert_eq!(streamed(&channels, &keep, rate, crossfade, block), whole);
        }
    }

    #[test]
    fn ranges_out_of_order_are_refused() {
        let keep = [TimeRange::new(2.0, 3.0), TimeRange::new(0.0, 1.0)];
        assert!(StreamingSplice::new(&keep, 100, 400, 1, 0.0).is_err());
    }
}
