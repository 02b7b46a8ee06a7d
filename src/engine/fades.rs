//! Equal-power ramps, the one definition behind offline crossfades and gates and the plugin's
//! real-time gate, so a bounce through the plugin fades the way an offline render does.
//!
//! Gains are sampled at sample centres: a ramp of `n` samples never reaches exactly 0 or 1
//! inside it, and a fade-in and a fade-out of the same position sum to unit power.

use std::f64::consts::FRAC_PI_2;

/// Fade-in gain at ramp position `position`: 0 before the ramp, a quarter sine over `ramp`
/// samples, then 1.
pub fn fade_in(position: i64, ramp: usize) -> f64 {
    if position < 0 {
        0.0
    } else if position as u64 >= ramp as u64 {
        1.0
    } else {
        (FRAC_PI_2 * (position as f64 + 0.5) / ramp as f64).sin()
    }
}

/// Fade-out gain at ramp position `position`: 1 before the ramp, a quarter cosine over `ramp`
/// samples, then 0.
pub fn fade_out(position: i64, ramp: usize) -> f64 {
    if position < 0 {
        1.0
    } else if position as u64 >= ramp as u64 {
        0.0
    } else {
        (FRAC_PI_2 * (position as f64 + 0.5) / ramp as f64).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_are_complementary_in_power_and_clamped_outside() {
        let ramp = 37;
        for p in -3..40 {
            let (a, b) = (fade_in(p, ramp), fade_out(p, ramp));
            assert!((a * a + b * b - 1.0).abs() < 1e-12, "position {p}");
        }
        assert_eq!((fade_in(-1, ramp), fade_out(-1, ramp)), (0.0, 1.0));
        assert_eq!((fade_in(37, ramp), fade_out(37, ramp)), (1.0, 0.0));
        assert!(fade_in(0, ramp) > 0.0 && fade_in(36, ramp) < 1.0);
        assert!((0..36).all(|p| fade_in(p, ramp) < fade_in(p + 1, ramp)));
    }
}
