//! A complete scoring model: the autoencoder trained on edited audio, and, when the user's raw
//! recordings were available at training time, the keep/cut classifier learned from the pairs.
//! The seed's baselines are models of the same kind: the autoencoder alone, the autoencoder with
//! a second (raw) decoder, and a classifier labelled by whole file.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

use super::features::{FeatureConfig, LogMel};
use super::model::{Autoencoder, ModelConfig};
use super::novelty::{NoveltyScorer, NOVELTY_FILE};
use super::pairs::descriptors::local_dim;
use super::pairs::{
    local_descriptors_reporting, ClassifierConfig, ContextRows, LabelSource, MedianPrior,
    PairClassifier, PriorWeight, SegmentDescriptors, CLASSIFIER_WEIGHTS_FILE, PRIOR_WEIGHT,
};
use super::report::{training_report, REPORT_FILE};
use super::scoring::{score_log_mel, ScoreTimeline};

/// Contextual rows scored at once: about 3 MB of the default model's rows.
const CONTEXT_CHUNK: usize = 1024;

/// Name of the classifier's config file in a model directory.
pub const CLASSIFIER_CONFIG_FILE: &str = "classifier.json";

/// Scoring method of a model with only an autoencoder: reconstruction error (the seed design).
pub const METHOD_RECONSTRUCTION: &str = "autoencoder-mse";
/// Scoring method of a model with a classifier learned from raw/edited pairs.
pub const METHOD_PAIR_CLASSIFIER: &str = "pair-classifier";
/// Scoring method of a model learned from edited files only: distance from the edited audio.
pub const METHOD_EDITED_NOVELTY: &str = "edited-novelty";
/// Scoring method of the seed's binary file classifier (edited files keep, raw files cut).
pub const METHOD_FILE_CLASSIFIER: &str = "file-classifier";
/// Scoring method of the seed's dual autoencoder: edited decoder's error minus raw decoder's.
pub const METHOD_DUAL_AUTOENCODER: &str = "dual-autoencoder";

/// The autoencoder and the scorer on top of it.
pub struct Slicer {
    autoencoder: Autoencoder,
    scorer: Scorer,
}

/// What turns the autoencoder's view of a segment into its score.
// A model holds one, so the size of the empty variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Scorer {
    /// The autoencoder's reconstruction error (with a raw decoder, the edited decoder's error
    /// minus the raw one's), of segments every `hop_frames` frames.
    Reconstruction { hop_frames: usize },
    /// A scorer of each segment's descriptors in their context.
    Contextual(ContextScorer),
}

/// A scorer of contextual descriptors: the autoencoder's error and latent code of a segment,
/// its neighbourhood and the recording's median.
pub enum ContextScorer {
    /// Cut probability from the classifier learned from pairs (or from whole files).
    Classifier(PairClassifier),
    /// Distance from the edited audio.
    Novelty(NoveltyScorer),
}

impl ContextScorer {
    /// Step between scored segments, in frames, and the short and long context radii.
    pub fn geometry(&self) -> (usize, usize, usize) {
        match self {
            Self::Classifier(c) => {
                let cfg = c.config();
                (cfg.hop_frames, cfg.short_context, cfg.long_context)
            }
            Self::Novelty(n) => (n.hop_frames, n.short_context, n.long_context),
        }
    }

    /// The typical recording median of `local_dim` wide descriptors with `weight`, for
    /// features at `frame_rate`; `None` if the scorer holds none of that width or the weight is
    /// nothing.
    pub fn median_prior(
        &self,
        local_dim: usize,
        frame_rate: f64,
        weight: PriorWeight,
    ) -> Option<MedianPrior> {
        let values = match self {
            Self::Classifier(c) => c.median_prior_values(local_dim),
            Self::Novelty(n) => n.median_prior_values(local_dim),
        }?;
        let prior = MedianPrior::new(values.to_vec(), weight, self.geometry().0, frame_rate);
        prior.fits(local_dim).then_some(prior)
    }

    /// Scores of contextual descriptors.
    pub fn score(&self, descriptors: &SegmentDescriptors) -> Result<Vec<f64>> {
        match self {
            Self::Classifier(c) => c.predict(descriptors),
            Self::Novelty(n) => n.score(descriptors),
        }
    }
}

impl Slicer {
    /// A model of `autoencoder` and `scorer`.
    pub fn new(autoencoder: Autoencoder, scorer: Scorer) -> Self {
        Self {
            autoencoder,
            scorer,
        }
    }

    /// A model scoring by reconstruction error only, at a quarter-segment step.
    pub fn reconstruction_only(autoencoder: Autoencoder) -> Self {
        // Four scores per segment length resolve a cut to a quarter of a segment.
        let hop_frames = (autoencoder.config().segment_frames / 4).max(1);
        Self::new(autoencoder, Scorer::Reconstruction { hop_frames })
    }

    /// The model scoring every `hop_frames` frames. Only a model scored by reconstruction
    /// error takes another step than its own: a context scorer was trained on segments at its
    /// step, and its context is counted in them.
    pub fn with_hop_frames(mut self, hop_frames: usize) -> Result<Self> {
        if hop_frames == 0 {
            bail!("the step between scored segments must be at least 1 frame");
        }
        let own = self.hop_frames();
        match &mut self.scorer {
            Scorer::Reconstruction { hop_frames: hop } => *hop = hop_frames,
            Scorer::Contextual(_) if own != hop_frames => bail!(
                "model '{}' ({}) scores a segment every {own} frames, the step it was trained \
                 at; only a model scored by reconstruction error takes another step than its own",
                self.name(),
                self.method(),
            ),
            Scorer::Contextual(_) => {}
        }
        Ok(self)
    }

    /// A model scoring by `classifier` over `autoencoder`.
    pub fn with_classifier(autoencoder: Autoencoder, classifier: PairClassifier) -> Self {
        Self::new(
            autoencoder,
            Scorer::Contextual(ContextScorer::Classifier(classifier)),
        )
    }

    /// The autoencoder trained on edited audio.
    pub fn autoencoder(&self) -> &Autoencoder {
        &self.autoencoder
    }

    /// The scorer of contextual descriptors, unless the model scores by reconstruction error.
    pub fn context_scorer(&self) -> Option<&ContextScorer> {
        match &self.scorer {
            Scorer::Reconstruction { .. } => None,
            Scorer::Contextual(s) => Some(s),
        }
    }

    /// The keep/cut classifier, if the model scores with one.
    pub fn classifier(&self) -> Option<&PairClassifier> {
        match self.context_scorer() {
            Some(ContextScorer::Classifier(c)) => Some(c),
            _ => None,
        }
    }

    /// Loads a model directory (`config.json`, `model.safetensors`, and optionally
    /// `classifier.json` + `classifier.safetensors`).
    ///
    /// A model saved by this version names its method in `config.json`; a part that method
    /// needs but that is missing is an error, never a silent change of method. Older models
    /// (method `autoencoder-mse` whatever they hold) are read by the files present.
    pub fn from_checkpoint(dir: &Path) -> Result<Self> {
        let autoencoder = Autoencoder::from_checkpoint(dir)?;
        let config_path = dir.join(CLASSIFIER_CONFIG_FILE);
        let novelty_path = dir.join(NOVELTY_FILE);
        let declared = autoencoder.config().method.as_str();
        let needs = match declared {
            METHOD_PAIR_CLASSIFIER | METHOD_FILE_CLASSIFIER => Some(&config_path),
            METHOD_EDITED_NOVELTY => Some(&novelty_path),
            _ => None,
        };
        if let Some(needed) = needs.filter(|p| !p.exists()) {
            bail!(
                "model {} is a {declared} model but {} is missing: restore it, or retrain with --method",
                dir.display(),
                needed.display()
            );
        }
        if !config_path.exists() {
            if !novelty_path.exists() {
                return Ok(Self::reconstruction_only(autoencoder));
            }
            let novelty = std::fs::read_to_string(&novelty_path)
                .map_err(anyhow::Error::from)
                .and_then(|text| Ok(serde_json::from_str::<NoveltyScorer>(&text)?))
                .with_context(|| format!("cannot load {}", novelty_path.display()))?;
            return Ok(Self::new(
                autoencoder,
                Scorer::Contextual(ContextScorer::Novelty(novelty)),
            ));
        }
        let load = || -> Result<PairClassifier> {
            let text = std::fs::read_to_string(&config_path)?;
            let weights = std::fs::read(dir.join(CLASSIFIER_WEIGHTS_FILE))?;
            Self::classifier_from_bytes(&text, &weights)
        };
        let classifier = load()
            .with_context(|| format!("cannot load the classifier of model {}", dir.display()))?;
        Ok(Self::with_classifier(autoencoder, classifier))
    }

    /// A classifier from the text of `classifier.json` and the bytes of its weights.
    pub fn classifier_from_bytes(config_json: &str, weights: &[u8]) -> Result<PairClassifier> {
        let config: ClassifierConfig = serde_json::from_str(config_json).map_err(|e| {
            anyhow!("{CLASSIFIER_CONFIG_FILE} is not a valid classifier config: {e}")
        })?;
        PairClassifier::from_bytes(config, weights)
    }

    /// Writes every file of the model into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        // config.json names the whole model's method, so a part deleted later is noticed.
        let config = ModelConfig {
            method: self.method().to_owned(),
            ..self.autoencoder.config().clone()
        };
        self.autoencoder.save_with_config(dir, &config)?;
        match self.context_scorer() {
            Some(ContextScorer::Classifier(clf)) => {
                let path = dir.join(CLASSIFIER_CONFIG_FILE);
                std::fs::write(&path, serde_json::to_string_pretty(clf.config())?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                clf.save_weights(dir)?;
            }
            Some(ContextScorer::Novelty(novelty)) => {
                let path = dir.join(NOVELTY_FILE);
                std::fs::write(&path, serde_json::to_string(novelty)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            None => {}
        }
        let path = dir.join(REPORT_FILE);
        std::fs::write(&path, training_report(self))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    /// How this model scores segments.
    pub fn method(&self) -> &'static str {
        match self.context_scorer() {
            Some(ContextScorer::Classifier(c)) => match c.config().labels {
                LabelSource::AlignedSpans => METHOD_PAIR_CLASSIFIER,
                LabelSource::WholeFiles => METHOD_FILE_CLASSIFIER,
            },
            Some(ContextScorer::Novelty(_)) => METHOD_EDITED_NOVELTY,
            None if self.autoencoder.has_raw_decoder() => METHOD_DUAL_AUTOENCODER,
            None => METHOD_RECONSTRUCTION,
        }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.autoencoder.config().name
    }

    /// Feature parameters.
    pub fn features(&self) -> &FeatureConfig {
        &self.autoencoder.config().features
    }

    /// Frames per scored segment.
    pub fn segment_frames(&self) -> usize {
        self.autoencoder.config().segment_frames
    }

    /// The step between scored segments, in analysis frames: every score the model gives is
    /// of segments this far apart, and plans read it from the scores
    /// ([`ScoreTimeline::hop_seconds`]).
    pub fn hop_frames(&self) -> usize {
        match &self.scorer {
            Scorer::Reconstruction { hop_frames } => *hop_frames,
            Scorer::Contextual(scorer) => scorer.geometry().0,
        }
    }

    /// The absolute threshold to use when the user asks for none: the classifier's decision
    /// threshold, or the autoencoder's calibrated validation percentile.
    pub fn default_threshold(&self) -> Option<f64> {
        match self.context_scorer() {
            Some(ContextScorer::Classifier(c)) => Some(c.config().threshold),
            Some(ContextScorer::Novelty(n)) => Some(n.threshold),
            None => self
                .autoencoder
                .config()
                .calibration
                .as_ref()
                .map(|c| c.default_threshold()),
        }
    }

    /// Scores an unnormalised spectrogram of a recording lasting `duration` seconds.
    /// With a classifier the score is the probability that the segment is cut.
    pub fn score_log_mel(&self, spec: &LogMel, duration: f64) -> Result<ScoreTimeline> {
        self.score_log_mel_reporting(spec, duration, &mut |_, _| {})
    }

    /// [`Self::score_log_mel`], calling `report(done, total)` with the segments scored so far
    /// (a model scoring by reconstruction error reports only at the end).
    pub fn score_log_mel_reporting(
        &self,
        spec: &LogMel,
        duration: f64,
        report: &mut dyn FnMut(usize, usize),
    ) -> Result<ScoreTimeline> {
        let Some(scorer) = self.context_scorer() else {
            let timeline = score_log_mel(&self.autoencoder, spec, duration, self.hop_frames())?;
            report(timeline.segments.len(), timeline.segments.len());
            return Ok(timeline);
        };
        let local =
            local_descriptors_reporting(&self.autoencoder, spec, scorer.geometry().0, report)?;
        self.score_descriptors(scorer, &local, spec.frame_rate, duration)
    }

    /// Scores a recording from the local descriptors of its segments (the autoencoder's work,
    /// nearly all of scoring's): puts them in context and runs the context scorer. A session
    /// that grows keeps its descriptors and calls this again, instead of describing it anew.
    pub fn score_descriptors(
        &self,
        scorer: &ContextScorer,
        local: &SegmentDescriptors,
        frame_rate: f64,
        duration: f64,
    ) -> Result<ScoreTimeline> {
        let (hop, short, long) = scorer.geometry();
        let prior = scorer.median_prior(local_dim(&self.autoencoder), frame_rate, PRIOR_WEIGHT);
        // Contextual rows are four times the local ones: score them a chunk at a time.
        let mut rows = ContextRows::new(local, short, long, prior.as_ref());
        let mut p = Vec::with_capacity(local.len());
        while let Some(chunk) = rows.next_chunk(CONTEXT_CHUNK) {
            p.extend(scorer.score(&chunk)?);
        }
        if let Some(bad) = p.iter().find(|s| !s.is_finite()) {
            bail!(
                "model {} gave a score of {bad}: its weights or statistics are damaged",
                self.name()
            );
        }
        Ok(ScoreTimeline::from_frames(
            local.starts.iter().copied().zip(p),
            self.segment_frames(),
            hop,
            frame_rate,
            duration,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_loads_and_so_does_a_model_from_before_labels_and_raw_decoders() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
        let model = Slicer::from_checkpoint(&shipped).unwrap();
        assert_eq!(model.method(), METHOD_PAIR_CLASSIFIER);
        // The same model as older versions wrote it: no `labels`, no `raw_decoder`.
        let old = std::env::temp_dir().join(format!("slicer-old-model-{}", std::process::id()));
        std::fs::create_dir_all(&old).unwrap();
        for file in std::fs::read_dir(&shipped).unwrap().flatten() {
            std::fs::copy(file.path(), old.join(file.file_name())).unwrap();
        }
        for (file, field) in [
            (CLASSIFIER_CONFIG_FILE, "labels"),
            ("config.json", "raw_decoder"),
        ] {
            let path = old.join(file);
            let mut json: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            json.as_object_mut().unwrap().remove(field);
            std::fs::write(&path, json.to_string()).unwrap();
        }
        let model = Slicer::from_checkpoint(&old).unwrap();
        std::fs::remove_dir_all(&old).unwrap();
        assert_eq!(model.method(), METHOD_PAIR_CLASSIFIER);
        assert!(!model.autoencoder.has_raw_decoder());
        let clf = model.classifier().unwrap().config();
        assert_eq!(clf.labels, LabelSource::AlignedSpans);
    }

    #[test]
    fn label_sources_are_written_as_readable_names() {
        let name = |l| serde_json::to_value(l).unwrap();
        assert_eq!(name(LabelSource::WholeFiles), "whole-files");
        assert_eq!(name(LabelSource::AlignedSpans), "aligned-spans");
        let parsed: LabelSource = serde_json::from_str("\"whole-files\"").unwrap();
        assert_eq!(parsed, LabelSource::WholeFiles);
        assert!(serde_json::from_str::<LabelSource>("\"by-guess\"").is_err());
    }

    #[test]
    fn the_shipped_classifier_scores_chunks_of_context_rows_as_it_scores_them_all() {
        use crate::engine::pairs::with_context;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
        let model = Slicer::from_checkpoint(&dir).unwrap();
        let scorer = model.context_scorer().unwrap();
        let (_, short, long) = scorer.geometry();
        let dim = local_dim(&model.autoencoder);
        let n = 2 * CONTEXT_CHUNK + 77;
        let local = SegmentDescriptors {
            starts: (0..n).collect(),
            values: (0..n * dim)
                .map(|i| ((i * 7919) % 2003) as f32 / 1000.0 - 1.0)
                .collect(),
            dim,
        };
        let prior = scorer.median_prior(dim, model.features().frame_rate(), PRIOR_WEIGHT);
        let whole = scorer
            .score(&with_context(&local, short, long, prior.as_ref()))
            .unwrap();
        let mut rows = ContextRows::new(&local, short, long, prior.as_ref());
        let mut chunked = Vec::new();
        while let Some(chunk) = rows.next_chunk(CONTEXT_CHUNK) {
            chunked.extend(scorer.score(&chunk).unwrap());
        }
        assert_eq!(chunked.len(), whole.len());
        let worst = chunked
            .iter()
            .zip(&whole)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "chunked scores differ by {worst}");
    }
}
