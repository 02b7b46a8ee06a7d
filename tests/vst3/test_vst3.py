"""The bundled VST3 in pedalboard (JUCE's VST3 host): offline rendering, parameters read and
set by name, the bad stretch silenced, the music unchanged, the latency compensated.

Run through run.sh, which makes the venv, the bundle path and the fixture (a session with
noise between music, and a tiny model trained on that music) available.
"""

import json
import os
import sys
import unittest

import numpy as np

FIXTURE = json.load(open(os.path.join(os.environ["AUDIO_SLICER_FIXTURE"], "fixture.json")))
# The plugin reads the model directory from here when the project names none.
os.environ["AUDIO_SLICER_MODEL"] = FIXTURE["model_dir"]

import pedalboard  # noqa: E402  (after the environment is set for the plugin)
from pedalboard.io import AudioFile  # noqa: E402

BUNDLE = os.environ["AUDIO_SLICER_VST3"]


def load():
    plugin = pedalboard.load_plugin(BUNDLE)
    plugin.snap = "Off"
    return plugin


class Vst3(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with AudioFile(FIXTURE["wav"]) as f:
            cls.audio = f.read(f.frames)
            cls.rate = f.samplerate

    def seconds(self, t):
        return int(round(t * self.rate))

    def test_parameters_can_be_read_and_set(self):
        plugin = load()
        # pedalboard names parameters after their name and unit.
        self.assertIn("threshold_x", plugin.parameters)
        self.assertAlmostEqual(float(plugin.threshold_x), 1.0, places=2)
        plugin.min_cut_s = 0.8
        self.assertAlmostEqual(float(plugin.min_cut_s), 0.8, places=2)
        self.assertEqual(str(plugin.mode), "Gate")
        plugin.mode = "Analyse only"
        self.assertEqual(str(plugin.mode), "Analyse only")

    def test_bad_stretch_is_silenced_and_music_passes_unchanged(self):
        plugin = load()
        out = plugin.process(self.audio, self.rate, buffer_size=1024)
        self.assertEqual(out.shape, self.audio.shape)
        at, length = FIXTURE["noise_at"], FIXTURE["noise_len"]
        inside = out[:, self.seconds(at + 1.0): self.seconds(at + length - 1.0)]
        self.assertEqual(np.abs(inside).max(), 0.0, "the noise was not cut")
        # Latency compensated: away from the cut, output lines up with the input exactly.
        margin = 2.0
        for a, b in [(0.0, at - margin), (at + length + margin, self.audio.shape[1] / self.rate - margin)]:
            sl = slice(self.seconds(a), self.seconds(b))
            np.testing.assert_array_equal(out[:, sl], self.audio[:, sl])

    def test_analyse_mode_changes_nothing(self):
        plugin = load()
        plugin.mode = "Analyse only"
        out = plugin.process(self.audio, self.rate, buffer_size=512)
        np.testing.assert_array_equal(out, self.audio)

    def test_renders_are_identical(self):
        first = load().process(self.audio, self.rate, buffer_size=4096)
        second = load().process(self.audio, self.rate, buffer_size=333)
        np.testing.assert_array_equal(first, second)


if __name__ == "__main__":
    result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
