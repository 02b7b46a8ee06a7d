//! The engine: audio I/O, features, model, training, scoring, cut planning, rendering and
//! cut-list formats. It knows nothing of the plugin framework, the GUI or the command line.

pub mod align;
pub mod audio_io;
pub mod beats;
pub mod cut_list;
pub mod cut_plan;
pub mod edit;
pub mod features;
pub mod level_gate;
pub mod metrics;
pub mod model;
pub mod plot;
pub mod render;
pub mod pairs;
pub mod scoring;
pub mod stream;
pub mod slicer;
pub mod timeline;
pub mod training;
