//! Preallocated storage for the audio thread: a fixed-capacity ring and the lookahead delay.
//! Neither allocates after construction.

/// A fixed-capacity FIFO of `Copy` values that never allocates after construction.
pub struct FixedRing<T: Copy> {
    items: Vec<T>,
    head: usize,
    len: usize,
}

impl<T: Copy + Default> FixedRing<T> {
    /// A ring holding at most `capacity` items (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            items: vec![T::default(); capacity.max(1)],
            head: 0,
            len: 0,
        }
    }
}

impl<T: Copy> FixedRing<T> {
    /// Appends `item`; returns `false` (and drops nothing) when full.
    pub fn push(&mut self, item: T) -> bool {
        if self.len == self.items.len() {
            return false;
        }
        let at = (self.head + self.len) % self.items.len();
        self.items[at] = item;
        self.len += 1;
        true
    }

    /// The `i`-th oldest item.
    pub fn get(&self, i: usize) -> Option<T> {
        (i < self.len).then(|| self.items[(self.head + i) % self.items.len()])
    }

    /// Removes the oldest item.
    pub fn pop(&mut self) -> Option<T> {
        let item = self.get(0)?;
        self.head = (self.head + 1) % self.items.len();
        self.len -= 1;
        Some(item)
    }

    /// Number of items held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether no more items fit.
    pub fn is_full(&self) -> bool {
        self.len == self.items.len()
    }

    /// Empties the ring.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

/// A per-channel delay of a fixed number of samples.
pub struct DelayLine {
    rings: Vec<Vec<f32>>,
    index: usize,
}

impl DelayLine {
    /// A silent delay of `samples` for `channels` channels.
    pub fn new(channels: usize, samples: usize) -> Self {
        Self {
            rings: vec![vec![0.0; samples]; channels],
            index: 0,
        }
    }

    /// The delay in samples.
    pub fn len(&self) -> usize {
        self.rings.first().map_or(0, Vec::len)
    }

    /// Whether the delay is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills the delay with silence.
    pub fn clear(&mut self) {
        self.rings.iter_mut().for_each(|r| r.fill(0.0));
        self.index = 0;
    }

    /// Delays each channel of `block` in place: what comes out is what went in `len()` samples
    /// earlier. Swapping the block with the ring's oldest samples does both moves at once.
    pub fn process(&mut self, block: &mut [&mut [f32]]) {
        let delay = self.len();
        let frames = block.first().map_or(0, |c| c.len());
        if delay == 0 || frames == 0 {
            return;
        }
        let start = self.index;
        for (channel, ring) in block.iter_mut().zip(&mut self.rings) {
            let (mut done, mut at) = (0, start);
            while done < frames {
                let n = (frames - done).min(delay - at);
                channel[done..done + n].swap_with_slice(&mut ring[at..at + n]);
                done += n;
                at = (at + n) % delay;
            }
        }
        self.index = (start + frames) % delay;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_line_delays_by_its_length_whatever_the_block_size() {
        let input: Vec<f32> = (1..=100).map(|i| i as f32).collect();
        for block in [1, 3, 7, 64] {
            let mut delay = DelayLine::new(1, 10);
            let mut out = Vec::new();
            for chunk in input.chunks(block) {
                let mut buf = chunk.to_vec();
                delay.process(&mut [&mut buf[..]]);
                out.extend(buf);
            }
            assert_eq!(&out[..10], &[0.0; 10]);
            assert_eq!(&out[10..], &input[..90]);
        }
    }

    #[test]
    fn ring_never_grows() {
        let mut ring = FixedRing::<u32>::new(2);
        assert!(ring.push(1) && ring.push(2) && !ring.push(3));
        assert_eq!(ring.pop(), Some(1));
        assert!(ring.push(4));
        assert_eq!(
            (ring.get(0), ring.get(1), ring.len()),
            (Some(2), Some(4), 2)
        );
    }
}
