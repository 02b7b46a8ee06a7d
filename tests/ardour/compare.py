"""Compares Ardour's bounce (ardour7-export of the master bus) of the fixture session with
pedalboard's offline render of the same WAV through the same VST3 bundle and parameters.

Run by run.sh in the pedalboard venv:
    compare.py main   FIXTURE_JSON EXPORT_WAV BUNDLE PARAMS REPORT_JSON
    compare.py stress FIXTURE_JSON EXPORT_WAV BUNDLE PARAMS REPORT_JSON MAIN_REPORT_JSON
    compare.py repeat FIXTURE_JSON EXPORT2_WAV BUNDLE PARAMS REPORT_JSON MAIN_REPORT_JSON
PARAMS is run.sh's "Title=value[:label];..." list. Prints "RESULT <name> PASS|FAIL <detail>"
lines, which run.sh counts, and the measurements.

What is compared, and why:
- Alignment. Ardour compensates the plugin's reported latency when it exports; whether the
  bounce lines up with the session is measured: the lag at which it equals the input exactly
  on the most frames (cross-correlation candidates within +-12 s, confirmed by sample equality).
- Lead-in. Ardour does not start the plugin at the region's first sample: at the start of an
  export it resets the plugins and runs them over silence (its export pre-roll, 2 s by default,
  and a few blocks more) before the region's audio reaches them. pedalboard starts at the first
  sample. The plugin's analysis depends on the stream it hears (silence before music moves its
  segment grid, and with 2 s of it the plugin cuts the first ~0.75 s of music), so the same
  stream is rendered in pedalboard: the lead-in is measured as the length of silence before the
  WAV with which pedalboard's render (lead-in removed) equals Ardour's bounce on the most frames
  (whole blocks first, then to the sample).
- Cut regions. A cut is a run of samples exactly 0.0 in every channel, at least MIN_CUT_RUN_S
  long (the input is checked to have none). (a) Ardour's cuts must match those of pedalboard's
  render of the same stream within CUT_TOLERANCE_SAMPLES. The cuts of pedalboard's render from
  the first sample (no lead-in) are printed beside them, for the record.
- Kept audio. (b) Outside the cuts and their ramps (the Crossfade parameter), Ardour's bounce
  equals the input bit for bit: the export is 32-bit float, the region has no fades or gain.
- (c) The share of frames equal between Ardour's bounce and pedalboard's render is printed.
- repeat: a second bounce of the session. It need not be bit-identical to the first: the
  lead-in Ardour gives is not the same to the sample from one export to the next (95289,
  95305 and about 95319 samples measured), and the plugin's decisions can hang on a few samples
  of it (16 samples moved a cut of the built-in model by 92 ms). So its own lead-in is measured
  (within 96 samples of the first's) and it must equal pedalboard's render of that stream on
  every frame: an exact offline render of what Ardour fed it.
- stress: the same for a bounce made with the plugin's analysis threads starved (run.sh), with
  the built-in model. An offline render that waits for its analysis is exact however slow the
  analysis is; one that does not passes audio where its decisions came late.
"""

import json
import os
import sys

import numpy as np

MODE = sys.argv[1]
FIXTURE_JSON, EXPORT_WAV, BUNDLE, PARAMS, REPORT = sys.argv[2:7]
MAIN_REPORT = sys.argv[7] if len(sys.argv) > 7 else None
FIXTURE = json.load(open(FIXTURE_JSON))
if MODE != "stress":
    # The plugin reads the model directory from here when the project names none. The stress
    # bounce uses the built-in model (its analysis costs more), so its environment has none.
    os.environ["AUDIO_SLICER_MODEL"] = FIXTURE["model_dir"]
else:
    os.environ.pop("AUDIO_SLICER_MODEL", None)

import pedalboard  # noqa: E402  (after the environment is set for the plugin)
from pedalboard.io import AudioFile  # noqa: E402

MIN_CUT_RUN_S = 0.010
# Measured: when Ardour's plugin had its analysis in time, its bounce equalled pedalboard's
# render of the same stream bit for bit (every cut on the same sample), and pedalboard's own
# renders put every cut on the same sample at buffer sizes 333, 512, 1024, 2048 and 4096. The
# remaining allowance (under 1 ms) is for a parameter value arriving rounded differently
# through the two hosts (Ardour passes the plain value, pedalboard a normalized one).
CUT_TOLERANCE_SAMPLES = int(os.environ.get("AS_CUT_TOLERANCE_SAMPLES", "32"))
BLOCK = int(os.environ.get("AS_BLOCK", "1024"))
# The lead-in is searched for up to this long (Ardour's default export pre-roll is 2 s).
LEAD_SEARCH_S = float(os.environ.get("AS_LEAD_SEARCH_S", "4"))

results = []
report = {}


def result(name, ok, detail):
    results.append((name, ok))
    print(f"RESULT {name} {'PASS' if ok else 'FAIL'} {detail}", flush=True)


def read(path):
    with AudioFile(path) as f:
        return f.read(f.frames).astype(np.float32), f.samplerate


def silent_runs(x, min_len):
    """[start, end) sample ranges where every channel is exactly 0.0 for min_len or more."""
    silent = np.all(x == 0.0, axis=0)
    edges = np.diff(np.concatenate([[0], silent.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends) if e - s >= min_len]


def fmt_runs(runs, rate):
    return "[" + ", ".join(f"{s / rate:.4f}-{e / rate:.4f} s" for s, e in runs) + "]"


def parse_params(spec):
    out = []
    for item in spec.split(";"):
        if "=" in item:
            k, v = item.split("=", 1)
            out.append((k.strip(), v.strip()))
    return out


def equal_frames(a, b):
    m = min(a.shape[1], b.shape[1])
    return np.all(a[:, :m] == b[:, :m], axis=0)


def shifted(ref, y, d):
    """ref and y overlapped with y[n + d] against ref[n]; and the first ref frame used."""
    if d >= 0:
        m = min(ref.shape[1], y.shape[1] - d)
        return ref[:, :m], y[:, d:d + m], 0
    m = min(ref.shape[1] + d, y.shape[1])
    return ref[:, -d:-d + m], y[:, :m], -d


def best_lag(ref, y, max_lag):
    a, b = ref[0].astype(np.float64), y[0].astype(np.float64)
    n = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    xc = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    vals = np.concatenate([xc[: max_lag + 1], xc[n - max_lag:]])
    best = None
    for d in sorted(set(int(c) for c in lags[np.argsort(vals)[-5:]]) | {0}):
        r, s, _ = shifted(ref, y, d)
        eq = int(equal_frames(r, s).sum())
        if best is None or eq > best[1]:
            best = (d, eq)
    return best


class Renderer:
    """pedalboard renders of the input after a lead-in of silence, lead-in removed."""

    def __init__(self, audio, rate):
        self.audio, self.rate = audio, rate
        self.plugin = pedalboard.load_plugin(BUNDLE)
        self.crossfade_s = 0.02
        by_title = {p.name: key for key, p in self.plugin.parameters.items()}
        for label, value in parse_params(PARAMS):
            key = by_title.get(label)
            if key is None:
                raise SystemExit(f"pedalboard knows no parameter titled {label!r}: {sorted(by_title)}")
            num, _, want_label = value.partition(":")
            valid = self.plugin.parameters[key].valid_values
            if valid and isinstance(valid[0], str):
                # pedalboard sets enumerations by label; the plain value is the label's index.
                v = valid[int(float(num))]
                if want_label and v != want_label:
                    raise SystemExit(f"{label}: value {num} is {v!r} in pedalboard, not {want_label!r}")
            else:
                v = float(num)
            setattr(self.plugin, key, v)
            print(f"pedalboard: {key} ({label}) = {getattr(self.plugin, key)}")
            if label == "Crossfade":
                self.crossfade_s = float(num)
        # pedalboard hands parameter changes to the plugin in a process call; the mode they
        # choose starts with the activation the next render's reset makes.
        self.plugin.process(np.zeros((1, 64), dtype=np.float32), rate, buffer_size=64, reset=False)
        self.latency = int(getattr(self.plugin, "reported_latency_samples", -1))
        print(f"pedalboard: the plugin reports {self.latency} samples of latency ({self.latency / rate:.3f} s)")
        self.cache = {}

    def render(self, lead, keep=True):
        if lead in self.cache:
            return self.cache[lead]
        padded = np.concatenate([np.zeros((self.audio.shape[0], lead), np.float32), self.audio], axis=1)
        self.plugin.reset()
        y = self.plugin.process(padded, self.rate, buffer_size=BLOCK)[:, lead:]
        if keep:
            self.cache[lead] = y
        return y

    def find_lead(self, target, i0):
        """The lead-in whose render equals `target` (input frames i0..) on the most frames:
        whole blocks up to LEAD_SEARCH_S, then around the best in steps of 64, 8 and 1."""
        def score(lead):
            return float(equal_frames(self.render(lead, keep=False)[:, i0:], target).mean())

        best = max(range(0, int(LEAD_SEARCH_S * self.rate) + 1, BLOCK), key=score)
        for step in (64, 8, 1):
            best = max((l for l in range(best - 16 * step, best + 16 * step + 1, step) if l >= 0), key=score)
        return best, score(best)

    def find_lead_near(self, target, i0, center, radius=96):
        """As find_lead, but only within `radius` samples of `center` (steps of 4, then 1)."""
        def score(lead):
            return float(equal_frames(self.render(lead, keep=False)[:, i0:], target).mean())

        best = max((l for l in range(center - radius, center + radius + 1, 4) if l >= 0), key=score)
        best = max((l for l in range(best - 4, best + 5) if l >= 0), key=score)
        return best, score(best)


def main():
    audio, rate = read(FIXTURE["wav"])
    bounce, brate = read(EXPORT_WAV)
    channels, n = audio.shape
    report.update(rate=rate, frames=n, export_frames=int(bounce.shape[1]))
    print(f"input: {channels} ch, {n} frames ({n / rate:.3f} s) at {rate} Hz; Ardour export: "
          f"{bounce.shape[0]} ch, {bounce.shape[1]} frames ({bounce.shape[1] / brate:.3f} s) at {brate} Hz")
    if brate != rate or bounce.shape[0] != channels:
        result("export_format", False, f"export is {bounce.shape[0]} ch at {brate} Hz, input {channels} ch at {rate} Hz")
        return
    if np.abs(bounce).max() == 0.0:
        result("export_has_audio", False, "Ardour's export is all zeros (track not routed to master?)")
        return
    min_run = int(round(MIN_CUT_RUN_S * rate))
    pb = Renderer(audio, rate)

    if MODE in ("stress", "repeat"):
        main_report = json.load(open(MAIN_REPORT))
        lag, lead = main_report["offset_samples"], main_report["lead_in_samples"]
        r_in, ard, i0 = shifted(audio, bounce, lag)
        ard_runs = [(s + i0, e + i0) for s, e in silent_runs(ard, min_run)]
        # Ardour's lead-in is not the same to the sample from one export to the next, and the
        # plugin's decisions can hang on a few samples of it, so each bounce gets its own
        # lead-in, measured near the first bounce's. A bounce that is an exact offline render
        # of what Ardour fed it equals pedalboard's render of that stream on every frame.
        lead2, share2 = pb.find_lead_near(ard, i0, lead)
        ref = pb.render(lead2)[:, i0:i0 + ard.shape[1]]
        ref_runs = [(s + i0, e + i0) for s, e in silent_runs(ref, min_run)]
        first_runs = [tuple(r) for r in main_report["ardour_cuts"]]
        report.update(cuts=ard_runs, lead_in_samples=lead2, lead_in_equal_share=share2, reference_cuts=ref_runs)
        print(f"{MODE}: lead-in {lead2} samples (the first bounce's: {lead}); pedalboard's render of that stream "
              f"equals the bounce on {share2 * 100:.4f} % of frames")
        print(f"{MODE}: cuts {fmt_runs(ard_runs, rate)}; pedalboard's {fmt_runs(ref_runs, rate)}"
              + (f"; the first bounce's {fmt_runs(first_runs, rate)}" if MODE == "repeat" else ""))
        if MODE == "repeat":
            name, what = "repeat_bounce_is_exact", "the second bounce"
        else:
            name, what = "stress_bounce_waits_for_analysis", "with its analysis starved (built-in model), the bounce"
        ne = np.flatnonzero(~equal_frames(ard, ref))
        ok = share2 == 1.0
        result(name, ok,
               f"{what} equals pedalboard's offline render of the same stream (lead-in {lead2}) on "
               f"{share2 * 100:.4f} % of frames"
               + (f"; they differ on {ne.size} frames, {(ne[0] + i0) / rate:.4f}-{(ne[-1] + i0) / rate:.4f} s, "
                  "with no lead-in within 96 samples of the first bounce's doing better -- the plugin did not "
                  "wait for its analysis in Ardour's (freewheel) export" if ne.size else ""))
        return

    # Alignment of Ardour's export with the session.
    lag, eq_count = best_lag(audio, bounce, int(rate * 12.0))
    report.update(offset_samples=lag, offset_equal_frames=eq_count)
    print(f"alignment: Ardour export[n + {lag}] == input[n] on {eq_count} of {n} frames "
          f"(offset {lag} samples = {lag / rate * 1000:.3f} ms); at offset 0: "
          f"{int(equal_frames(audio, bounce).sum())} frames")
    # Aligned: at the measured offset the bounce equals the input on most frames (all but the
    # cuts and their ramps, under a third of this fixture).
    result("export_aligned", eq_count >= 0.5 * n,
           f"offset {lag} samples, {eq_count} of {n} frames equal the input at that offset")
    r_in, ard, i0 = shifted(audio, bounce, lag)
    m = ard.shape[1]

    def runs(x):
        return [(s + i0, e + i0) for s, e in silent_runs(x, min_run)]

    in_runs = silent_runs(audio, min_run)
    direct = pb.render(0)[:, i0:i0 + m]
    lead, lead_share = pb.find_lead(ard, i0)
    ref = pb.render(lead)[:, i0:i0 + m]
    report.update(lead_in_samples=lead, lead_in_equal_share=lead_share)
    print(f"lead-in: pedalboard's render after {lead} samples ({lead / rate:.4f} s) of silence equals Ardour's "
          f"bounce on {lead_share * 100:.4f} % of frames (the best lead-in up to {LEAD_SEARCH_S} s)")

    ard_runs, ref_runs, direct_runs = runs(ard), runs(ref), runs(direct)
    report.update(input_runs=in_runs, ardour_cuts=ard_runs, pedalboard_cuts=ref_runs,
                  pedalboard_cuts_without_lead_in=direct_runs)
    print(f"silent runs >= {MIN_CUT_RUN_S * 1000:.0f} ms in the input: {fmt_runs(in_runs, rate)}")
    print(f"cuts: Ardour                              {fmt_runs(ard_runs, rate)}")
    print(f"cuts: pedalboard, same lead-in ({lead:6d})    {fmt_runs(ref_runs, rate)}")
    print(f"cuts: pedalboard from the first sample    {fmt_runs(direct_runs, rate)}")
    if len(direct_runs) == len(ard_runs):
        d = [(a[0] - b[0], a[1] - b[1]) for a, b in zip(ard_runs, direct_runs)]
        print(f"      Ardour minus pedalboard-from-the-first-sample boundaries (samples): {d}")

    # The reference must cut the noise, or the comparison means nothing.
    at, length = FIXTURE["noise_at"], FIXTURE["noise_len"]
    noise = (int((at + 1.0) * rate), int((at + length - 1.0) * rate))
    ok = any(s <= noise[0] and e >= noise[1] for s, e in direct_runs) and not in_runs
    result("pedalboard_reference_cuts_noise", ok,
           f"pedalboard cuts {fmt_runs(direct_runs, rate)}; the noise is at {at}-{at + length} s"
           + (f"; but the input itself has silent runs {fmt_runs(in_runs, rate)}" if in_runs else ""))

    # (a) Ardour's cuts match pedalboard's (same stream).
    if len(ard_runs) != len(ref_runs):
        result("a_cuts_match_pedalboard", False,
               f"Ardour's export has {len(ard_runs)} cut(s) {fmt_runs(ard_runs, rate)}, pedalboard's render of "
               f"the same stream {len(ref_runs)} {fmt_runs(ref_runs, rate)}"
               + (" -- Ardour's bounce passed the noise through uncut: the plugin did not wait for its "
                  "analysis during Ardour's (freewheel) export" if not ard_runs and ref_runs else ""))
    else:
        diffs = [(a[0] - b[0], a[1] - b[1]) for a, b in zip(ard_runs, ref_runs)]
        worst = max((max(abs(x), abs(y)) for x, y in diffs), default=0)
        report["cut_boundary_diffs"] = diffs
        result("a_cuts_match_pedalboard", worst <= CUT_TOLERANCE_SAMPLES,
               f"{len(ard_runs)} cut(s) {fmt_runs(ard_runs, rate)}; boundary differences (start, end) in "
               f"samples {diffs}; worst {worst} samples, tolerance {CUT_TOLERANCE_SAMPLES}")

    # (b) Kept audio: Ardour's export equals the input outside the cuts and their ramps.
    ramp = int(np.ceil(pb.crossfade_s * rate)) + 2
    allowed = np.zeros(m, dtype=bool)
    for s, e in ard_runs:
        allowed[max(0, s - i0 - ramp): min(m, e - i0 + ramp)] = True
    outside = np.any(ard != r_in, axis=0) & ~allowed
    kept = ~allowed
    max_dev = float(np.abs(ard[:, kept] - r_in[:, kept]).max()) if kept.any() else 0.0
    report.update(kept_frames=int(kept.sum()), kept_differing=int(outside.sum()), kept_max_abs_diff=max_dev)
    first = int(np.flatnonzero(outside)[0]) if outside.any() else None
    result("b_kept_audio_is_input", not outside.any(),
           f"{int(kept.sum())} kept frames (outside the cuts and {ramp} samples of ramp each side), "
           f"{int(outside.sum())} differ from the input, max |diff| {max_dev:g}"
           + (f", first at {(first + i0) / rate:.4f} s" if first is not None else ""))

    # (c) The share of frames equal between the two renders.
    eq = equal_frames(ard, ref)
    eq0 = equal_frames(ard, direct)
    ne = np.flatnonzero(~eq)
    report.update(equal_share=float(eq.mean()), equal_share_without_lead_in=float(eq0.mean()))
    print(f"(c) frames equal between Ardour's bounce and pedalboard's render of the same stream: "
          f"{int(eq.sum())} of {m} = {eq.mean() * 100:.4f} %"
          + (f" (they differ on {ne.size} frames, {(ne[0] + i0) / rate:.4f}-{(ne[-1] + i0) / rate:.4f} s)" if ne.size else ""))
    print(f"    ... and pedalboard's render from the first sample: {int(eq0.sum())} of {m} = {eq0.mean() * 100:.4f} %")
    print(f"    frames equal to the input: Ardour {equal_frames(ard, r_in).mean() * 100:.4f} %, "
          f"pedalboard {equal_frames(ref, r_in).mean() * 100:.4f} %")


if __name__ == "__main__":
    try:
        main()
    finally:
        with open(REPORT, "w") as f:
            json.dump({"results": [{"name": k, "ok": v} for k, v in results], **report}, f, indent=1)
    sys.exit(0 if results and all(ok for _, ok in results) else 1)
