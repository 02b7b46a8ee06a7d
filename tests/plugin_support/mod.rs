//! A host-less harness for the plugin: activates it, drives `process()` block by block with
//! allocation checks around every call, and collects the audio and MIDI it produces. Also
//! synthetic fixtures (music, noise) and a tiny model trained on the music.

#![allow(dead_code)]

use std::cell::Cell;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use audio_slicer::engine::features::{log_mel_of, FeatureConfig, LogMelExtractor};
use audio_slicer::engine::training::{train_on_spectrograms, TrainOptions};
use audio_slicer::plugin::AudioSlicer;
use nice_plug::context::process::SendEventError;
use nice_plug::prelude::*;

pub use audio_slicer::synth::plucked_loop as music;

/// White noise at a level a bad take might have.
pub fn noise(seconds: f64, rate: u32, seed: u64) -> Vec<f32> {
    audio_slicer::synth::white_noise(seconds, rate, seed, 0.3)
}

/// Rate of the music the tiny model is trained on.
pub const TRAIN_RATE: u32 = 44_100;

/// A tiny model trained on synthetic music, saved once per test binary.
pub fn tiny_model_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-tiny-model");
        let features = FeatureConfig::default();
        let mut ex = LogMelExtractor::new(&features).unwrap();
        // Rendered at the rate the tests play at, so the model learns what the resampled music
        // looks like.
        let specs: Vec<_> = (0..4)
            .map(|seed| log_mel_of(&mut ex, &[music(12.0, TRAIN_RATE, seed)], TRAIN_RATE).unwrap())
            .collect();
        let names: Vec<String> = (0..4).map(|i| format!("m{i}")).collect();
        let options = TrainOptions {
            epochs: 12,
            segments_per_epoch: 128,
            hidden_dims: vec![4, 8],
            latent_dim: 8,
            seed: 3,
            name: "tiny".into(),
            ..TrainOptions::default()
        };
        let model = train_on_spectrograms(specs, &names, &options, &mut |_| {}).unwrap();
        model.save(&dir).unwrap();
        dir
    })
}

/// Where a session with a known bad stretch, and a model that finds it, are written for the
/// hosts outside Rust (the pedalboard VST3 test).
pub fn host_fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-host-fixture")
}

/// Writes `session.wav` (44.1 kHz stereo float: music, noise from `noise_at` for `noise_len`
/// seconds, music) and `fixture.json` (the timings and the model directory).
pub fn write_host_fixture(noise_at: f64, noise_len: f64, total: f64) -> PathBuf {
    let dir = host_fixture_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let rate = TRAIN_RATE;
    let mut left = music(noise_at, rate, 31);
    left.extend(noise(noise_len, rate, 32));
    left.extend(music(total - noise_at - noise_len, rate, 33));
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut wav = hound::WavWriter::create(dir.join("session.wav"), spec).unwrap();
    for &x in &left {
        wav.write_sample(x).unwrap();
        wav.write_sample(x).unwrap();
    }
    wav.finalize().unwrap();
    let info = serde_json::json!({
        "wav": dir.join("session.wav"),
        "model_dir": tiny_model_dir(),
        "rate": rate,
        "noise_at": noise_at,
        "noise_len": noise_len,
    });
    std::fs::write(dir.join("fixture.json"), info.to_string()).unwrap();
    dir
}

/// Records the latency the plugin reports while activating.
struct Activation {
    latency: Cell<u32>,
}

impl ActivateContext<AudioSlicer> for Activation {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    fn execute(&self, _task: ()) {}
    fn set_latency_samples(&self, samples: u32) {
        self.latency.set(samples);
    }
    fn set_current_voice_capacity(&self, _capacity: u32) {}
}

/// The process context: a transport, and room for output events reserved up front so
/// collecting them does not allocate inside the checked region.
struct Context {
    transport: Transport,
    events: Vec<(u32, PluginNoteEvent<AudioSlicer>)>,
    /// The latency the plugin last reported while processing.
    latency: Cell<Option<u32>>,
}

impl ProcessContext<AudioSlicer> for Context {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    fn execute_background(&self, _task: ()) {}
    fn execute_gui(&self, _task: ()) {}
    fn transport(&self) -> &Transport {
        &self.transport
    }
    fn next_event(&mut self) -> Option<PluginNoteEvent<AudioSlicer>> {
        None
    }
    fn try_send_event(
        &mut self,
        event: PluginNoteEvent<AudioSlicer>,
    ) -> Result<(), (PluginNoteEvent<AudioSlicer>, SendEventError)> {
        if self.events.len() == self.events.capacity() {
            return Err((event, SendEventError::HostBufferFull));
        }
        self.events.push((event.timing(), event));
        Ok(())
    }
    fn set_latency_samples(&self, samples: u32) {
        self.latency.set(Some(samples));
    }
    fn request_restart(&self) {}
    fn set_current_voice_capacity(&self, _capacity: u32) {}
}

/// What a render produced.
pub struct Render {
    /// Output channels.
    pub output: Vec<Vec<f32>>,
    /// MIDI events with their absolute sample position.
    pub midi: Vec<(usize, PluginNoteEvent<AudioSlicer>)>,
    /// Latency reported last: at activation, or while processing when the plugin changed it.
    pub latency: usize,
    /// Allocations made inside `process()`.
    pub allocations: u32,
}

/// How a render is run.
pub struct Setup {
    pub rate: u32,
    pub blocks: Vec<usize>,
    pub mode: ProcessMode,
    /// What the host's transport says.
    pub transport: HostTransport,
}

/// What the host's transport says during a render.
#[derive(Debug, Clone, Copy)]
pub enum HostTransport {
    /// No transport information at all.
    Absent,
    /// Stopped at song position 0 on every buffer at 120 BPM in 4/4: what pedalboard's JUCE
    /// host sends, as it has no play head.
    Stopped,
    /// Playing from song position 0, with no tempo.
    Playing,
    /// Playing from song position 0 at this tempo in BPM, in 4/4.
    PlayingAt(f64),
}

impl Setup {
    pub fn offline(rate: u32, blocks: &[usize]) -> Self {
        Self {
            rate,
            blocks: blocks.to_vec(),
            mode: ProcessMode::Offline,
            transport: HostTransport::Absent,
        }
    }
}

/// Activates `plugin` for `input`'s channel count and renders `input` through it.
pub fn render(plugin: &mut AudioSlicer, input: &[Vec<f32>], setup: &Setup) -> Render {
    let channels = input.len();
    let max_block = setup.blocks.iter().copied().max().unwrap_or(1);
    let layout = AudioIOLayout {
        main_input_channels: NonZeroU32::new(channels as u32),
        main_output_channels: NonZeroU32::new(channels as u32),
        ..AudioIOLayout::const_default()
    };
    let config = BufferConfig {
        sample_rate: setup.rate as f32,
        min_buffer_size: None,
        max_buffer_size: max_block as u32,
        process_mode: setup.mode,
    };
    let mut activation = Activation {
        latency: Cell::new(0),
    };
    assert!(plugin.activate(&layout, &config, &mut activation));
    plugin.reset();
    let latency = activation.latency.get() as usize;
    process_all(plugin, input, setup, latency)
}

/// Renders `input` through an already activated `plugin`.
pub fn process_all(
    plugin: &mut AudioSlicer,
    input: &[Vec<f32>],
    setup: &Setup,
    latency: usize,
) -> Render {
    process_timed(plugin, input, setup, latency, false).0
}

/// [`process_all`], returning also the time spent inside `process()`; with `paced`, each block
/// is handed over when real-time playback would hand it over (no sooner), as a sound card does.
pub fn process_timed(
    plugin: &mut AudioSlicer,
    input: &[Vec<f32>],
    setup: &Setup,
    latency: usize,
    paced: bool,
) -> (Render, std::time::Duration) {
    let started = std::time::Instant::now();
    let mut inside = std::time::Duration::ZERO;
    let frames = input[0].len();
    let max_block = setup.blocks.iter().copied().max().unwrap_or(1);
    let mut scratch = vec![vec![0.0f32; max_block]; input.len()];
    let mut output = vec![Vec::with_capacity(frames); input.len()];
    let mut midi = Vec::new();
    let mut context = Context {
        transport: Transport::new(setup.rate as f32),
        events: Vec::with_capacity(4096),
        latency: Cell::new(None),
    };
    let mut allocations = 0;
    let mut at = 0;
    for &size in setup.blocks.iter().cycle() {
        if at >= frames {
            break;
        }
        let n = size.min(frames - at);
        for (s, channel) in scratch.iter_mut().zip(input) {
            s[..n].copy_from_slice(&channel[at..at + n]);
        }
        context.transport = transport(setup, at);
        context.events.clear();
        let mut buffer = Buffer::default();
        unsafe {
            buffer.set_slices(n, |slices| {
                *slices = scratch.iter_mut().map(|c| &mut c[..n]).collect();
            });
        }
        let mut aux = AuxiliaryBuffers {
            inputs: &mut [],
            outputs: &mut [],
        };
        if paced {
            let due = std::time::Duration::from_secs_f64(at as f64 / f64::from(setup.rate));
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let before = violations();
        let call = std::time::Instant::now();
        nice_assert_no_alloc::assert_no_alloc(|| {
            plugin.process(&mut buffer, &mut aux, &mut context);
        });
        inside += call.elapsed();
        allocations += violations() - before;
        drop(buffer);
        for (out, s) in output.iter_mut().zip(&scratch) {
            out.extend_from_slice(&s[..n]);
        }
        midi.extend(context.events.drain(..).map(|(t, e)| (at + t as usize, e)));
        at += n;
    }
    (
        Render {
            output,
            midi,
            latency: context.latency.get().map_or(latency, |l| l as usize),
            allocations,
        },
        inside,
    )
}

/// Allocations counted inside `assert_no_alloc` so far (the counter only exists in debug
/// builds, where the check runs; benches build in release).
fn violations() -> u32 {
    #[cfg(debug_assertions)]
    return nice_assert_no_alloc::violation_count();
    #[cfg(not(debug_assertions))]
    return 0;
}

/// The setup's transport at sample `at`.
fn transport(setup: &Setup, at: usize) -> Transport {
    let mut t = Transport::new(setup.rate as f32);
    let (playing, tempo) = match setup.transport {
        HostTransport::Absent => return t,
        HostTransport::Stopped => (false, 120.0),
        HostTransport::Playing => (true, 0.0),
        HostTransport::PlayingAt(tempo) => (true, tempo),
    };
    t.playing = playing;
    t.pos_samples = Some(if playing { at as i64 } else { 0 });
    if tempo > 0.0 {
        t.tempo = Some(tempo);
        t.time_sig_numerator = Some(4);
        t.time_sig_denominator = Some(4);
        let at = if playing { at } else { 0 };
        t.pos_beats = Some(at as f64 / f64::from(setup.rate) * tempo / 60.0);
    }
    t
}

/// Sets parameter `id` to the plain value `plain`, as a host would.
pub fn set_param(plugin: &AudioSlicer, id: &str, plain: f32) {
    let params = plugin.params();
    let (_, ptr, _) = params
        .param_map()
        .into_iter()
        .find(|(i, _, _)| i == id)
        .unwrap_or_else(|| panic!("no parameter {id}"));
    unsafe {
        let normalized = ptr.preview_normalized(plain);
        ptr._internal_set_normalized_value(normalized);
    }
}

/// A plugin in Lookahead analysis, whatever the default.
pub fn lookahead_plugin() -> AudioSlicer {
    let plugin = AudioSlicer::default();
    // The second variant: Lookahead.
    set_param(&plugin, "analysis", 1.0);
    plugin
}

/// Points the plugin at a model directory (as the editor does).
pub fn use_model(plugin: &AudioSlicer, dir: &Path) {
    *plugin.slicer_params().model_path.lock().unwrap() = dir.display().to_string();
}
