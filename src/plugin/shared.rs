//! What the audio thread, the analysis thread and the editor share, and how: lock-free queues
//! of fixed-size values between the audio and analysis threads, atomics for status, and a
//! snapshot slot the analysis thread fills only when the editor is not reading it.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam::queue::ArrayQueue;

use super::snapshot::Snapshot;

/// Samples per block sent from the audio thread to the analysis thread.
pub const BLOCK: usize = 512;

/// Bits of a packed horizon holding the position; the rest hold the generation.
const POSITION_BITS: u32 = 48;

/// The host's transport at the first sample of a block.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TransportTag {
    /// Whether the transport is playing.
    pub playing: bool,
    /// Song position in samples.
    pub song_samples: Option<i64>,
    /// Song position in quarter notes.
    pub beats: Option<f64>,
    /// Tempo in BPM.
    pub tempo: Option<f64>,
    /// Start of the current bar, in quarter notes.
    pub bar_start_beats: Option<f64>,
    /// Time signature numerator and denominator.
    pub time_sig: Option<(i32, i32)>,
}

/// Which timeline a position is on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    /// The host's song position, while its transport plays.
    #[default]
    Song,
    /// Samples since the last reset: the timeline of a host that never plays its transport
    /// (an offline processor such as pedalboard) or gives no position at all.
    Stream,
}

/// Mono input for the analysis thread, with where it sits in the stream and the song.
#[derive(Debug, Clone, Copy)]
pub struct InputBlock {
    /// Reset count when the block was written; a new one restarts the analysis.
    pub generation: u32,
    /// The timeline `position` is on.
    pub clock: Clock,
    /// Position of the first sample on `clock`.
    pub position: u64,
    /// Valid samples.
    pub len: usize,
    /// Transport at the first sample.
    pub transport: TransportTag,
    /// The samples (only `len` are valid).
    pub samples: [f32; BLOCK],
}

/// What the analysis thread tells the audio thread, in stream samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GateEvent {
    /// A bin starting at `position` scored `scaled` (0..=1, threshold at one half).
    Score {
        /// Stream position of the bin start.
        position: u64,
        /// Score scaled for MIDI.
        scaled: f32,
    },
    /// `[start, end)` is kept or cut.
    Decision {
        /// First sample.
        start: u64,
        /// One past the last sample.
        end: u64,
        /// Whether it is kept.
        keep: bool,
    },
}

/// Queues and flags of one activation, shared by the audio and analysis threads.
pub struct Link {
    /// Audio thread to analysis thread.
    pub input: ArrayQueue<InputBlock>,
    /// Analysis thread to audio thread, tagged with the generation they belong to.
    pub events: ArrayQueue<(u32, GateEvent)>,
    /// Decided horizon, packed with its generation (see [`Link::horizon`]).
    horizon: AtomicU64,
    /// Asks the analysis thread to finish.
    pub stop: AtomicBool,
    /// Set by the analysis thread when it has given up (see the status for why).
    pub failed: AtomicBool,
}

impl Link {
    /// Queues sized for `input_blocks` blocks and `events` events.
    pub fn new(input_blocks: usize, events: usize) -> Self {
        Self {
            input: ArrayQueue::new(input_blocks.max(1)),
            events: ArrayQueue::new(events.max(1)),
            horizon: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            failed: AtomicBool::new(false),
        }
    }

    /// Publishes that everything before `position` of `generation` is decided. Packing both in
    /// one word means a horizon from before a reset can never be read as a new one.
    pub fn set_horizon(&self, generation: u32, position: u64) {
        let packed =
            (u64::from(generation) << POSITION_BITS) | position.min((1 << POSITION_BITS) - 1);
        self.horizon.store(packed, Ordering::Release);
    }

    /// The decided horizon of `generation`, or 0 when the analysis has not caught up with it.
    pub fn horizon(&self, generation: u32) -> u64 {
        let packed = self.horizon.load(Ordering::Acquire);
        let mask = (1u64 << (64 - POSITION_BITS)) - 1;
        if (packed >> POSITION_BITS) == u64::from(generation) & mask {
            packed & ((1 << POSITION_BITS) - 1)
        } else {
            0
        }
    }
}

/// Faults the audio thread found, as bits, since a string cannot be built there.
pub mod fault_bits {
    /// The input held NaN or infinite samples.
    pub const NON_FINITE_INPUT: u32 = 1;
    /// The analysis could not keep up and input was dropped.
    pub const OVERRUN: u32 = 2;
    /// The analysis thread is not running, so audio passes ungated.
    pub const NO_ANALYSIS: u32 = 4;
}

/// Long-lived state the editor reads; outlives activations.
pub struct Status {
    /// The newest analysis snapshot.
    snapshot: Mutex<Arc<Snapshot>>,
    /// Faults found by the audio thread ([`fault_bits`]).
    pub audio_faults: AtomicU32,
    /// Non-finite input samples seen.
    pub non_finite_samples: AtomicU64,
    /// Latency reported to the host, in samples.
    pub latency_samples: AtomicU32,
    /// Host sample rate of the current activation.
    pub sample_rate: AtomicU32,
    /// Samples the audio thread has sent for analysis.
    pub written: AtomicU64,
    /// Set by the editor when the user picks a model; the plugin starts again with it while
    /// the host keeps it active.
    pub model_changed: AtomicBool,
    /// The host's song position at the last processed buffer, seconds (f64 bits; NaN when the
    /// host gives none).
    playhead: AtomicU64,
    /// The stretch the editor solos, in seconds of the timeline it shows, packed as two f32
    /// (start in the high half) so the audio thread reads both in one load; see [`NO_SOLO`].
    solo: AtomicU64,
}

/// What [`Status::solo`] holds when nothing is soloed: a NaN start.
const NO_SOLO: u64 = (0x7fc0_0000u64) << 32;

impl Default for Status {
    fn default() -> Self {
        Self {
            snapshot: Mutex::new(Arc::new(Snapshot::default())),
            audio_faults: AtomicU32::new(0),
            non_finite_samples: AtomicU64::new(0),
            latency_samples: AtomicU32::new(0),
            sample_rate: AtomicU32::new(0),
            written: AtomicU64::new(0),
            model_changed: AtomicBool::new(false),
            playhead: AtomicU64::new(f64::NAN.to_bits()),
            solo: AtomicU64::new(NO_SOLO),
        }
    }
}

impl Status {
    /// Records the host's song position (audio thread: one atomic store).
    pub fn set_playhead(&self, seconds: Option<f64>) {
        let bits = seconds
            .filter(|s| s.is_finite())
            .unwrap_or(f64::NAN)
            .to_bits();
        self.playhead.store(bits, Ordering::Relaxed);
    }

    /// Solos `range` (seconds of the timeline the editor shows: only it sounds, whatever the
    /// mode), or stops soloing.
    pub fn set_solo(&self, range: Option<(f64, f64)>) {
        let bits = range
            .filter(|(a, b)| a.is_finite() && b > a)
            .map_or(NO_SOLO, |(a, b)| {
                (u64::from((a as f32).to_bits()) << 32) | u64::from((b as f32).to_bits())
            });
        self.solo.store(bits, Ordering::Relaxed);
    }

    /// The soloed stretch, seconds, if any (audio thread: one atomic load).
    pub fn solo(&self) -> Option<(f64, f64)> {
        let bits = self.solo.load(Ordering::Relaxed);
        let (a, b) = (
            f32::from_bits((bits >> 32) as u32),
            f32::from_bits(bits as u32),
        );
        (a.is_finite() && b > a).then(|| (f64::from(a), f64::from(b)))
    }

    /// The host's song position at the last processed buffer, if it gave one.
    pub fn playhead(&self) -> Option<f64> {
        Some(f64::from_bits(self.playhead.load(Ordering::Relaxed))).filter(|s| s.is_finite())
    }

    /// The newest snapshot (the lock is held only for an `Arc` clone).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Publishes `snapshot` unless a reader holds the slot right now; returns whether it did.
    /// The analysis thread then simply publishes a newer one later, so it never waits.
    pub fn try_publish(&self, snapshot: Arc<Snapshot>) -> bool {
        match self.snapshot.try_lock() {
            Ok(mut slot) => {
                *slot = snapshot;
                true
            }
            Err(_) => false,
        }
    }

    /// Replaces the snapshot, waiting for a reader if needed (not for the analysis loop).
    pub fn publish(&self, snapshot: Arc<Snapshot>) {
        match self.snapshot.lock() {
            Ok(mut slot) => *slot = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
    }

    /// Flags a fault found on the audio thread.
    pub fn flag(&self, bits: u32) {
        self.audio_faults.fetch_or(bits, Ordering::Relaxed);
    }
}
