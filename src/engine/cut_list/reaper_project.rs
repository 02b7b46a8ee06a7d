//! The edit as a REAPER project: one track holding the kept pieces as items, end to end, each
//! item a window onto the raw recording, joined by crossfades as the rendered edit joins them.
//! Opening it in REAPER gives the edit ready to adjust: drag an item's edge to keep more, move
//! or delete an item, and the raw audio is all still there.

use std::fmt::Write;
use std::path::Path;

use super::CutList;

/// REAPER's item fade shape 1 ("equal power"-like slow start/end curve of REAPER's default
/// crossfades), closest to the render's sine/cosine crossfade.
const FADE_SHAPE: u32 = 1;

impl CutList {
    /// A REAPER project (`.rpp`) of this edit of `source` (the raw recording, written as given:
    /// pass an absolute path so the project opens from anywhere), with `crossfade` seconds of
    /// crossfade at each join, centred on it as [`crate::engine::render::render_keep`] does.
    pub fn to_reaper_project(&self, source: &Path, crossfade: f64) -> String {
        let file = source.display().to_string().replace('"', "'");
        let name = source
            .file_stem()
            .map_or_else(|| "edit".into(), |s| s.to_string_lossy().replace('"', "'"));
        let kind = match source
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref()
        {
            Some("flac") => "FLAC",
            Some("ogg" | "oga") => "VORBIS",
            Some("mp3") => "MP3",
            _ => "WAVE",
        };
        let keep = self.keep_ranges();
        let mut out = String::from("<REAPER_PROJECT 0.1 \"6.0\" 0\n");
        let _ = writeln!(out, "  SAMPLERATE {} 0 0", self.sample_rate);
        let _ = writeln!(out, "  <TRACK\n    NAME \"{name} (edit)\"");
        let mut timeline = 0.0_f64;
        for (i, piece) in keep.iter().enumerate() {
            let length = piece.duration();
            let fade = |neighbour: Option<&super::TimeRange>| {
                neighbour.map_or(0.0, |n| crossfade.min(length).min(n.duration()).max(0.0))
            };
            let fade_in = fade(i.checked_sub(1).and_then(|j| keep.get(j)));
            let fade_out = fade(keep.get(i + 1));
            // Half of each crossfade lies outside the kept range, as far as the audio reaches.
            let head = (fade_in / 2.0).min(piece.start);
            let tail = (fade_out / 2.0).min((self.duration - piece.end).max(0.0));
            let _ = writeln!(out, "    <ITEM");
            let _ = writeln!(out, "      POSITION {:.6}", timeline - head);
            let _ = writeln!(out, "      LENGTH {:.6}", head + length + tail);
            let _ = writeln!(out, "      FADEIN {FADE_SHAPE} {fade_in:.6} 0");
            let _ = writeln!(out, "      FADEOUT {FADE_SHAPE} {fade_out:.6} 0");
            let _ = writeln!(out, "      NAME \"kept {}\"", i + 1);
            let _ = writeln!(out, "      SOFFS {:.6}", piece.start - head);
            let _ = writeln!(
                out,
                "      <SOURCE {kind}\n        FILE \"{file}\"\n      >"
            );
            let _ = writeln!(out, "    >");
            timeline += length;
        }
        out.push_str("  >\n>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::timeline::TimeRange;

    fn list(keep: &[(f64, f64)]) -> CutList {
        let keep: Vec<TimeRange> = keep.iter().map(|&(s, e)| TimeRange::new(s, e)).collect();
        CutList::new("raw.wav", 44100, 30.0, &keep, Vec::new(), 0.5, "m")
    }

    fn field(item: &str, key: &str) -> Vec<f64> {
        let line = item
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("{key} missing in {item}"));
        line.split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect()
    }

    #[test]
    fn kept_pieces_become_items_end_to_end_with_centred_crossfades() {
        let rpp = list(&[(2.0, 8.0), (10.0, 13.0), (20.0, 30.0)])
            .to_reaper_project(Path::new("/music/raw take.flac"), 0.02);
        assert!(rpp.starts_with("<REAPER_PROJECT"));
        assert_eq!(rpp.matches('<').count(), rpp.matches('>').count());
        let items: Vec<&str> = rpp.split("<ITEM").skip(1).collect();
        assert_eq!(items.len(), 3);
        assert!(rpp.contains("<SOURCE FLAC") && rpp.contains("FILE \"/music/raw take.flac\""));
        // Item 2: 3 s from 10 s of the raw, placed after the first 6 s of the edit, reaching a
        // half crossfade into the audio on each side.
        let second = items[1];
        assert!((field(second, "POSITION")[0] - 5.99).abs() < 1e-9);
        assert!((field(second, "LENGTH")[0] - 3.02).abs() < 1e-9);
        assert!((field(second, "SOFFS")[0] - 9.99).abs() < 1e-9);
        assert_eq!(field(second, "FADEIN")[1], 0.02);
        assert_eq!(field(second, "FADEOUT")[1], 0.02);
        // The first item has no fade in, the last no fade out, and nothing reads past 30 s.
        assert_eq!(field(items[0], "FADEIN")[1], 0.0);
        assert_eq!(field(items[2], "FADEOUT")[1], 0.0);
        let last = items[2];
        assert!(field(last, "SOFFS")[0] + field(last, "LENGTH")[0] <= 30.0 + 1e-9);
    }
}
