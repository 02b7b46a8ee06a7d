//! Writing the markers out: Audacity labels and REAPER regions through the engine's cut list,
//! and a MIDI file of the score and the cuts.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::SlicerApp;
use crate::plugin::snapshot::Snapshot;

/// File name stem of every export.
const STEM: &str = "audio-slicer-markers";

/// The export folder field and one button per format.
pub fn buttons(ui: &mut egui::Ui, app: &mut SlicerApp, snapshot: &Snapshot) {
    ui.strong("Export markers");
    ui.horizontal(|ui| {
        ui.label("Folder");
        if ui.text_edit_singleline(&mut app.export_dir).changed() {
            if let Ok(mut editor) = app.params.editor.lock() {
                editor.export_dir = app.export_dir.clone();
            }
        }
    });
    let rate = app.status.sample_rate.load(Ordering::Relaxed);
    let params = &app.params;
    let midi = || snapshot.midi_file(params.midi());
    let mut result = None;
    ui.horizontal(|ui| {
        if ui.button("Audacity labels").clicked() {
            let text = snapshot.cut_list(rate).to_audacity_labels();
            result = Some(write(&app.export_dir, "labels.txt", text.as_bytes()));
        }
        if ui.button("REAPER regions").clicked() {
            let text = snapshot.cut_list(rate).to_reaper_csv();
            result = Some(write(&app.export_dir, "regions.csv", text.as_bytes()));
        }
        if ui.button("MIDI file").clicked() {
            result = Some(write(&app.export_dir, "mid", &midi()));
        }
    });
    if let Some(result) = result {
        app.message = match result {
            Ok(path) => format!("wrote {}", path.display()),
            Err(e) => format!("export failed: {e}"),
        };
    }
}

/// Writes `bytes` to `STEM.extension` in `dir` (the home folder when empty).
fn write(dir: &str, extension: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let folder = if dir.trim().is_empty() {
        std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
    } else {
        Path::new(dir.trim()).to_path_buf()
    };
    let path = folder.join(format!("{STEM}.{extension}"));
    std::fs::write(&path, bytes)?;
    Ok(path)
}
