//! The audio thread's side of timeline analysis: send the input keyed to the song position,
//! gate it from the newest plan, send the plan's marks as MIDI. No delay line: the plan knows
//! every analysed cut ahead, so ramps start before their cuts.
//!
//! Nothing here allocates, locks or (in real time) waits. Offline, each buffer waits until the
//! analysis has finished with every earlier buffer, so a bounce is the same however fast the
//! analysis runs.

use std::f32::consts::FRAC_PI_2;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

use super::{window_gain, GatePlan, PlanLink};
use crate::plugin::gate::{apply_gain, Mark};
use crate::plugin::pace::RenderPace;
use crate::plugin::params::{GateMode, MidiSettings, SlicerParams};
use crate::plugin::process::{advanced, send_mark, tag};
use crate::plugin::shared::{fault_bits, Clock, InputBlock, Status, TransportTag, BLOCK};
use crate::plugin::AudioSlicer;

/// How long an offline render sleeps between checks on the analysis.
const OFFLINE_POLL: Duration = Duration::from_micros(200);

/// Per-activation state of the audio thread in timeline mode; dropping it stops and joins the
/// analysis thread.
pub struct Running {
    link: Arc<PlanLink>,
    thread: Option<JoinHandle<()>>,
    plan: Option<Box<GatePlan>>,
    /// The buffer's input, downmixed, kept before the buffer is gated in place.
    mono: Vec<f32>,
    gains: Vec<f32>,
    rate: f32,
    offline: bool,
    pace: RenderPace,
    /// Samples since the last reset: the [`Clock::Stream`] position.
    stream: u64,
    /// Whether the host has played its transport since the plugin was created: from then on
    /// a stopped transport is a stopped song, not a stream (shared by every activation).
    song_seen: Arc<AtomicBool>,
    /// Whether the stream since the last reset has had sound: a stream is analysed from its
    /// first sound on, so a DAW that processes silence before its first play analyses nothing.
    stream_sounded: bool,
    /// Blocks sent to the analysis thread, counting the plan the thread makes when it starts
    /// as the first (so an offline render waits for that plan before its first buffer).
    sent: u64,
    /// Timeline position the next buffer continues, if the last one was played.
    expected: Option<(Clock, u64)>,
    gain: f32,
    /// How far the output has moved from the gate to the solo window (0 gate, 1 solo); it
    /// moves over one ramp, so starting or stopping a solo never clicks.
    solo_mix: f32,
    note_on: bool,
    note_key: (u8, u8),
}

impl Running {
    /// State for buffers of up to `max_block` frames; `song_seen` is the plugin's record of
    /// whether the host has played its transport.
    pub fn new(
        link: Arc<PlanLink>,
        thread: JoinHandle<()>,
        max_block: usize,
        rate: f32,
        offline: bool,
        song_seen: Arc<AtomicBool>,
    ) -> Self {
        Self {
            link,
            thread: Some(thread),
            plan: None,
            mono: vec![0.0; max_block],
            gains: vec![1.0; max_block],
            rate,
            offline,
            pace: RenderPace::new(rate),
            stream: 0,
            song_seen,
            stream_sounded: false,
            sent: 1,
            expected: None,
            gain: 1.0,
            solo_mix: 0.0,
            note_on: false,
            note_key: (0, 0),
        }
    }

    /// Whether the last buffer was rendered offline (as the host said, or as its pace shows).
    pub fn rendering(&self) -> bool {
        self.link.rendering.load(Ordering::Relaxed)
    }

    /// Starts the stream position again from 0; the analysis keeps everything it heard.
    pub fn reset(&mut self) {
        self.stream = 0;
        self.stream_sounded = false;
        self.expected = None;
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
        let frames = buffer.samples().min(self.mono.len());
        if frames == 0 {
            return;
        }
        let rendering = self.pace.observe(Instant::now(), frames) || self.offline;
        self.link.rendering.store(rendering, Ordering::Release);
        let finite = self.downmix(buffer.as_slice_immutable(), frames);
        let (position, transport) = {
            let t = context.transport();
            (self.position(t, frames), tag(t))
        };
        self.stream += frames as u64;
        if !finite {
            status.flag(fault_bits::NON_FINITE_INPUT);
            for channel in buffer.as_slice().iter_mut() {
                for x in channel.iter_mut().filter(|x| !x.is_finite()) {
                    *x = 0.0;
                }
            }
        }
        let faulted = self.link.failed.load(Ordering::Acquire);
        let continuing = position.is_some() && position == self.expected;
        // Offline, a jump (a second pass from the start) is gated from the plan of everything
        // heard before it: the analysis plans at a jump, so the block goes first.
        let sent_first = match position {
            Some((clock, p0)) if rendering && !continuing && finite && !faulted => {
                self.send_input(clock, p0, frames, transport, status);
                true
            }
            _ => false,
        };
        if faulted {
            status.flag(fault_bits::NO_ANALYSIS);
        } else if rendering {
            self.wait_for_analysis();
        }
        self.take_plan();

        self.expected = position.map(|(clock, p)| (clock, p + frames as u64));
        let midi = params.midi();
        if self.note_on
            && (!continuing || !midi.enabled || self.note_key != (midi.note, midi.channel))
        {
            self.end_note(context, 0);
        }
        let Some((clock, p0)) = position else {
            // Stopped: nothing is analysed or gated.
            return;
        };
        if finite && !sent_first {
            self.send_input(clock, p0, frames, transport, status);
        }
        let ramp = (params.crossfade.value() * self.rate).round() as usize;
        if !continuing {
            // A jump in the audio itself: the gain jumps with it instead of ramping from
            // wherever the last position left it.
            self.gain = self
                .plan
                .as_ref()
                .filter(|plan| plan.clock == clock)
                .map_or(1.0, |plan| plan.target(p0, ramp));
        }
        let gated = !faulted && self.gate(clock, p0, frames, ramp, context, &midi);
        let mode = params.mode.value();
        let solo = status.solo();
        if !continuing {
            self.solo_mix = if solo.is_some() { 1.0 } else { 0.0 };
        }
        let window = solo.map(|(a, b)| {
            let at = |t: f64| (t * f64::from(self.rate)).round() as u64;
            (at(a), at(b))
        });
        let soloed = self.solo(window, p0, frames, ramp, mode);
        // Audition mutes what Gate keeps, so it changes the audio even where every gain is 1.
        if finite && (soloed || mode != GateMode::Analyse && (gated || mode == GateMode::Audition))
        {
            let gains = &self.gains[..frames];
            for channel in buffer.as_slice().iter_mut() {
                for (x, &g) in channel.iter_mut().zip(gains) {
                    let g = match mode {
                        GateMode::Audition if !soloed => (1.0 - g * g).max(0.0).sqrt(),
                        _ => g,
                    };
                    *x = apply_gain(*x, g);
                }
            }
        }
    }

    /// Solo: the gains become those of the soloed `window` (timeline samples), whatever the
    /// mode, moving from and back to the mode's gains over one ramp. Returns whether the solo
    /// shapes this buffer (its gains are then final, Audition's included).
    fn solo(
        &mut self,
        window: Option<(u64, u64)>,
        p0: u64,
        frames: usize,
        ramp: usize,
        mode: GateMode,
    ) -> bool {
        let target = if window.is_some() { 1.0 } else { 0.0 };
        if target == 0.0 && self.solo_mix == 0.0 {
            return false;
        }
        let step = 1.0 / ramp.max(1) as f32;
        for (i, g) in self.gains[..frames].iter_mut().enumerate() {
            self.solo_mix += (target - self.solo_mix).clamp(-step, step);
            let q = p0 + i as u64;
            let solo = window.map_or(0.0, |(a, b)| window_gain(q, a, b, ramp));
            let gate = match mode {
                GateMode::Gate => *g,
                GateMode::Audition => (1.0 - *g * *g).max(0.0).sqrt(),
                GateMode::Analyse => 1.0,
            };
            *g = (1.0 - self.solo_mix) * gate + self.solo_mix * solo;
        }
        true
    }

    /// Where this buffer of `frames` plays: on the song while the host plays; on the stream,
    /// from its first sound, in a host that has never played; nowhere while a song is stopped
    /// (a DAW processing live input must not be analysed at made-up positions).
    fn position(&mut self, transport: &Transport, frames: usize) -> Option<(Clock, u64)> {
        if transport.playing {
            if let Some(p) = transport.pos_samples() {
                self.song_seen.store(true, Ordering::Relaxed);
                // Before the song's start (a pre-roll) nothing plays on the timeline.
                return u64::try_from(p).ok().map(|p| (Clock::Song, p));
            }
        }
        if self.song_seen.load(Ordering::Relaxed) {
            return None;
        }
        self.stream_sounded |= self.mono[..frames].iter().any(|&x| x != 0.0);
        self.stream_sounded.then_some((Clock::Stream, self.stream))
    }

    /// Fills `mono` with the buffer's average; returns whether every sample was finite.
    fn downmix(&mut self, channels: &[&mut [f32]], frames: usize) -> bool {
        let scale = 1.0 / channels.len().max(1) as f32;
        let mut finite = true;
        for (i, m) in self.mono[..frames].iter_mut().enumerate() {
            let sum: f32 = channels.iter().map(|c| c[i]).sum();
            *m = sum * scale;
            finite &= m.is_finite();
        }
        finite
    }

    /// Writes the gains of `p0..p0 + frames` and sends the MIDI marks they pass. Returns
    /// whether any gain differs from 1.
    fn gate(
        &mut self,
        clock: Clock,
        p0: u64,
        frames: usize,
        ramp: usize,
        context: &mut impl ProcessContext<AudioSlicer>,
        midi: &MidiSettings,
    ) -> bool {
        // A plan of the other clock's timeline says nothing about this one.
        let Some(plan) = self.plan.as_deref().filter(|plan| plan.clock == clock) else {
            self.gains[..frames].fill(1.0);
            return false;
        };
        let p1 = p0 + frames as u64;
        if midi.enabled {
            for &(at, scaled) in plan.scores_in(p0, p1) {
                send_mark(context, midi, (at - p0) as u32, Mark::Score(scaled));
            }
            for i in plan.edges_in(p0, p1) {
                let mark = if i % 2 == 0 {
                    Mark::CutStart
                } else {
                    Mark::CutEnd
                };
                if send_mark(context, midi, (plan.edges[i] - p0) as u32, mark) {
                    self.note_on = mark == Mark::CutStart;
                    self.note_key = (midi.note, midi.channel);
                }
            }
        }
        let gains = &mut self.gains[..frames];
        let target = plan.target(p0, ramp);
        if target == self.gain && plan.steady(p0, p1, ramp) {
            gains.fill(target);
            return target != 1.0;
        }
        // The gain follows the plan, but never faster than the steepest step of a ramp: a new
        // plan arriving mid-play fades instead of clicking.
        let max_step = if ramp == 0 {
            1.0
        } else {
            FRAC_PI_2 / ramp as f32 * 1.001
        };
        let mut any = false;
        for (i, g) in gains.iter_mut().enumerate() {
            let target = plan.target(p0 + i as u64, ramp);
            let step = (target - self.gain).clamp(-max_step, max_step);
            self.gain = if (target - self.gain).abs() <= max_step {
                target
            } else {
                self.gain + step
            };
            *g = self.gain;
            any |= self.gain != 1.0;
        }
        any
    }

    /// Sends `frames` of `mono` at position `p0` on `clock` to the analysis thread; offline
    /// waits for room, real time drops what does not fit and reports it.
    fn send_input(
        &mut self,
        clock: Clock,
        p0: u64,
        frames: usize,
        transport: TransportTag,
        status: &Status,
    ) {
        let mut done = 0;
        while done < frames {
            let len = (frames - done).min(BLOCK);
            let mut block = InputBlock {
                generation: 0,
                clock,
                position: p0 + done as u64,
                len,
                transport: advanced(transport, done, self.rate),
                samples: [0.0; BLOCK],
            };
            block.samples[..len].copy_from_slice(&self.mono[done..done + len]);
            let mut item = block;
            loop {
                match self.link.input.push(item) {
                    Ok(()) => {
                        self.sent += 1;
                        break;
                    }
                    Err(back) if self.offline_waits() => {
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
            done += len;
        }
        // In real time the analysis thread looks at its queue every `IDLE` anyway; waking it
        // on every buffer only costs the audio thread a system call. A render waits for it.
        if self.offline_waits() {
            self.wake();
        }
    }

    fn offline_waits(&self) -> bool {
        self.link.rendering.load(Ordering::Relaxed) && !self.link.failed.load(Ordering::Acquire)
    }

    /// Offline: waits until the analysis has finished with every block sent before.
    fn wait_for_analysis(&self) {
        while self.link.consumed.load(Ordering::Acquire) < self.sent
            && !self.link.failed.load(Ordering::Acquire)
        {
            self.wake();
            std::thread::sleep(OFFLINE_POLL);
        }
    }

    /// Takes the newest plan, returning the one it replaces for refilling.
    fn take_plan(&mut self) {
        if let Some(newer) = self.link.plans.pop() {
            if let Some(old) = self.plan.replace(newer) {
                // The recycle queue has room for every plan alive (see `PLANS_IN_FLIGHT`).
                let _ = self.link.recycle.push(old);
            }
        }
    }

    fn wake(&self) {
        if let Some(thread) = self.thread.as_ref() {
            thread.thread().unpark();
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
