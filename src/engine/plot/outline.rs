//! The outline a waveform plot draws, kept instead of the audio: the min and max of the mono
//! mix over short buckets, built in one pass over blocks (about 1/128 of the audio's size).

/// Source frames per bucket: 5.8 ms at 44.1 kHz, finer than a pixel column of any plot.
const BUCKET_FRAMES: usize = 256;

/// Per-bucket min and max of a mono signal.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveformOutline {
    /// Buckets per second.
    rate: f64,
    low: Vec<f32>,
    high: Vec<f32>,
}

impl WaveformOutline {
    /// The outline of a whole mono signal at `sample_rate` Hz.
    pub fn of_mono(mono: &[f32], sample_rate: u32) -> Self {
        let mut builder = OutlineBuilder::new(sample_rate);
        builder.push(mono);
        builder.finish()
    }

    /// The seconds the outline covers.
    pub fn duration(&self) -> f64 {
        if self.rate > 0.0 {
            self.low.len() as f64 / self.rate
        } else {
            0.0
        }
    }

    /// The part from `start` to `end` seconds, re-timed to start at 0.
    pub fn window(&self, start: f64, end: f64) -> Self {
        let first = self.bucket_at(start);
        let last = self.bucket_at(end).max(first);
        Self {
            rate: self.rate,
            low: self.low[first..last].to_vec(),
            high: self.high[first..last].to_vec(),
        }
    }

    /// One (time, min, max) per pixel column of a plot `x_max` seconds wide.
    pub fn envelope(&self, x_max: f64, columns: u32) -> Vec<(f64, f32, f32)> {
        if self.low.is_empty() || columns == 0 {
            return Vec::new();
        }
        let column_s = x_max / f64::from(columns);
        (0..columns)
            .filter_map(|c| {
                let t0 = f64::from(c) * column_s;
                let first = self.bucket_at(t0);
                // At least one bucket per column, so short clips are not drawn as dots.
                let last = self
                    .bucket_at(t0 + column_s)
                    .max(first + 1)
                    .min(self.low.len());
                let lo = self.low[first..last]
                    .iter()
                    .copied()
                    .fold(f32::INFINITY, f32::min);
                let hi = self.high[first..last]
                    .iter()
                    .copied()
                    .fold(f32::NEG_INFINITY, f32::max);
                (lo <= hi).then_some((t0 + column_s / 2.0, lo, hi))
            })
            .collect()
    }

    fn bucket_at(&self, seconds: f64) -> usize {
        let index = (seconds * self.rate).max(0.0);
        (index as usize).min(self.low.len())
    }
}

/// Builds a [`WaveformOutline`] from mono blocks of any size.
pub struct OutlineBuilder {
    rate: f64,
    /// Frames in the bucket being filled.
    filled: usize,
    low: f32,
    high: f32,
    outline_low: Vec<f32>,
    outline_high: Vec<f32>,
}

impl OutlineBuilder {
    /// A builder for audio at `sample_rate` Hz.
    pub fn new(sample_rate: u32) -> Self {
        Self {
            rate: f64::from(sample_rate) / BUCKET_FRAMES as f64,
            filled: 0,
            low: f32::INFINITY,
            high: f32::NEG_INFINITY,
            outline_low: Vec::new(),
            outline_high: Vec::new(),
        }
    }

    /// Adds mono samples; non-finite ones are not drawn.
    pub fn push(&mut self, mono: &[f32]) {
        for &x in mono {
            if x.is_finite() {
                self.low = self.low.min(x);
                self.high = self.high.max(x);
            }
            self.filled += 1;
            if self.filled == BUCKET_FRAMES {
                self.close_bucket();
            }
        }
    }

    /// The outline of everything pushed (a last, partial bucket included).
    pub fn finish(mut self) -> WaveformOutline {
        if self.filled > 0 {
            self.close_bucket();
        }
        WaveformOutline {
            rate: self.rate,
            low: self.outline_low,
            high: self.outline_high,
        }
    }

    fn close_bucket(&mut self) {
        // A bucket of only non-finite samples draws as silence.
        let (low, high) = if self.low <= self.high {
            (self.low, self.high)
        } else {
            (0.0, 0.0)
        };
        self.outline_low.push(low);
        self.outline_high.push(high);
        self.filled = 0;
        self.low = f32::INFINITY;
        self.high = f32::NEG_INFINITY;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_build_the_outline_of_the_whole_signal() {
        let mono: Vec<f32> = (0..10_000)
            .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let whole = WaveformOutline::of_mono(&mono, 8000);
        let mut builder = OutlineBuilder::new(8000);
        for block in mono.chunks(333) {
            builder.push(block);
        }
        assert_eq!(builder.finish(), whole);
        assert!((whole.duration() - 10_240.0 / 8000.0).abs() < 1e-9);
    }

    #[test]
    fn envelope_has_one_min_max_per_column() {
        // 10 s at 2560 Hz: 100 buckets, ten per second.
        let mono: Vec<f32> = (0..25_600)
            .map(|i| if (i / 2560) % 2 == 0 { 0.5 } else { -0.25 })
            .collect();
        let outline = WaveformOutline::of_mono(&mono, 2560);
        let env = outline.envelope(10.0, 10);
        assert_eq!(env.len(), 10);
        assert_eq!((env[0].1, env[0].2), (0.5, 0.5));
        assert_eq!((env[1].1, env[1].2), (-0.25, -0.25));
        // Columns past the audio are left empty.
        assert_eq!(outline.envelope(20.0, 10).len(), 5);
        assert_eq!(outline.window(2.0, 3.0).envelope(1.0, 1)[0].1, 0.5);
    }
}
