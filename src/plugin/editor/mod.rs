//! The egui editor: a scrolling score timeline with the threshold and the cuts, the controls,
//! the model and its calibration, the analysis status and the marker exports.
//!
//! It only reads snapshots the analysis thread publishes (an `Arc` clone under a lock the
//! analysis thread never waits for) and parameters, so it can never slow the audio down.

mod export;
mod panel;
pub mod timeline;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug_egui::{
    baseview, create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, Frame,
    NiceEguiApp, RepaintNotifier,
};

use super::params::SlicerParams;
use super::shared::{fault_bits, Status};

/// Window size at first open, in logical pixels.
const WIDTH: f32 = 980.0;
const HEIGHT: f32 = 620.0;
/// How often the editor redraws to follow the analysis.
const REFRESH: Duration = Duration::from_millis(100);

/// The editor type the plugin exports.
pub type SlicerEditor = EguiEditor<SlicerApp>;

/// Builds the editor.
pub fn create(params: Arc<SlicerParams>, status: Arc<Status>) -> Option<SlicerEditor> {
    let model_path = params.model_dir().unwrap_or_default();
    let export_dir = params
        .editor
        .lock()
        .map(|e| e.export_dir.clone())
        .unwrap_or_default();
    create_egui_editor(
        EguiEditorState::from_size(LogicalSize::new(WIDTH, HEIGHT), 1.0),
        RepaintNotifier::new(),
        EguiNiceSettings::new()
            .with_tile("Audio Slicer")
            .with_repaint_poll_interval(REFRESH),
        SlicerApp {
            params,
            status,
            gui: None,
            model_path,
            export_dir,
            message: String::new(),
        },
    )
}

/// The editor's state between frames.
pub struct SlicerApp {
    params: Arc<SlicerParams>,
    status: Arc<Status>,
    gui: Option<GuiContext>,
    /// Model directory being typed.
    model_path: String,
    /// Export folder being typed.
    export_dir: String,
    /// Outcome of the last action (export, model load).
    message: String,
}

impl NiceEguiApp for SlicerApp {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        gui_ctx: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), baseview::HandlerError> {
        egui_ctx.set_visuals(egui::Visuals::dark());
        self.gui = Some(gui_ctx);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        let snapshot = self.status.snapshot();
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();
        egui::Panel::top("header").show(ui, |ui| {
            panel::header(ui, &snapshot, &self.status, &self.params);
        });
        egui::Panel::right("controls")
            .exact_size(330.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    panel::controls(ui, &self.params, &setter);
                    ui.separator();
                    panel::model(ui, self, &snapshot);
                    ui.separator();
                    export::buttons(ui, self, &snapshot);
                    if !self.message.is_empty() {
                        ui.separator();
                        ui.label(&self.message);
                    }
                });
            });
        egui::CentralPanel::default_margins().show(ui, |ui| {
            timeline::show(ui, &snapshot, &self.params, &self.status);
        });
        ui.ctx().request_repaint_after(REFRESH);
    }
}

/// Human-readable faults the audio thread flagged.
pub fn audio_fault_text(status: &Status) -> Vec<String> {
    let bits = status.audio_faults.load(Ordering::Relaxed);
    let mut out = Vec::new();
    if bits & fault_bits::NON_FINITE_INPUT != 0 {
        let n = status.non_finite_samples.load(Ordering::Relaxed);
        out.push(format!(
            "{n} NaN/infinite input samples: they were output as silence and that stretch passed ungated"
        ));
    }
    if bits & fault_bits::OVERRUN != 0 {
        out.push("analysis fell behind and some input was not analysed (kept as played)".into());
    }
    if bits & fault_bits::NO_ANALYSIS != 0 {
        out.push("analysis stopped: audio passes through ungated".into());
    }
    out
}
