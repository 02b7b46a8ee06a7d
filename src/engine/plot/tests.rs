//! Tests of the parent module.
use super::*;
use std::f32::consts::TAU;
use std::fs;
use std::path::PathBuf;

const RATE: u32 = 8_000;

/// 10 s: a loud tone for 5 s (kept, low scores), then near-silence (cut, high scores).
fn synthetic() -> (WaveformOutline, Vec<Segment>, Vec<TimeRange>) {
    let mono: Vec<f32> = (0..RATE * 10)
        .map(|i| {
            let t = i as f32 / RATE as f32;
            let level = if t < 5.0 { 0.8 } else { 0.002 };
            level * (TAU * 220.0 * t).sin()
        })
        .collect();
    let segments = (0..20)
        .map(|i| {
            let start = f64::from(i) * 0.5;
            let score = if start < 5.0 {
                0.1 + 0.01 * f64::from(i % 3)
            } else {
                0.9
            };
            Segment {
                start,
                end: start + 0.5,
                score,
            }
        })
        .collect();
    let waveform = WaveformOutline::of_mono(&mono, RATE);
    (waveform, segments, vec![TimeRange::new(0.0, 5.0)])
}

fn input<'a>(
    waveform: &'a WaveformOutline,
    segments: &'a [Segment],
    keep: &'a [TimeRange],
) -> PlotInput<'a> {
    PlotInput {
        title: "synthetic.wav",
        waveform,
        segments,
        threshold: 0.5,
        keep,
        duration: 10.0,
    }
}

fn temp_png(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "audio_slicer_plot_{tag}_{}.png",
        std::process::id()
    ))
}

/// Checks the PNG signature, the IHDR size and the closing IEND chunk.
fn assert_png(path: &Path, width: u32, height: u32) {
    let bytes = fs::read(path).expect("plot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    assert_eq!((be(16), be(20)), (width, height));
    assert_eq!(&bytes[bytes.len() - 8..bytes.len() - 4], b"IEND");
}

/// Counts pixels matching `test` in rows `rows` and columns `cols` of an RGB buffer.
fn count(
    px: &[u8],
    rows: std::ops::Range<u32>,
    cols: std::ops::Range<u32>,
    test: impl Fn(&[u8]) -> bool,
) -> usize {
    rows.flat_map(|y| {
        cols.clone()
            .map(move |x| ((y * PLOT_WIDTH + x) * 3) as usize)
    })
    .filter(|&i| test(&px[i..i + 3]))
    .count()
}

fn is(color: RGBColor) -> impl Fn(&[u8]) -> bool {
    move |p| p == [color.0, color.1, color.2]
}

fn is_cut_shade(p: &[u8]) -> bool {
    p[0] > 235 && (185..225).contains(&p[1]) && (185..225).contains(&p[2])
}

#[test]
fn writes_a_png_of_the_right_size() {
    let (waveform, segments, keep) = synthetic();
    let path = temp_png("size");
    plot_scores(&path, &input(&waveform, &segments, &keep)).unwrap();
    assert_png(&path, PLOT_WIDTH, PLOT_HEIGHT);
    let _ = fs::remove_file(&path);
}

#[test]
fn panels_show_waveform_cut_shading_and_scores() {
    let (waveform, segments, keep) = synthetic();
    let px = render_rgb(&input(&waveform, &segments, &keep), PLOT_WIDTH, PLOT_HEIGHT).unwrap();
    // Kept audio (0-5 s) maps left of x = 600 and cut audio right of x = 900, with or
    // without the axis and legend margins that text adds.
    let (left, right) = (0..600, 900..1400);
    let (top, bottom) = (60..280, 310..590);

    // Top: a tall envelope where the tone is, next to nothing in the silence.
    let wave_left = count(&px, top.clone(), left.clone(), is(WAVE_COLOR));
    let wave_right = count(&px, top.clone(), right.clone(), is(WAVE_COLOR));
    assert!(
        wave_left > 50_000 && wave_left > 20 * wave_right,
        "{wave_left} vs {wave_right}"
    );
    // Cut shading only over the cut half, in both panels.
    assert!(count(&px, top.clone(), right.clone(), is_cut_shade) > 50_000);
    assert_eq!(count(&px, top, left.clone(), is_cut_shade), 0);
    assert!(count(&px, bottom.clone(), right.clone(), is_cut_shade) > 50_000);
    assert_eq!(count(&px, bottom.clone(), left.clone(), is_cut_shade), 0);
    // Bottom: the score line and the dashed threshold across the whole width.
    assert!(count(&px, bottom.clone(), left.clone(), is(SCORE_COLOR)) > 500);
    assert!(count(&px, bottom.clone(), right.clone(), is(SCORE_COLOR)) > 500);
    assert!(count(&px, bottom.clone(), left, is(THRESHOLD_COLOR)) > 300);
    assert!(count(&px, bottom, right, is(THRESHOLD_COLOR)) > 300);
}

#[test]
fn title_is_drawn_when_fonts_exist() {
    if !text_available() {
        return; // covered by plot_without_fonts_still_writes_png
    }
    let (waveform, segments, keep) = synthetic();
    let px = render_rgb(&input(&waveform, &segments, &keep), PLOT_WIDTH, PLOT_HEIGHT).unwrap();
    let dark = |p: &[u8]| p.iter().all(|&c| c < 100);
    assert!(count(&px, 0..28, 0..PLOT_WIDTH, dark) > 50);
}

#[test]
fn degenerate_inputs_render_without_panicking() {
    let nan_segments = [
        Segment {
            start: f64::NAN,
            end: 1.0,
            score: 0.5,
        },
        Segment {
            start: 0.0,
            end: 1.0,
            score: f64::INFINITY,
        },
    ];
    let odd_keep = [
        TimeRange::new(5.0, 2.0),
        TimeRange::new(f64::NAN, 1.0),
        TimeRange::new(-3.0, 1e9),
    ];
    let odd_audio = [f32::NAN, 1.0, -1.0];
    let cases = [
        PlotInput {
            title: "",
            waveform: &WaveformOutline::of_mono(&[], 0),
            segments: &[],
            threshold: f64::NAN,
            keep: &[],
            duration: f64::NAN,
        },
        PlotInput {
            title: "x",
            waveform: &WaveformOutline::of_mono(&odd_audio, 44_100),
            segments: &nan_segments,
            threshold: 1e300,
            keep: &odd_keep,
            duration: -1.0,
        },
        PlotInput {
            title: "\u{1F3B8} tiny",
            waveform: &WaveformOutline::of_mono(&[0.0; 10], 1),
            segments: &[],
            threshold: 0.0,
            keep: &[],
            duration: 1e-9,
        },
    ];
    for case in &cases {
        let px = render_rgb(case, PLOT_WIDTH, PLOT_HEIGHT).unwrap();
        assert_eq!(px.len(), (PLOT_WIDTH * PLOT_HEIGHT * 3) as usize);
    }
}

#[test]
fn bad_paths_give_clear_errors() {
    let (waveform, segments, keep) = synthetic();
    let plot = input(&waveform, &segments, &keep);
    let err = plot_scores(Path::new("/tmp/plot.jpg"), &plot).unwrap_err();
    assert!(format!("{err:#}").contains("must end in .png"));
    let missing = Path::new("/nonexistent-dir/plot.png");
    let err = plot_scores(missing, &plot).unwrap_err();
    assert!(
        format!("{err:#}").contains("/nonexistent-dir/plot.png"),
        "{err:#}"
    );
}

#[test]
fn tick_labels_adapt_to_the_axis_span() {
    assert_eq!(tick_label(200.0, 600.0), "200");
    assert_eq!(tick_label(0.5, 1.0), "0.5");
    assert_eq!(tick_label(0.0003, 0.001), "0.0003");
    assert_eq!(tick_label(-0.0001, 2.0), "0");
    assert_eq!(tick_label(1.5, f64::NAN), "1.50");
}

/// Re-runs itself with fontconfig pointed at an empty configuration: no fonts at all.
#[test]
fn plot_without_fonts_still_writes_png() {
    const CHILD: &str = "AUDIO_SLICER_PLOT_NO_FONTS_CHILD";
    let (waveform, segments, keep) = synthetic();
    if let Some(out) = std::env::var_os(CHILD) {
        assert!(!text_available(), "fontconfig still found a font");
        plot_scores(Path::new(&out), &input(&waveform, &segments, &keep)).unwrap();
        return;
    }
    let conf =
        std::env::temp_dir().join(format!("audio_slicer_no_fonts_{}.conf", std::process::id()));
    fs::write(
        &conf,
        "<?xml version=\"1.0\"?>\n<fontconfig></fontconfig>\n",
    )
    .unwrap();
    let out = temp_png("nofonts");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["plot_without_fonts_still_writes_png", "--test-threads=1"])
        .env(CHILD, &out)
        .env("FONTCONFIG_FILE", &conf)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_png(&out, PLOT_WIDTH, PLOT_HEIGHT);
    let _ = (fs::remove_file(&out), fs::remove_file(&conf));
}

#[test]
fn a_long_recording_gets_readable_rows_beneath_the_overview() {
    // 30 minutes at a low rate (the plot reads the samples, not their rate), one cut at
    // 20:00-20:30, which the overview draws a few pixels wide and its row about 150.
    let rate = 50;
    let minutes = 30.0;
    let mono: Vec<f32> = (0..(minutes * 60.0 * rate as f64) as usize)
        .map(|i| ((i % 7) as f32 - 3.0) / 10.0)
        .collect();
    let segments: Vec<Segment> = (0..1800)
        .map(|i| Segment {
            start: i as f64,
            end: i as f64 + 1.0,
            score: if (1200..1230).contains(&i) { 3.0 } else { 0.5 },
        })
        .collect();
    let keep = [TimeRange::new(0.0, 1200.0), TimeRange::new(1230.0, 1800.0)];
    let plot = PlotInput {
        title: "long",
        waveform: &WaveformOutline::of_mono(&mono, rate),
        segments: &segments,
        threshold: 1.0,
        keep: &keep,
        duration: 1800.0,
    };
    let path = temp_png("long");
    plot_scores(&path, &plot).unwrap();
    // Six rows of five minutes.
    assert_png(&path, PLOT_WIDTH, PLOT_HEIGHT + 6 * ROW_HEIGHT);
    assert_eq!(row_windows(1800.0).len(), 6);
    assert_eq!(row_windows(600.0).len(), 0);
    // Three hours: at most 24 rows, each longer.
    let rows = row_windows(3.0 * 3600.0);
    assert_eq!(rows.len(), 24);
    assert_eq!(rows.last().unwrap().1, 3.0 * 3600.0);
    // The cut is shaded wide in the fifth row (20:00-25:00) and nowhere in the first.
    let (px, height) = render_with_rows(&plot).unwrap();
    assert_eq!(px.len(), (PLOT_WIDTH * height * 3) as usize);
    let row = |k: u32| PLOT_HEIGHT + k * ROW_HEIGHT..PLOT_HEIGHT + (k + 1) * ROW_HEIGHT;
    let shaded = |k| count(&px, row(k), 0..PLOT_WIDTH, is_cut_shade);
    assert!(
        shaded(4) > 20 * shaded(0).max(1),
        "{} {}",
        shaded(4),
        shaded(0)
    );
    assert_eq!(clock(3725.0), "1:02:05");
    assert_eq!(clock(65.0), "1:05");
}
