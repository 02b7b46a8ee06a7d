"""The bundled VST3 in pedalboard (JUCE's VST3 host): offline rendering, parameters read and
set by name, the bad stretch silenced, the music unchanged, the latency compensated; Timeline
analysis, whose second pass gates the command line's edit with no latency.

Run through run.sh, which makes the venv, the bundle path and the fixture (a session with
noise between music, and a tiny model trained on that music) available.
"""

import json
import os
import re
import sys
import unittest

import numpy as np

FIXTURE = json.load(open(os.path.join(os.environ["AUDIO_SLICER_FIXTURE"], "fixture.json")))
# The plugin reads the model directory from here when the project names none.
os.environ["AUDIO_SLICER_MODEL"] = FIXTURE["model_dir"]

import pedalboard  # noqa: E402  (after the environment is set for the plugin)
from pedalboard.io import AudioFile  # noqa: E402

BUNDLE = os.environ["AUDIO_SLICER_VST3"]


def load(analysis="Lookahead"):
    """The plugin with Snap off, in `analysis` (None: the default, Timeline). Most tests here
    are of the one-pass bounce, which Lookahead renders."""
    plugin = pedalboard.load_plugin(BUNDLE)
    plugin.snap = "Off"
    if analysis is not None:
        plugin.analysis = analysis
        # The new mode reaches the plugin in the next process call (see test_state_*), and
        # starts with the activation pedalboard's reset makes before the call after it.
        flush(plugin, FIXTURE["rate"])
    return plugin


# JUCE wraps a VST3 state as XML holding the component's bytes in its own base64 dialect.
JUCE_ALPHABET = ".ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+"


def juce_decode(text):
    size, data = text.split(".", 1)
    out = bytearray(int(size))
    for pos, ch in enumerate(data):
        value = JUCE_ALPHABET.index(ch)
        for bit in range(6):
            byte, shift = divmod(pos * 6 + bit, 8)
            if value & (1 << bit) and byte < len(out):
                out[byte] |= 1 << shift
    return bytes(out)


def juce_encode(data):
    bits = len(data) * 8
    chars = []
    for pos in range((bits + 5) // 6):
        value = 0
        for bit in range(6):
            byte, shift = divmod(pos * 6 + bit, 8)
            if byte < len(data) and data[byte] & (1 << shift):
                value |= 1 << bit
        chars.append(JUCE_ALPHABET[value])
    return f"{len(data)}." + "".join(chars)


def component_state(raw_state):
    """The plugin's own state (nice-plug's JSON) inside pedalboard's raw_state."""
    xml = raw_state[8:].decode()
    return json.loads(juce_decode(re.search(r"<IComponent>([^<]*)</IComponent>", xml).group(1)))


def with_component_state(raw_state, state):
    """raw_state with the plugin's JSON replaced, in JUCE's framing (magic, size, XML)."""
    xml = raw_state[8:].decode()
    body = juce_encode(json.dumps(state, separators=(",", ":")).encode())
    xml = re.sub(r"<IComponent>[^<]*</IComponent>", f"<IComponent>{body}</IComponent>", xml)
    data = xml.encode()
    return raw_state[:4] + len(data).to_bytes(4, "little") + data


# Every parameter at a value other than its default, as pedalboard names and shows them.
CHANGED = {
    "model_threshold": False,
    "threshold": 2.0,
    "min_cut_s": 1.0,
    "min_keep_s": 4.0,
    "pre_pad_s": 0.2,
    "post_pad_s": 0.3,
    "crossfade_s": 0.05,
    "snap": "Bar",
    "mode": "Analyse only",
    "midi_out": False,
    "midi_channel": 5,
    "score_cc": 30,
    "cut_note": "D4",
    "analysis": "Timeline",
}


def flush(plugin, rate):
    """Processes a few samples, so parameter changes reach the plugin (see test_state_*)."""
    plugin.process(np.zeros((1, 64), dtype=np.float32), rate, buffer_size=64, reset=False)


def same(a, b):
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        return abs(float(a) - b) <= max(0.02 * abs(b), 0.002)
    return str(a) == str(b)


def gated_spans(audio, out, rate):
    """Spans (in seconds) where the output is below half the input's power: the cuts, each
    edge at the middle of its equal-power ramp."""
    level = np.abs(audio[0]).astype(np.float64)
    sure = level > 1e-3
    gated = np.abs(out[0]) < np.sqrt(0.5) * level
    index = np.flatnonzero(sure & gated)
    spans = []
    for i in index:
        # Samples too quiet to tell are bridged; a gap of 50 ms ends a span.
        if spans and i - spans[-1][1] <= 0.05 * rate:
            spans[-1][1] = i + 1
        else:
            spans.append([i, i + 1])
    return [(a / rate, b / rate) for a, b in spans]


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
        self.assertIn("threshold", plugin.parameters)
        self.assertTrue(plugin.model_threshold)
        self.assertAlmostEqual(float(plugin.threshold), 0.5, places=2)
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

    def test_audition_plays_only_what_gate_cuts(self):
        gated = load().process(self.audio, self.rate, buffer_size=1024)
        plugin = load()
        plugin.mode = "Audition cuts"
        heard = plugin.process(self.audio, self.rate, buffer_size=1024)
        at, length = FIXTURE["noise_at"], FIXTURE["noise_len"]
        inside = slice(self.seconds(at + 1.0), self.seconds(at + length - 1.0))
        np.testing.assert_array_equal(heard[:, inside], self.audio[:, inside])
        # Everywhere else: what Gate keeps is silent, with the same ramps mirrored.
        self.assertEqual(np.abs(heard[:, : self.seconds(at - 1.0)]).max(), 0.0)
        power = gated.astype(np.float64) ** 2 + heard.astype(np.float64) ** 2
        reference = self.audio.astype(np.float64) ** 2
        np.testing.assert_allclose(power, reference, rtol=1e-4, atol=1e-9)

    def test_non_finite_input_never_reaches_the_output(self):
        audio = self.audio.copy()
        start = self.seconds(3.0)
        audio[:, start: start + 100] = np.nan
        audio[:, start + 500] = np.inf
        out = load().process(audio, self.rate, buffer_size=512)
        self.assertTrue(np.isfinite(out).all(), f"{(~np.isfinite(out)).sum()} non-finite samples")
        self.assertEqual(np.abs(out[:, start: start + 100]).max(), 0.0)

    def test_state_round_trips_every_parameter_and_drives_processing(self):
        plugin = load()
        for name, value in CHANGED.items():
            setattr(plugin, name, value)
        # Read at once, with nothing processed since: JUCE keeps the plugin processing, and
        # nice-plug 0.4 as published took a value set then only from the next process call, so
        # this state held the old values (vendor/README.md: the patch).
        state = plugin.raw_state
        restored = pedalboard.load_plugin(BUNDLE)
        restored.raw_state = state
        for name, value in CHANGED.items():
            self.assertTrue(same(getattr(restored, name), value), f"{name}: {getattr(restored, name)} != {value}")
        # The restored "Analyse only" drives processing: nothing is cut.
        out = restored.process(self.audio, self.rate, buffer_size=1024)
        np.testing.assert_array_equal(out, self.audio)

    def test_presets_round_trip_and_drive_processing(self):
        plugin = load()
        plugin.mode = "Analyse only"
        plugin.min_keep_s = 4.0
        flush(plugin, self.rate)
        preset = plugin.preset_data
        restored = pedalboard.load_plugin(BUNDLE)
        restored.preset_data = preset
        # The plugin holds the preset, and it drives processing. (JUCE keeps showing its own
        # cached parameter values after a .vstpreset load: nice-plug 0.4 does not tell the host
        # to reread them, so `restored.mode` still reads "Gate" here.)
        state = component_state(restored.raw_state)["params"]
        self.assertEqual(state["mode"], {"string": "analyse"})
        self.assertAlmostEqual(state["min-keep"]["f32"], 4.0, places=2)
        out = restored.process(self.audio, self.rate, buffer_size=1024)
        np.testing.assert_array_equal(out, self.audio)

    def test_a_state_loaded_into_an_active_plugin_reports_its_latency_at_once(self):
        # Timeline analysis is the default, with no latency; a project saved in Lookahead
        # loaded into the active plugin (as Ardour loads a project) must report the lookahead
        # before the host processes again (vendor/README.md: nice-plug's patch).
        plugin = load(analysis=None)
        flush(plugin, self.rate)
        self.assertEqual(str(plugin.analysis), "Timeline")
        self.assertEqual(plugin.reported_latency_samples, 0)
        raw = plugin.raw_state
        state = component_state(raw)
        state["params"]["analysis"] = {"string": "lookahead"}
        plugin.raw_state = with_component_state(raw, state)
        self.assertEqual(str(plugin.analysis), "Lookahead")
        self.assertGreater(plugin.reported_latency_samples, self.rate)
        # Loading back the state just read restarts nothing and reports the same latency.
        latency = plugin.reported_latency_samples
        plugin.raw_state = plugin.raw_state
        self.assertEqual(plugin.reported_latency_samples, latency)

    def test_persisted_fields_round_trip_and_old_states_load(self):
        plugin = load()
        flush(plugin, self.rate)
        raw = plugin.raw_state
        state = component_state(raw)
        # The model chosen in the editor and the editor's settings, as a project stores them.
        state["fields"]["model-path"] = json.dumps(FIXTURE["model_dir"])
        state["fields"]["editor"] = json.dumps({"view": {"kind": "fixed", "start": 3.0, "seconds": 12.5}, "export_dir": "/tmp/x"})
        restored = pedalboard.load_plugin(BUNDLE)
        restored.raw_state = with_component_state(raw, state)
        flush(restored, self.rate)
        again = component_state(restored.raw_state)
        self.assertEqual(json.loads(again["fields"]["model-path"]), FIXTURE["model_dir"])
        self.assertEqual(json.loads(again["fields"]["editor"])["view"], {"kind": "fixed", "start": 3.0, "seconds": 12.5})
        # A state from before the editor settings and MIDI parameters existed still loads,
        # keeping what it has and defaulting the rest.
        old = {"version": "0.1.0", "params": {"mode": {"string": "analyse"}, "min-cut": {"f32": 1.5}}, "fields": {"model-path": json.dumps("")}}
        restored = pedalboard.load_plugin(BUNDLE)
        restored.raw_state = with_component_state(raw, old)
        self.assertEqual(str(restored.mode), "Analyse only")
        self.assertTrue(same(restored.min_cut_s, 1.5))
        self.assertEqual(int(restored.score_cc), 20)

    def test_timeline_second_pass_gates_the_command_lines_edit(self):
        # pedalboard has no play head: the plugin sees a stopped transport at position 0 on
        # every buffer, and analyses what it hears as a stream from each reset.
        plugin = load(analysis="Timeline")
        first = plugin.process(self.audio, self.rate, buffer_size=1024)
        # Nothing heard yet: the analysis pass passes bit for bit (and with no latency).
        np.testing.assert_array_equal(first, self.audio)
        second = plugin.process(self.audio, self.rate, buffer_size=1024)
        self.assertEqual(second.shape, self.audio.shape)
        with open(os.path.join(os.environ["AUDIO_SLICER_FIXTURE"], "cli", "edit.cuts.json")) as f:
            cli = json.load(f)
        expected, start = [], 0.0
        for a, b in cli["keep"] + [[cli["duration"], cli["duration"]]]:
            if a > start:
                expected.append((start, a))
            start = b
        self.assertTrue(expected, "the command line cuts nothing")
        cuts = gated_spans(self.audio, second, self.rate)
        self.assertEqual(len(cuts), len(expected), f"{cuts} vs {expected}")
        error = max(abs(p - q) for c, e in zip(cuts, expected) for p, q in zip(c, e))
        print(f"cut boundaries within {error * 1000:.2f} ms of the command line's", file=sys.stderr)
        for (a, b), (x, y) in zip(cuts, expected):
            self.assertLessEqual(abs(a - x), 0.010, f"{cuts} vs {expected}")
            self.assertLessEqual(abs(b - y), 0.010, f"{cuts} vs {expected}")
        # Away from the cuts the audio is the input, at the same position: no latency.
        keep = np.ones(self.audio.shape[1], dtype=bool)
        for a, b in cuts:
            keep[max(0, self.seconds(a - 0.05)): self.seconds(b + 0.05)] = False
        np.testing.assert_array_equal(second[:, keep], self.audio[:, keep])
        # A third pass, in other buffers, bounces the same edit.
        third = plugin.process(self.audio, self.rate, buffer_size=333)
        np.testing.assert_array_equal(third, second)

    def test_stretches_kept_or_cut_by_hand_are_what_the_bounce_renders(self):
        plugin = load(analysis="Timeline")
        plugin.process(self.audio, self.rate, buffer_size=1024)
        model = gated_spans(self.audio, plugin.process(self.audio, self.rate, buffer_size=1024), self.rate)
        # The cut over the noise (6-10 s in the fixture), and two seconds of music it keeps.
        noise = next((a, b) for a, b in model if a < 8.0 < b)
        music = (12.0, 14.0)
        self.assertTrue(all(b <= music[0] or a >= music[1] for a, b in model), f"{model}")
        # Keep the one and cut the other by hand, as clicks in the editor do, through the state
        # a project saves (stream seconds: pedalboard has no play head).
        raw = plugin.raw_state
        state = component_state(raw)
        overrides = [
            {"range": {"start": noise[0], "end": noise[1]}, "decision": "keep"},
            {"range": {"start": music[0], "end": music[1]}, "decision": "cut"},
        ]
        state["fields"]["overrides"] = json.dumps(overrides)
        plugin.raw_state = with_component_state(raw, state)
        self.assertEqual(json.loads(component_state(plugin.raw_state)["fields"]["overrides"]), overrides)
        out = plugin.process(self.audio, self.rate, buffer_size=1024)
        cuts = gated_spans(self.audio, out, self.rate)
        self.assertTrue(all(b <= noise[0] or a >= noise[1] for a, b in cuts), f"the noise is still cut: {cuts}")
        self.assertTrue(any(abs(a - music[0]) <= 0.010 and abs(b - music[1]) <= 0.010 for a, b in cuts), f"{cuts}")
        inner = slice(self.seconds(noise[0] + 0.05), self.seconds(noise[1] - 0.05))
        np.testing.assert_array_equal(out[:, inner], self.audio[:, inner])
        self.assertTrue(np.all(out[:, self.seconds(music[0] + 0.05): self.seconds(music[1] - 0.05)] == 0.0))

    def test_renders_are_identical(self):
        first = load().process(self.audio, self.rate, buffer_size=4096)
        second = load().process(self.audio, self.rate, buffer_size=333)
        np.testing.assert_array_equal(first, second)


if __name__ == "__main__":
    result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
