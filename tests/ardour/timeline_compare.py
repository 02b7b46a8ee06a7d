"""Ardour's export of a session whose track was played once in real time with Audio Slicer in
Timeline analysis (saved with the project), against the command line's edit of the same
recording with the same model and options.

The export must be the recording itself where it is kept, at the same sample (no latency), and
its cuts the command line's: every boundary within TOLERANCE_S. Timeline analysis plans the
whole track with the command line's planner, so the boundaries agree to within a few samples;
the tolerance is the issue's 10 ms.

Usage: timeline_compare.py FIXTURE_WAV EXPORT_WAV CLI_CUTS_JSON [OFFSET_SAMPLES]
(OFFSET_SAMPLES: where the recording starts on the session's timeline, 0 unless given; the
export then begins with that much silence.)
Prints "RESULT name PASS|FAIL detail" lines, like compare.py.
"""

import json
import sys

import numpy as np
from pedalboard.io import AudioFile

from cli_compare import cuts_of

TOLERANCE_S = 0.010
# The goal for the export's agreement with the command line, at TOLERANCE_S.
MIN_F1 = 0.99
# A cut is where the export is below half the input's power; quieter input cannot tell.
AUDIBLE = 1e-3
# Cut spans closer than this are one span (quiet samples inside a cut are bridged).
BRIDGE_S = 0.05


def read(path):
    with AudioFile(path) as f:
        return f.read(f.frames).astype(np.float64), f.samplerate


def gated_spans(audio, out, rate):
    """Spans in seconds where the output is below half the input's power, each edge at the
    middle of its equal-power ramp."""
    level = np.abs(audio[0])
    index = np.flatnonzero((level > AUDIBLE) & (np.abs(out[0]) < np.sqrt(0.5) * level))
    spans = []
    for i in index:
        if spans and i - spans[-1][1] <= BRIDGE_S * rate:
            spans[-1][1] = i + 1
        else:
            spans.append([i, i + 1])
    return [(a / rate, b / rate) for a, b in spans]


def agreement_f1(audio, out, rate, cuts, resolution=TOLERANCE_S):
    """F1 of the export's cut time against the command line's, in bins of `resolution` where
    the input is audible (silence sounds the same cut or kept): a bin is cut in the export when
    its output has less than half the input's power, and cut by the command line when its
    middle lies in one of `cuts`. Returns (f1, bins compared)."""
    width = int(round(resolution * rate))
    bins = audio.shape[1] // width
    shape = (audio.shape[0], bins, width)
    power_in = np.mean(audio[:, : bins * width].reshape(shape) ** 2, axis=(0, 2))
    power_out = np.mean(out[:, : bins * width].reshape(shape) ** 2, axis=(0, 2))
    audible = power_in > AUDIBLE**2
    exported = power_out < 0.5 * power_in
    middles = (np.arange(bins) + 0.5) * resolution
    cli = np.zeros(bins, bool)
    for start, end in cuts:
        cli |= (middles >= start) & (middles < end)
    both = np.sum(exported & cli & audible)
    either = np.sum(exported & audible) + np.sum(cli & audible)
    return (1.0 if either == 0 else 2.0 * both / either), int(audible.sum())


def result(name, ok, detail):
    print(f"RESULT {name} {'PASS' if ok else 'FAIL'} {detail}", flush=True)
    return ok


def main():
    audio, rate = read(sys.argv[1])
    out, out_rate = read(sys.argv[2])
    offset = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    # The recording where the session plays it, and the command line's cuts there.
    audio = np.pad(audio, ((0, 0), (offset, 0)))
    cli = [(a + offset / rate, b + offset / rate) for a, b in cuts_of(json.load(open(sys.argv[3])))]
    ok = result("timeline_export_rate", out_rate == rate, f"export at {out_rate} Hz, fixture {rate} Hz")
    n = min(audio.shape[1], out.shape[1])
    audio, out = audio[:, :n], out[:, :n]
    spans = gated_spans(audio, out, rate)
    # Away from every cut (and its ramp), the export is the recording at the same sample.
    far = np.ones(n, bool)
    for a, b in spans:
        far[max(0, int((a - 0.06) * rate)):int((b + 0.06) * rate)] = False
    equal = np.all(out == audio, axis=0) | ~far
    ok &= result("timeline_export_has_no_latency", bool(equal.all()) and far.any(),
                 f"{int((~equal).sum())} of {int(far.sum())} samples away from the cuts differ from the recording")
    worst, missing, lines = 0.0, [], []
    for start, end in cli:
        near = [s for s in spans if s[0] < end + TOLERANCE_S and s[1] > start - TOLERANCE_S]
        if not near:
            missing.append((start, end))
            continue
        a = min(near, key=lambda s: abs(s[0] - start) + abs(s[1] - end))
        # A cut at the very end runs to the export's end.
        d = max(abs(a[0] - start), 0.0 if end >= n / rate - TOLERANCE_S else abs(a[1] - end))
        worst = max(worst, d)
        lines.append(f"CLI {start:.3f}-{end:.3f} s vs export {a[0]:.3f}-{a[1]:.3f} s ({d * 1000:.1f} ms)")
    extra = [s for s in spans if not any(s[0] < e + TOLERANCE_S and s[1] > b - TOLERANCE_S for b, e in cli)]
    detail = "; ".join(lines) or "the CLI made no cut"
    if missing:
        detail += f"; CLI cuts missing from the export: {missing}"
    if extra:
        detail += "; only in the export: " + ", ".join(f"{s:.3f}-{e:.3f} s" for s, e in extra)
    detail += f"; worst boundary {worst * 1000:.1f} ms, tolerance {TOLERANCE_S * 1000:.0f} ms"
    f1, compared = agreement_f1(audio, out, rate, cli)
    ok &= result("timeline_export_agrees_with_cli", f1 >= MIN_F1,
                 f"F1 {f1:.4f} over {compared} audible {TOLERANCE_S * 1000:.0f} ms bins (at least {MIN_F1})")
    ok &= result("timeline_export_matches_cli_within_10ms",
                 bool(cli) and not missing and not extra and worst <= TOLERANCE_S, detail)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
