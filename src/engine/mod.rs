//! The engine: audio I/O, features, model, training, scoring, cut planning, rendering and
//! cut-list formats. It knows nothing of the plugin framework, the GUI or the command line.

pub mod align;
pub mod audio_io;
pub mod beats;
pub mod boundaries;
pub mod cut_list;
pub mod cut_plan;
pub mod edit;
pub mod fades;
pub mod features;
pub mod model;
pub mod novelty;
pub mod outputs;
pub mod pairs;
pub mod plot;
pub mod render;
pub mod report;
pub mod scoring;
pub mod session;
pub mod slicer;
pub mod stream;
pub mod takes;
pub mod timeline;
pub mod training;
