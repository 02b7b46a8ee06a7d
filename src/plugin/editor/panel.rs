//! The header (status line) and the side panel's controls and model section.

use std::sync::atomic::Ordering;

use nice_plug::prelude::ParamSetter;
use nice_plug_egui::widgets::ParamSlider;

use super::{audio_fault_text, SlicerApp};
use crate::engine::edit::ThresholdMode;
use crate::plugin::params::SlicerParams;
use crate::plugin::shared::Status;
use crate::plugin::snapshot::Snapshot;

/// Colour of warnings.
const WARN: egui::Color32 = egui::Color32::from_rgb(240, 170, 60);

/// Model, threshold and analysis status in one band above the timeline.
pub fn header(ui: &mut egui::Ui, snapshot: &Snapshot, status: &Status, params: &SlicerParams) {
    ui.horizontal_wrapped(|ui| {
        ui.heading("Audio Slicer");
        ui.separator();
        let model = &snapshot.model;
        if model.name.is_empty() {
            ui.label("no model");
        } else {
            ui.label(format!(
                "model: {} ({}, {})",
                model.name, model.source, model.method
            ));
        }
        ui.separator();
        ui.label(match params.threshold_mode() {
            ThresholdMode::Absolute(_) => format!(
                "threshold {} (set by hand; the model's {})",
                short(snapshot.threshold),
                short(model.calibrated_threshold)
            ),
            _ => format!(
                "threshold {} (the model's)",
                short(model.calibrated_threshold)
            ),
        });
    });
    ui.horizontal_wrapped(|ui| {
        let rate = f64::from(status.sample_rate.load(Ordering::Relaxed).max(1));
        let latency = f64::from(status.latency_samples.load(Ordering::Relaxed)) / rate;
        ui.label(format!("latency {:.0} ms", latency * 1000.0));
        ui.separator();
        ui.label(format!("analysed {:.1} s", snapshot.analysed_seconds));
        ui.separator();
        ui.label(format!("analysis load {:.1} %", snapshot.load * 100.0));
        ui.separator();
        if snapshot.lag_seconds > 0.05 {
            ui.colored_label(
                WARN,
                format!(
                    "analysis {:.2} s behind: audio is kept until it catches up",
                    snapshot.lag_seconds
                ),
            );
        } else {
            ui.label("analysis keeping up");
        }
    });
    if let Some(notice) = &snapshot.notice {
        ui.colored_label(WARN, notice);
    }
    if let Some(fault) = &snapshot.fault {
        ui.colored_label(WARN, format!("{fault} - audio passes through unchanged"));
    }
    for text in audio_fault_text(status) {
        ui.colored_label(WARN, text);
    }
}

/// A labelled slider row per parameter (a macro because the parameters differ in type).
macro_rules! param_rows {
    ($ui:expr, $setter:expr, $($label:literal => $param:expr),+ $(,)?) => {
        $(row($ui, $label, ParamSlider::for_param(&$param, $setter));)+
    };
}

/// A slider per parameter.
pub fn controls(ui: &mut egui::Ui, params: &SlicerParams, setter: &ParamSetter) {
    ui.strong("Detection");
    param_rows!(ui, setter,
        "Model's" => params.model_threshold,
    );
    // The absolute threshold counts only with "Model's" off, so dragging it turns that off.
    let own = params.model_threshold.value();
    ui.horizontal(|ui| {
        let response = ui
            .add_sized([80.0, 18.0], egui::Label::new("Threshold"))
            .union(ui.add(ParamSlider::for_param(&params.threshold, setter)));
        if own && response.dragged() {
            setter.begin_set_parameter(&params.model_threshold);
            setter.set_parameter(&params.model_threshold, false);
            setter.end_set_parameter(&params.model_threshold);
        }
    });
    param_rows!(ui, setter,
        "Min cut" => params.min_cut,
        "Min keep" => params.min_keep,
        "Pre pad" => params.pre_pad,
        "Post pad" => params.post_pad,
        "Snap" => params.snap,
    );
    ui.strong("Output");
    param_rows!(ui, setter,
        "Mode" => params.mode,
        "Crossfade" => params.crossfade,
        "Analysis" => params.analysis,
    );
    ui.strong("MIDI");
    param_rows!(ui, setter,
        "Send MIDI" => params.midi_out,
        "Channel" => params.midi_channel,
        "Score CC" => params.midi_cc,
        "Cut note" => params.cut_note,
    );
}

fn row(ui: &mut egui::Ui, label: &str, widget: impl egui::Widget) {
    ui.horizontal(|ui| {
        ui.add_sized([80.0, 18.0], egui::Label::new(label));
        ui.add(widget);
    });
}

/// The model in use, its calibration, and choosing another.
pub fn model(ui: &mut egui::Ui, app: &mut SlicerApp, snapshot: &Snapshot) {
    ui.strong("Model");
    let info = &snapshot.model;
    if !info.calibration.is_empty() {
        let points: Vec<String> = info
            .calibration
            .iter()
            .filter(|(p, _)| [50.0, 90.0, 95.0, 99.0].contains(p))
            .map(|(p, e)| format!("p{p:.0} {}", short(*e)))
            .collect();
        ui.label(format!("calibration: {}", points.join(", ")));
    }
    ui.horizontal(|ui| {
        ui.label("Directory");
        ui.text_edit_singleline(&mut app.model_path);
    });
    ui.horizontal(|ui| {
        if ui.button("Load model").clicked() {
            set_model(app, app.model_path.trim().to_owned());
        }
        if ui.button("Built-in model").clicked() {
            app.model_path.clear();
            set_model(app, String::new());
        }
    });
}

/// Saves the model choice with the project and asks the plugin to start again with it.
fn set_model(app: &mut SlicerApp, path: String) {
    if let Ok(mut current) = app.params.model_path.lock() {
        *current = path.clone();
    }
    app.status.model_changed.store(true, Ordering::Release);
    app.message = if path.is_empty() {
        "switching to the built-in model".into()
    } else {
        format!("loading {path}")
    };
}

/// Two significant figures, scores span several decades.
pub fn short(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let digits = (1 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}
