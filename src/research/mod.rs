//! Research code, apart from what the plugin and the editing path compile: the benchmark
//! scorer, cross-validation on a user's own pairs, and the level-gate baseline every learned
//! method is measured against. Behind the `research` feature, which the command line needs for
//! `evaluate`.

pub mod crossval;
pub mod level_gate;
pub mod metrics;
