//! Audio Slicer as a standalone application (JACK, ALSA or a dummy backend; `--help` lists the
//! options), for trying the plugin without a DAW. Built only with the `standalone` feature, in
//! its own target directory because that feature rebuilds most dependencies:
//! `cargo build --release --features standalone --bin audio-slicer-standalone
//! --target-dir target/standalone`.

use std::process::ExitCode;

fn main() -> ExitCode {
    if nice_plug::nice_export_standalone::<audio_slicer::plugin::AudioSlicer>() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
