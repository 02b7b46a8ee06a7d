"""The plugin's MIDI as Ardour recorded it on a MIDI track (the "AS NOTE" and "AS CC" lines of
session.lua's midirec step) against the command line's edit of the same file: a note per cut,
each edge within 10 ms of the command line's, and the score controller at each segment's start
with the value of that segment's score (the threshold at 64, as the plugin maps it), away from
the recording's two ends (see below).

Usage: midi_compare.py MIDIREC_LOG CUTS_JSON RATE
Prints "RESULT name PASS|FAIL detail" lines for run.sh; exits non-zero on a failure.
"""
import json
import re
import sys

from cli_compare import cuts_of

TOLERANCE_S = 0.010
# Recorded values may differ from the plugin's by one step: Ardour keeps controller events in
# its automation lists as floats.
CC_SLACK = 1
# Ardour's declick at the start of a real-time pass (about 1000 samples at 44.1 kHz).
DECLICK_S = 0.025
# How far before the file's end the plugin's analysis of a region may stop.
OPEN_TAIL_S = 0.2


def cc_value(score, threshold):
    """A score as the plugin's 7-bit controller value (src/plugin/snapshot.rs, cc_value)."""
    if not (threshold > 0 and score == score):
        return 0
    return int(round(min(max(score / (2 * threshold), 0.0), 1.0) * 127))


def main():
    log, cuts_json, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(log) as f:
        text = f.read()
    notes = [(int(a) / rate, int(b) / rate) for a, b in re.findall(r"^AS NOTE start=(-?\d+) end=(-?\d+)", text, re.M)]
    ccs = [(int(t) / rate, int(v)) for t, v in re.findall(r"^AS CC at=(-?\d+) value=(\d+)", text, re.M)]
    with open(cuts_json) as f:
        cli = json.load(f)
    expected = cuts_of(cli)
    ok = True

    def result(name, passed, detail):
        nonlocal ok
        ok &= passed
        print(f"RESULT {name} {'PASS' if passed else 'FAIL'} {detail}")

    shown = ", ".join(f"{a:.4f}-{b:.4f} s" for a, b in notes)
    want = ", ".join(f"{a:.4f}-{b:.4f} s" for a, b in expected)
    if len(notes) != len(expected) or not expected:
        result("midi_notes_are_the_cuts", False, f"recorded notes [{shown}]; the command line's cuts [{want}]")
    else:
        worst = max(abs(p - q) for n, e in zip(notes, expected) for p, q in zip(n, e))
        result("midi_notes_are_the_cuts", worst <= TOLERANCE_S,
               f"{len(notes)} note(s) [{shown}] against the command line's cuts [{want}]; worst edge {worst * 1000:.1f} ms")

    segments, threshold = cli["segments"], cli["threshold"]
    starts = [s["start"] for s in segments]
    # At the two ends the real-time pass is not the file: Ardour declicks the first ~1000
    # samples when its transport starts rolling (so the segment starting at 0 hears faded
    # audio), and the plugin keeps a region's analysis open for more audio, so the resampler's
    # last samples never reach it and its last segment ends up to OPEN_TAIL_S before the file's
    # (the plugin's own tests allow the same, tests/plugin_timeline.rs). Those events are
    # reported, not judged.
    length = segments[0]["end"] - segments[0]["start"]
    edges = [(t, v) for t, v in ccs if t < DECLICK_S or t > cli["duration"] - length - OPEN_TAIL_S]
    ccs = [(t, v) for t, v in ccs if (t, v) not in edges]
    matched, far = 0, 0
    for t, value in ccs:
        i = min(range(len(starts)), key=lambda k: abs(starts[k] - t))
        if abs(starts[i] - t) > TOLERANCE_S:
            far += 1
        elif abs(cc_value(segments[i]["score"], threshold) - value) <= CC_SLACK:
            matched += 1
    # Ardour keeps only the first and last of a run of equal values, so fewer events than
    # segments are recorded; every one recorded must sit on a segment and carry its score.
    passed = len(ccs) >= 2 and matched == len(ccs)
    result("midi_cc_follows_the_scores", passed,
           f"{len(ccs)} controller events recorded for {len(segments)} segments: {matched} at a segment start "
           f"(within 10 ms) with its score's value, {far} away from every segment start; "
           f"{len(edges)} at the ends not judged: {edges}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
