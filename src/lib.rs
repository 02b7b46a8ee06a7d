//! Audio Slicer learns what good audio sounds like from a musician's own edits, then finds the
//! bad parts of raw recordings and cuts them.
//!
//! [`engine`] holds everything that does the work; the command-line tool (`src/cli`) and the
//! plugin are thin shells over it. `research` (behind its feature) scores benchmarks and
//! cross-validates; nothing on the editing path uses it.

pub mod engine;
#[cfg(feature = "plugin")]
pub mod plugin;
#[cfg(feature = "research")]
pub mod research;
#[cfg(any(test, feature = "test-support"))]
pub mod synth;
