//! Finding a passage in another performance: subsequence dynamic time warping over pitch-class
//! profiles, in every key.
//!
//! The query (a few seconds of one take) may start and end anywhere in the reference and be
//! played up to twice as fast or as slow (steps of one query frame against one or two reference
//! frames, or two against one), and a whole take may be transposed, so every circular shift of
//! the twelve classes is tried and the best kept. A frame pair costs one minus the cosine of
//! their profiles (both unit length or zero), so a quiet frame costs 1 against anything.

use super::pitch_classes::{Profile, CLASSES};

/// The best placement of a query in a reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// Mean cost along the warping path, 0 (identical) to 2 (opposite); 1 is unrelated.
    pub distance: f32,
    /// First reference frame of the path.
    pub first: usize,
    /// Last reference frame of the path.
    pub last: usize,
    /// Semitones the query was shifted up to match.
    pub shift: usize,
    /// The median, over every place the query could end, of its best distance there: how well
    /// the query matches the reference anywhere. A passage performed again matches one place
    /// far better than the rest; music of the same key and style matches many places alike.
    pub typical: f32,
}

/// The best match of `query` anywhere in `reference`, over every key; `None` when either is
/// empty.
pub fn best_match(query: &[Profile], reference: &[Profile]) -> Option<Match> {
    if query.is_empty() || reference.is_empty() {
        return None;
    }
    let mut anywhere = vec![f32::INFINITY; reference.len()];
    let best = (0..CLASSES)
        .filter_map(|shift| {
            let rotated: Vec<Profile> = query.iter().map(|q| rotate(q, shift)).collect();
            let (ends, best) = warp(&rotated, reference);
            for (a, e) in anywhere.iter_mut().zip(ends) {
                *a = a.min(e);
            }
            best.map(|(distance, first, last)| Match {
                distance,
                first,
                last,
                shift,
                typical: 1.0,
            })
        })
        .min_by(|a, b| a.distance.total_cmp(&b.distance))?;
    let mut finite: Vec<f32> = anywhere.into_iter().filter(|d| d.is_finite()).collect();
    finite.sort_by(f32::total_cmp);
    Some(Match {
        typical: finite.get(finite.len() / 2).copied().unwrap_or(1.0),
        ..best
    })
}

/// How well one fixed profile (the query's mean, unit length) explains the query: mean cost of
/// every frame against it. A held chord, a hum or a howl is explained almost perfectly, so a
/// good match of such a query in the music says nothing about it being the same passage.
pub fn static_distance(query: &[Profile]) -> f32 {
    if query.is_empty() {
        return 1.0;
    }
    let mut mean = [0.0f32; CLASSES];
    for q in query {
        for (m, x) in mean.iter_mut().zip(q) {
            *m += x;
        }
    }
    let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > f32::MIN_POSITIVE {
        mean.iter_mut().for_each(|x| *x /= norm);
    }
    query.iter().map(|q| cost(q, &mean)).sum::<f32>() / query.len() as f32
}

/// `p` with class `k` moved to `k + shift`.
fn rotate(p: &Profile, shift: usize) -> Profile {
    let mut out = [0.0f32; CLASSES];
    for (k, &x) in p.iter().enumerate() {
        out[(k + shift) % CLASSES] = x;
    }
    out
}

fn cost(a: &Profile, b: &Profile) -> f32 {
    1.0 - a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
}

/// One cell of the warping table: the accumulated cost, the path length in steps and the
/// reference frame the path started at.
#[derive(Debug, Clone, Copy)]
struct Cell {
    total: f32,
    steps: u32,
    first: u32,
}

impl Cell {
    const NONE: Self = Self {
        total: f32::INFINITY,
        steps: 1,
        first: 0,
    };

    fn mean(&self) -> f32 {
        self.total / self.steps as f32
    }

    fn then(self, added: f32, steps: u32) -> Self {
        Self {
            total: self.total + added,
            steps: self.steps + steps,
            first: self.first,
        }
    }
}

/// Subsequence DTW: the mean cost of the best path ending at each reference frame, and (mean
/// cost, first, last reference frame) of the best path of all.
///
/// Each cell keeps the predecessor with the lowest mean cost rather than the lowest total, so
/// that paths of different lengths (tempo changes) compare fairly.
fn warp(query: &[Profile], reference: &[Profile]) -> (Vec<f32>, Option<(f32, usize, usize)>) {
    let n = reference.len();
    let mut two_back = vec![Cell::NONE; n];
    let mut previous: Vec<Cell> = reference
        .iter()
        .enumerate()
        .map(|(j, r)| Cell {
            total: cost(&query[0], r),
            steps: 1,
            first: j as u32,
        })
        .collect();
    let mut previous_cost: Vec<f32> = previous.iter().map(|c| c.total).collect();
    let mut current = vec![Cell::NONE; n];
    let mut current_cost = vec![0.0f32; n];
    for q in &query[1..] {
        for (c, r) in current_cost.iter_mut().zip(reference) {
            *c = cost(q, r);
        }
        for j in 0..n {
            let here = current_cost[j];
            let mut best = Cell::NONE;
            let mut consider = |cell: Cell| {
                if cell.total.is_finite() && cell.mean() < best.mean() {
                    best = cell;
                }
            };
            if j >= 1 {
                consider(previous[j - 1].then(here, 1));
                // Two query frames against one reference frame (played slower).
                consider(two_back[j - 1].then(previous_cost[j] + here, 2));
            }
            if j >= 2 {
                // One query frame against two reference frames (played faster).
                consider(previous[j - 2].then(current_cost[j - 1] + here, 2));
            }
            current[j] = best;
        }
        std::mem::swap(&mut two_back, &mut previous);
        std::mem::swap(&mut previous, &mut current);
        std::mem::swap(&mut previous_cost, &mut current_cost);
    }
    let best = previous
        .iter()
        .enumerate()
        .filter(|(_, c)| c.total.is_finite())
        .min_by(|a, b| a.1.mean().total_cmp(&b.1.mean()))
        .map(|(j, c)| (c.mean(), c.first as usize, j));
    (previous.iter().map(Cell::mean).collect(), best)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit profile peaking at `class`, with a little of its fifth.
    fn note(class: usize) -> Profile {
        let mut p = [-0.1f32; CLASSES];
        p[class % CLASSES] = 1.0;
        p[(class + 7) % CLASSES] = 0.4;
        let mean = p.iter().sum::<f32>() / CLASSES as f32;
        p.iter_mut().for_each(|x| *x -= mean);
        let norm = p.iter().map(|x| x * x).sum::<f32>().sqrt();
        p.map(|x| x / norm)
    }

    fn melody(classes: &[usize], frames_per_note: usize) -> Vec<Profile> {
        classes
            .iter()
            .flat_map(|&c| std::iter::repeat_n(note(c), frames_per_note))
            .collect()
    }

    #[test]
    fn a_slower_transposed_take_is_found_where_it_was_played() {
        let tune = [0, 4, 7, 5, 2, 9, 11, 3];
        let mut reference = melody(&[6, 6, 1, 10], 4); // other music first
        let start = reference.len();
        reference.extend(melody(&tune, 4));
        let end = reference.len() - 1;
        reference.extend(melody(&[8, 3, 6], 4));
        // The same tune a semitone flat and half as fast again.
        let query = melody(&tune.map(|c| (c + 11) % 12), 6);
        let m = best_match(&query, &reference).unwrap();
        assert!(m.distance < 0.05, "{m:?}");
        assert_eq!(m.shift, 1, "shifted up a semitone to match");
        assert!(
            m.first.abs_diff(start) <= 1 && m.last.abs_diff(end) <= 1,
            "{m:?}"
        );
    }

    #[test]
    fn unrelated_or_quiet_frames_match_badly_and_a_drone_is_static() {
        let reference = melody(&[0, 4, 7, 5, 2, 9], 4);
        let quiet = vec![[0.0f32; CLASSES]; 10];
        assert!((best_match(&quiet, &reference).unwrap().distance - 1.0).abs() < 1e-6);
        assert!(best_match(&quiet, &[]).is_none());
        let drone = melody(&[3], 20);
        assert!(static_distance(&drone) < 1e-5);
        assert!(static_distance(&melody(&[0, 4, 7, 5, 2, 9], 4)) > 0.5);
    }
}
