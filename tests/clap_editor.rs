//! The editor of the bundled CLAP plugin, embedded in an X11 window of the test host after an
//! offline render and a second one with a cut kept and a kept stretch cut by hand, then
//! screenshotted (`target/editor-screenshot.png`, kept by CI as an
//! artifact). By default the session is synthesised (music with a noisy stretch, the tiny test
//! model); `AUDIO_SLICER_EDITOR_AUDIO=recording` renders a real recording with the shipped
//! default model instead and also writes the README's picture, `docs/editor.png`.
//!
//! Needs the bundle and an X server: `.ci/run` runs it under Xvfb with
//! `xvfb-run cargo test --test clap_editor -- --ignored`.
#![cfg(feature = "plugin")]

mod clack_support;
mod plugin_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use audio_slicer::engine::audio_io::read_audio;
use clack_extensions::gui::{GuiApiType, GuiConfiguration, GuiSize, Window};
use clack_support::ClapSession;
use plugin_support::{music, noise, tiny_model_dir};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, CreateWindowAux, WindowClass, MOTION_NOTIFY_EVENT};
use x11rb::protocol::xtest::ConnectionExt as _;

const RATE: u32 = 44_100;
/// How long the editor is given to draw before the screenshot, in polling steps.
const FRAMES: usize = 150;
const FRAME: Duration = Duration::from_millis(20);
/// The waveform's colour in the editor (`editor/timeline.rs`).
const WAVE: [u8; 3] = [110, 110, 110];
/// Where the timeline's plot lies across the window (the whole song is shown), in pixels.
const PLOT_LEFT: f64 = 8.0;
const PLOT_WIDTH: f64 = 634.0;
/// The editor window's size, as the plugin opens it.
const WIDTH: u32 = 980;
const HEIGHT: u32 = 620;

/// What the editor is shown: stereo audio, its rate, the model, and where the README's picture
/// goes (real music only).
struct Shown {
    audio: Vec<Vec<f32>>,
    rate: u32,
    model: PathBuf,
    picture: Option<PathBuf>,
}

fn what_to_show(manifest: &Path) -> Shown {
    if let Some(path) = std::env::var_os("AUDIO_SLICER_EDITOR_AUDIO") {
        let audio = read_audio(Path::new(&path)).expect("AUDIO_SLICER_EDITOR_AUDIO");
        let mut channels = audio.channels;
        channels.truncate(2);
        if channels.len() == 1 {
            channels.push(channels[0].clone());
        }
        return Shown {
            audio: channels,
            rate: audio.sample_rate,
            model: manifest.join("models/default"),
            picture: Some(manifest.join("docs/editor.png")),
        };
    }
    let mut left = music(10.0, RATE, 41);
    left.extend(noise(4.0, RATE, 42));
    left.extend(music(12.0, RATE, 43));
    Shown {
        audio: vec![left.clone(), left],
        rate: RATE,
        model: tiny_model_dir().to_path_buf(),
        picture: None,
    }
}

#[test]
#[ignore = "needs the bundle and an X server (xvfb-run)"]
fn the_editor_opens_and_draws() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // Something to show, analysed offline: Timeline analysis plans the whole song.
    let shown = what_to_show(&manifest);
    let mut session = ClapSession::open();
    session.use_model(&shown.model);
    let rate = f64::from(shown.rate);
    // The first pass analyses (and passes the audio), the second gates and sends cut notes.
    session.render(&shown.audio, shown.rate);
    let first = cut_spans(&session.render(&shown.audio, shown.rate).midi, rate);
    // By hand, as clicks in the editor: the longest cut kept, and up to eight seconds in the
    // middle of the longest kept piece cut. The next bounce follows them, and the editor marks them.
    let duration = shown.audio[0].len() as f64 / rate;
    let longest_cut = *first
        .iter()
        .max_by(|a, b| (a.1 - a.0).total_cmp(&(b.1 - b.0)))
        .expect("the model cuts nothing");
    let mut kept = Vec::new();
    let mut from = 0.0;
    for &(a, b) in first.iter().chain([&(duration, duration)]) {
        kept.push((from, a));
        from = b;
    }
    let piece = kept
        .into_iter()
        .max_by(|a, b| (a.1 - a.0).total_cmp(&(b.1 - b.0)))
        .unwrap();
    let middle = (piece.0 + piece.1) / 2.0;
    let half = ((piece.1 - piece.0) / 4.0).min(4.0);
    let cut_by_hand = (middle - half, middle + half);
    let mut state = session.state();
    state["fields"]["overrides"] = serde_json::Value::String(
        serde_json::json!([
            {"range": {"start": longest_cut.0, "end": longest_cut.1}, "decision": "keep"},
            {"range": {"start": cut_by_hand.0, "end": cut_by_hand.1}, "decision": "cut"},
        ])
        .to_string(),
    );
    session.load_state(&state);
    let second = cut_spans(&session.render(&shown.audio, shown.rate).midi, rate);
    let near = |x: f64, y: f64| (x - y).abs() < 0.01;
    assert!(
        !second
            .iter()
            .any(|&(a, b)| near(a, longest_cut.0) && near(b, longest_cut.1)),
        "the cut kept by hand is still cut: {second:?}"
    );
    assert!(
        second
            .iter()
            .any(|&(a, b)| near(a, cut_by_hand.0) && near(b, cut_by_hand.1)),
        "{cut_by_hand:?} was cut by hand: {second:?}"
    );
    let gui = session.gui();

    let (conn, screen) = x11rb::connect(None).expect("no X server: run under xvfb-run");
    let root = conn.setup().roots[screen].root;
    let parent = conn.generate_id().unwrap();
    let size = GuiSize {
        width: WIDTH,
        height: HEIGHT,
    };
    conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        parent,
        root,
        0,
        0,
        size.width as u16,
        size.height as u16,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new().background_pixel(0),
    )
    .unwrap();
    conn.map_window(parent).unwrap();
    conn.flush().unwrap();

    let config = GuiConfiguration {
        api_type: GuiApiType::X11,
        is_floating: false,
    };
    gui.create(&session.instance.plugin_handle(), config)
        .unwrap();
    unsafe {
        gui.set_parent(
            &session.instance.plugin_handle(),
            Window::from_x11_handle(parent.into()),
        )
        .unwrap();
    }
    gui.show(&session.instance.plugin_handle()).unwrap();
    for frame in 0..FRAMES {
        if frame == FRAMES / 3 {
            // The pointer over the cut kept by hand, so the picture shows what hovering says.
            let x = PLOT_LEFT + (longest_cut.0 + longest_cut.1) / 2.0 / duration * PLOT_WIDTH;
            conn.xtest_fake_input(
                MOTION_NOTIFY_EVENT,
                0,
                x11rb::CURRENT_TIME,
                root,
                x as i16,
                300,
                0,
            )
            .unwrap();
            conn.flush().unwrap();
        }
        session.pump();
        std::thread::sleep(FRAME);
    }

    let shot = manifest.join("target/editor-screenshot.png");
    let pixels = screenshot(&shot);
    gui.destroy(&session.instance.plugin_handle());
    // A drawn editor has text, lines and panels: many colours, not one cleared background.
    let distinct: std::collections::HashSet<&[u8]> = pixels.chunks(3).collect();
    assert!(
        distinct.len() > 16,
        "only {} colours on screen: the editor did not draw",
        distinct.len()
    );
    // The song's waveform is drawn.
    let wave = pixels.chunks(3).filter(|p| *p == WAVE).count();
    assert!(wave > 200, "{wave} waveform pixels: no waveform");
    if let Some(picture) = shown.picture {
        std::fs::copy(&shot, &picture).unwrap();
    }
}

/// Cut spans in seconds from the cut notes (note on, note off) a render sent.
fn cut_spans(midi: &[(usize, u8, u8, u8)], rate: f64) -> Vec<(f64, f64)> {
    let mut spans = Vec::new();
    let mut on = None;
    for &(at, status, _, velocity) in midi {
        match status & 0xF0 {
            0x90 if velocity > 0 => on = Some(at),
            0x80 | 0x90 => spans.extend(on.take().map(|a| (a as f64 / rate, at as f64 / rate))),
            _ => {}
        }
    }
    spans
}

/// Grabs the X screen into `png` and returns its RGB pixels.
fn screenshot(png: &std::path::Path) -> Vec<u8> {
    let xwd = Command::new("xwd")
        .args(["-root", "-silent"])
        .stdout(Stdio::piped())
        .output()
        .expect("xwd (x11-apps) is needed for the screenshot");
    // The editor's window only, at the top left of the screen.
    let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
    let ppm = pipe("xwdtopnm", &[], &xwd.stdout);
    let ppm = pipe("pnmcut", &["0", "0", &w, &h], &ppm);
    let png_bytes = pipe("pnmtopng", &[], &ppm);
    std::fs::write(png, png_bytes).unwrap();
    // Binary PPM: "P6 <w> <h> <max>" then RGB bytes.
    let mut fields = 0;
    let mut at = 0;
    while fields < 4 {
        while ppm[at].is_ascii_whitespace() {
            at += 1;
        }
        while !ppm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields += 1;
    }
    ppm[at + 1..].to_vec()
}

/// Runs a netpbm filter with `args` over `input`.
fn pipe(program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} (netpbm) is needed: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out.stdout
}
