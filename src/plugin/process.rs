//! The audio thread's side of an activation: send input for analysis, delay, gate, MIDI.
//!
//! Nothing here allocates, locks or (in real time) waits: the buffers were sized in
//! `activate`, the queues are lock-free, and every string the editor shows is built elsewhere.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

use super::gate::{apply_gain, DelayLine, GateState, Mark};
use super::pace::RenderPace;
use super::params::{GateMode, MidiSettings, SlicerParams};
use super::shared::{fault_bits, Clock, GateEvent, InputBlock, Link, Status, TransportTag, BLOCK};
use super::AudioSlicer;

/// Transitions and scores the gate can hold ahead of the output.
const GATE_CAPACITY: usize = 1024;
/// How long an offline render sleeps between checks on the analysis.
const OFFLINE_POLL: Duration = Duration::from_micros(200);

/// Per-activation state of the audio thread; dropping it stops and joins the analysis thread.
pub struct Running {
    link: Arc<Link>,
    thread: Option<JoinHandle<()>>,
    delay: DelayLine,
    gate: GateState,
    gains: Vec<f32>,
    latency: usize,
    rate: f32,
    /// The host said at activation that it renders offline.
    offline: bool,
    /// Notices an offline render the host flags only per process call (see [`RenderPace`]).
    pace: RenderPace,
    /// This buffer is rendered offline, however the host said so: wait for the analysis.
    rendering: bool,
    generation: u32,
    /// Stream position of the next input sample.
    position: u64,
    /// Input positions `bad_from..bad_until` held non-finite samples; output from there
    /// passes ungated.
    bad_from: u64,
    bad_until: u64,
    /// A cut note is sounding.
    note_on: bool,
    /// Note and channel of the sounding note, so it can be ended after a parameter change.
    note_key: (u8, u8),
}

impl Running {
    /// State for `channels` channels, blocks up to `max_block`, a delay of `latency` samples.
    pub fn new(
        link: Arc<Link>,
        thread: JoinHandle<()>,
        channels: usize,
        max_block: usize,
        latency: usize,
        rate: f32,
        offline: bool,
    ) -> Self {
        Self {
            link,
            thread: Some(thread),
            delay: DelayLine::new(channels, latency),
            gate: GateState::new(GATE_CAPACITY),
            gains: vec![1.0; max_block],
            latency,
            rate,
            offline,
            pace: RenderPace::new(rate),
            rendering: offline,
            generation: 0,
            position: 0,
            bad_from: 0,
            bad_until: 0,
            note_on: false,
            note_key: (0, 0),
        }
    }

    /// The lookahead in samples.
    pub fn latency(&self) -> usize {
        self.latency
    }

    /// Whether the last buffer was rendered offline (as the host said, or as its pace shows).
    pub fn rendering(&self) -> bool {
        self.rendering
    }

    /// Starts the stream again from position 0 (realtime-safe: the analysis thread sees the
    /// new generation on the next block and restarts itself).
    pub fn reset(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.position = 0;
        self.bad_from = 0;
        self.bad_until = 0;
        self.delay.clear();
        self.gate.clear();
        self.pace.reset();
    }

    /// Processes one host buffer.
    pub fn process(
        &mut self,
        buffer: &mut Buffer,
        context: &mut impl ProcessContext<AudioSlicer>,
        params: &SlicerParams,
        status: &Status,
    ) {
        let frames = buffer.samples();
        if frames == 0 {
            return;
        }
        self.rendering = self.pace.observe(Instant::now(), frames) || self.offline;
        let transport = tag(context.transport());
        self.send_input(buffer.as_slice_immutable(), transport, status);
        let faulted = self.link.failed.load(Ordering::Acquire);
        if faulted {
            status.flag(fault_bits::NO_ANALYSIS);
        }
        let latency = self.latency as u64;
        // Input positions of this buffer's output: the first `skipped` samples come from before
        // the stream started (the delay line's initial silence).
        let skipped = latency.saturating_sub(self.position).min(frames as u64) as usize;
        let out_start = self.position.saturating_sub(latency);
        let out_end = (self.position + frames as u64).saturating_sub(latency);
        self.gate
            .set_ramp((params.crossfade.value() * self.rate).round() as usize);
        if self.rendering && !faulted && out_end > 0 {
            self.wait_for_analysis(out_end + self.gate_lead());
        }
        self.take_events();
        self.delay.process(buffer.as_slice());
        self.position += frames as u64;

        let midi = params.midi();
        if self.note_on && (!midi.enabled || self.note_key != (midi.note, midi.channel)) {
            self.end_note(context, 0);
        }
        let mode = params.mode.value();
        let damaged = out_start < self.bad_until && out_end > self.bad_from;
        if damaged {
            // Non-finite input is a fault for its stretch: those samples leave as silence (a
            // host never receives NaN from this plugin) and the rest of it passes ungated.
            for channel in buffer.as_slice().iter_mut() {
                for x in channel.iter_mut().filter(|x| !x.is_finite()) {
                    *x = 0.0;
                }
            }
        }
        let bypass = faulted || damaged || mode == GateMode::Analyse;
        let mut done = skipped;
        while done < frames {
            let n = (frames - done).min(self.gains.len());
            let q0 = out_start + (done - skipped) as u64;
            let gated = self.gate_chunk(q0, done, n, context, &midi);
            // Audition mutes what Gate keeps, so it changes the audio even where every gain
            // is 1.
            if !bypass && (gated || mode == GateMode::Audition) {
                let gains = &self.gains[..n];
                for channel in buffer.as_slice().iter_mut() {
                    for (x, &g) in channel[done..done + n].iter_mut().zip(gains) {
                        let g = if mode == GateMode::Audition {
                            (1.0 - g * g).max(0.0).sqrt()
                        } else {
                            g
                        };
                        *x = apply_gain(*x, g);
                    }
                }
            }
            done += n;
        }
    }

    /// Renders the gains of `n` samples from position `q0` (buffer offset `offset`) and sends
    /// the MIDI they pass. Returns whether any gain differs from 1.
    fn gate_chunk(
        &mut self,
        q0: u64,
        offset: usize,
        n: usize,
        context: &mut impl ProcessContext<AudioSlicer>,
        midi: &MidiSettings,
    ) -> bool {
        let mut note_state: Option<bool> = None;
        let any = self.gate.render(q0, &mut self.gains[..n], |i, mark| {
            if midi.enabled && send_mark(context, midi, (offset + i) as u32, mark) {
                match mark {
                    Mark::CutStart => note_state = Some(true),
                    Mark::CutEnd => note_state = Some(false),
                    Mark::Score(_) => {}
                }
            }
        });
        if let Some(on) = note_state {
            self.note_on = on;
            self.note_key = (midi.note, midi.channel);
        }
        any
    }

    /// Sends the downmixed input to the analysis thread in fixed-size blocks.
    fn send_input(&mut self, channels: &[&mut [f32]], transport: TransportTag, status: &Status) {
        let frames = channels.first().map_or(0, |c| c.len());
        let mut non_finite = 0u64;
        let scale = 1.0 / channels.len().max(1) as f32;
        let mut done = 0;
        while done < frames {
            let len = (frames - done).min(BLOCK);
            let mut block = InputBlock {
                generation: self.generation,
                clock: Clock::Stream,
                position: self.position + done as u64,
                len,
                transport: advanced(transport, done, self.rate),
                samples: [0.0; BLOCK],
            };
            for (i, s) in block.samples[..len].iter_mut().enumerate() {
                let sum: f32 = channels.iter().map(|c| c[done + i]).sum();
                *s = sum * scale;
                if !s.is_finite() {
                    non_finite += 1;
                }
            }
            self.push_block(block, status);
            done += len;
        }
        if non_finite > 0 {
            status.flag(fault_bits::NON_FINITE_INPUT);
            status
                .non_finite_samples
                .fetch_add(non_finite, Ordering::Relaxed);
            // The bad audio leaves the delay line later: that stretch is cleaned and passes
            // ungated. A stretch still inside the delay line is extended, never forgotten.
            let leaving = self.position.saturating_sub(self.latency as u64);
            if self.bad_until <= leaving {
                self.bad_from = self.position;
            }
            self.bad_until = self.position + frames as u64;
        }
        status
            .written
            .store(self.position + frames as u64, Ordering::Relaxed);
    }

    /// Queues a block; offline waits for room, real time drops it and reports an overrun.
    fn push_block(&mut self, block: InputBlock, status: &Status) {
        let mut item = block;
        loop {
            match self.link.input.push(item) {
                Ok(()) => break,
                Err(back) if self.rendering && !self.link.failed.load(Ordering::Acquire) => {
                    item = back;
                    self.wake();
                    std::thread::sleep(OFFLINE_POLL);
                }
                Err(_) => {
                    status.flag(fault_bits::OVERRUN);
                    break;
                }
            }
        }
        self.wake();
    }

    fn wake(&self) {
        if let Some(thread) = self.thread.as_ref() {
            thread.thread().unpark();
        }
    }

    /// Offline: waits until everything before `needed` is decided.
    fn wait_for_analysis(&mut self, needed: u64) {
        while self.link.horizon(self.generation) < needed
            && !self.link.failed.load(Ordering::Acquire)
        {
            self.wake();
            std::thread::sleep(OFFLINE_POLL);
        }
    }

    fn gate_lead(&self) -> u64 {
        // Half the longest ramp the parameter allows, as the latency assumes.
        (f64::from(super::params::MAX_CROSSFADE_SECONDS) * f64::from(self.rate) / 2.0).ceil() as u64
    }

    /// Moves published decisions and scores of the current generation into the gate.
    fn take_events(&mut self) {
        while self.gate.has_room() {
            let Some((generation, event)) = self.link.events.pop() else {
                break;
            };
            if generation != self.generation {
                continue;
            }
            match event {
                GateEvent::Score { position, scaled } => self.gate.score(position, scaled),
                GateEvent::Decision { start, end, keep } => self.gate.decide(start, end, keep),
            }
        }
    }

    fn end_note(&mut self, context: &mut impl ProcessContext<AudioSlicer>, timing: u32) {
        let (key, channel) = self.note_key;
        let _ = context.try_send_event(NoteEvent::NoteOff {
            timing,
            voice_id: VoiceID::Wildcard,
            channel: Channel::Number(channel),
            key: Key::Number(key),
            velocity: 0.0,
        });
        self.note_on = false;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.link.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// The parts of the host transport the analysis uses.
pub(super) fn tag(t: &Transport) -> TransportTag {
    TransportTag {
        playing: t.playing,
        song_samples: t.pos_samples(),
        beats: t.pos_beats(),
        tempo: t.tempo,
        bar_start_beats: t.bar_start_pos_beats(),
        time_sig: t.time_sig_numerator.zip(t.time_sig_denominator),
    }
}

/// `tag` moved `samples` later (blocks after the first of a host buffer).
pub(super) fn advanced(tag: TransportTag, samples: usize, rate: f32) -> TransportTag {
    if samples == 0 || !tag.playing {
        return tag;
    }
    let seconds = samples as f64 / f64::from(rate);
    TransportTag {
        song_samples: tag.song_samples.map(|p| p + samples as i64),
        beats: tag
            .beats
            .zip(tag.tempo)
            .map(|(b, t)| b + seconds * t / 60.0),
        ..tag
    }
}

/// Sends one mark as MIDI; returns whether the host took it.
pub(super) fn send_mark(
    context: &mut impl ProcessContext<AudioSlicer>,
    midi: &MidiSettings,
    timing: u32,
    mark: Mark,
) -> bool {
    let (channel, key) = (Channel::Number(midi.channel), Key::Number(midi.note));
    let event = match mark {
        Mark::Score(value) => NoteEvent::MidiCC {
            timing,
            channel: midi.channel,
            cc: midi.cc,
            value,
        },
        Mark::CutStart => NoteEvent::NoteOn {
            timing,
            voice_id: VoiceID::Wildcard,
            channel,
            key,
            velocity: 1.0,
        },
        Mark::CutEnd => NoteEvent::NoteOff {
            timing,
            voice_id: VoiceID::Wildcard,
            channel,
            key,
            velocity: 0.0,
        },
    };
    context.try_send_event(event).is_ok()
}
