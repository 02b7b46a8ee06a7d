//! The editor of the bundled CLAP plugin, embedded in an X11 window of the test host after an
//! offline render of a session with a bad stretch, then screenshotted
//! (`target/editor-screenshot.png`, kept by CI as an artifact).
//!
//! Needs the bundle and an X server: `.ci/run` runs it under Xvfb with
//! `xvfb-run cargo test --test clap_editor -- --ignored`.
#![cfg(feature = "plugin")]

mod clack_support;
mod plugin_support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use clack_extensions::gui::{GuiApiType, GuiConfiguration, GuiSize, Window};
use clack_support::ClapSession;
use plugin_support::{music, noise, tiny_model_dir};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, CreateWindowAux, WindowClass};

const RATE: u32 = 44_100;
/// How long the editor is given to draw before the screenshot, in polling steps.
const FRAMES: usize = 150;
const FRAME: Duration = Duration::from_millis(20);

#[test]
#[ignore = "needs the bundle and an X server (xvfb-run)"]
fn the_editor_opens_and_draws() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // Something to show: a session with a noisy stretch, analysed offline.
    let mut left = music(10.0, RATE, 41);
    left.extend(noise(4.0, RATE, 42));
    left.extend(music(12.0, RATE, 43));
    let mut session = ClapSession::open();
    session.use_model(tiny_model_dir());
    session.render(&[left.clone(), left], RATE);
    let gui = session.gui();

    let (conn, screen) = x11rb::connect(None).expect("no X server: run under xvfb-run");
    let root = conn.setup().roots[screen].root;
    let parent = conn.generate_id().unwrap();
    let size = GuiSize {
        width: 980,
        height: 620,
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
    for _ in 0..FRAMES {
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
}

/// Grabs the X screen into `png` and returns its RGB pixels.
fn screenshot(png: &std::path::Path) -> Vec<u8> {
    let xwd = Command::new("xwd")
        .args(["-root", "-silent"])
        .stdout(Stdio::piped())
        .output()
        .expect("xwd (x11-apps) is needed for the screenshot");
    let ppm = pipe("xwdtopnm", &xwd.stdout);
    let png_bytes = pipe("pnmtopng", &ppm);
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

/// Runs a netpbm filter over `input`.
fn pipe(program: &str, input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new(program)
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
