//! Audio Slicer learns what good audio sounds like from a musician's own edits, then finds the
//! bad parts of raw recordings and cuts them.
//!
//! [`engine`] holds everything that does the work; the command-line tool (`src/cli`) and the
//! plugin are thin shells over it.

pub mod engine;
#[cfg(feature = "plugin")]
pub mod plugin;
