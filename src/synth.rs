//! Synthetic audio for tests and benchmarks: a deterministic generator and the signals built
//! from it, so every fixture is identical on every machine and no test reads files from
//! outside the repository. Compiled for the crate's own tests and, through the `test-support`
//! feature, for its integration tests and benchmarks; never into what users install.

use std::f32::consts::TAU;

/// A linear congruential generator (Knuth's MMIX constants): tiny, deterministic, and good
/// enough for noise floors and random test cases.
#[derive(Debug, Clone)]
pub struct Lcg(u64);

impl Lcg {
    /// A generator whose state starts at `seed` exactly.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator whose start is `seed` scrambled, so that nearby seeds give unrelated streams.
    pub fn seeded(seed: u64) -> Self {
        Self(seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1))
    }

    /// A generator whose start is `seed` times 2^64 over the golden ratio, made odd: another
    /// spread of nearby seeds, which the alignment fixtures were built with.
    pub fn spread(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn step(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0
    }

    /// The high 32 bits of the next state.
    pub fn next_u32(&mut self) -> u32 {
        (self.step() >> 32) as u32
    }

    /// Uniform in [0, 1), from the high 24 bits of the next state (exact in `f32`).
    pub fn unit(&mut self) -> f32 {
        (self.step() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [-1, 1).
    pub fn sample(&mut self) -> f32 {
        self.unit() * 2.0 - 1.0
    }

    /// Uniform in [0, 1], from 32 bits.
    pub fn unit_f64(&mut self) -> f64 {
        f64::from(self.next_u32()) / f64::from(u32::MAX)
    }

    /// Uniform in 0..n (0 when `n` is 0).
    pub fn below(&mut self, n: u32) -> u32 {
        self.next_u32() % n.max(1)
    }
}

/// Samples in `seconds` at `rate`, truncated.
fn samples(seconds: f64, rate: u32) -> usize {
    (seconds * f64::from(rate)) as usize
}

/// A plucked note of five harmonics at `f` Hz, `t` seconds after its onset.
fn pluck(f: f32, t: f32) -> f32 {
    (1..6)
        .map(|h| (TAU * f * h as f32 * t).sin() / h as f32)
        .sum()
}

/// "Music" that repeats: plucked harmonic notes two per second (120 BPM) over a four-chord
/// loop, each 0.75 s long, over a faint noise floor.
pub fn plucked_loop(seconds: f64, rate: u32, seed: u64) -> Vec<f32> {
    let n = samples(seconds, rate);
    let mut out = vec![0.0f32; n];
    let mut rng = Lcg::seeded(seed);
    let roots = [220.0f32, 174.6, 261.6, 196.0];
    let note_len = samples(0.75, rate);
    for (k, start) in (0..n).step_by((rate as usize / 2).max(1)).enumerate() {
        let f = roots[(k / 4) % 4] * [1.0, 1.25, 1.5, 2.0][k % 4];
        for i in 0..note_len.min(n - start) {
            let t = i as f32 / rate as f32;
            out[start + i] += 0.3 * (-4.0 * t).exp() * pluck(f, t) + 0.002 * rng.sample();
        }
    }
    out
}

/// "Music" that never repeats: plucked notes of random pitch on a pentatonic scale, random
/// length and level at random times, over a quiet noise floor.
pub fn random_notes(seconds: f64, rate: u32, seed: u64) -> Vec<f32> {
    random_notes_played(seconds, rate, seed, 0.0, 1.0)
}

/// The passage [`random_notes`] makes with `seed` and the same `seconds`, played again
/// `semitones` higher and `tempo` times as fast (so it runs on past `seconds` of the original):
/// what another take of the same music sounds like.
pub fn random_notes_played(
    seconds: f64,
    rate: u32,
    seed: u64,
    semitones: f32,
    tempo: f64,
) -> Vec<f32> {
    let n = (seconds * f64::from(rate)).round() as usize;
    let at = |s: f64| (s / tempo * f64::from(rate)).round() as usize;
    let mut rng = Lcg::spread(seed);
    let mut out: Vec<f32> = (0..n).map(|_| 0.002 * (rng.unit() - 0.5)).collect();
    let scale = [0.0f32, 2.0, 4.0, 7.0, 9.0, 12.0, 14.0, 16.0, 19.0, 21.0];
    let mut start = 0usize;
    while start < n {
        let step = scale[(rng.unit() * scale.len() as f32) as usize % scale.len()];
        let f = 110.0 * 2f32.powf((step + semitones) / 12.0);
        let len = at(0.3 + 0.7 * f64::from(rng.unit()));
        let level = 0.1 + 0.2 * rng.unit();
        for i in 0..len.min(n - start) {
            let t = i as f32 / rate as f32;
            out[start + i] += level * (-t * 5.0).exp() * pluck(f, t);
        }
        start += at(0.12 + 0.3 * f64::from(rng.unit()));
    }
    out
}

/// White noise peaking at `level`, the kind of junk a bad take or handling noise makes.
pub fn white_noise(seconds: f64, rate: u32, seed: u64, level: f32) -> Vec<f32> {
    let mut rng = Lcg::seeded(seed);
    (0..samples(seconds, rate))
        .map(|_| level * rng.sample())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_deterministic_and_in_range() {
        let (mut a, mut b) = (Lcg::seeded(3), Lcg::seeded(3));
        for _ in 0..1000 {
            let (x, y) = (a.sample(), b.sample());
            assert_eq!(x, y);
            assert!((-1.0..1.0).contains(&x));
            let u = a.unit_f64();
            assert_eq!(u, b.unit_f64());
            assert!((0.0..=1.0).contains(&u));
            assert!(a.below(7) < 7 && b.below(7) < 7);
        }
        assert_ne!(plucked_loop(1.0, 8000, 1), plucked_loop(1.0, 8000, 2));
        assert_eq!(random_notes(1.0, 8000, 5), random_notes(1.0, 8000, 5));
        assert_eq!(white_noise(0.5, 8000, 1, 0.3).len(), 4000);
    }
}
