"""Compares Ardour's bounce (ardour7-export of the master bus) of the fixture session with
pedalboard's offline render of the same WAV through the same VST3 bundle and parameters.

Run by run.sh in the pedalboard venv:
    compare.py FIXTURE_JSON ARDOUR_EXPORT_WAV BUNDLE PARAMS [REPORT_JSON]
PARAMS is run.sh's "Label=value;..." list (the VST3 parameter titles, as Ardour shows them).

Prints "RESULT <name> PASS|FAIL <detail>" lines, which run.sh counts, and measurements.

What is compared, and why the tolerances are what they are:
- Alignment. Ardour compensates the plugin's reported latency when it exports, so the bounce
  should line up with the session; this is measured, not assumed: the lag at which the bounce
  equals the input exactly on the most samples (searched over +-(latency + 1 s) with a
  cross-correlation, then confirmed by exact sample equality).
- Cut regions. A cut is a run of samples that are exactly 0.0 in every channel, at least
  MIN_CUT_RUN long (the fixture's music and noise never hold 0.0 for that long; the input is
  checked for such runs too). Offline renders of this plugin are exact and do not depend on the
  block size (tests/vst3 checks 4096 against 333), so Ardour's cuts should fall on the same
  samples as pedalboard's. One thing differs between the hosts: Ardour runs the plugin over
  silence before the region (its latency pre-roll), pedalboard starts at the first sample. The
  plugin's analysis is tied to the stream it has heard, so that lead-in can move the segment
  grid; the tolerance CUT_TOLERANCE_S allows one analysis hop of that (see run.sh's notes for
  the measured values).
- Kept audio. Outside the cuts and their ramps (the Crossfade parameter), Ardour's bounce must
  equal the input bit for bit: the export is 32-bit float and the track has no fades, gain or
  panning that would change a sample.
"""

import json
import os
import sys

import numpy as np

FIXTURE_JSON, EXPORT_WAV, BUNDLE, PARAMS = sys.argv[1:5]
REPORT = sys.argv[5] if len(sys.argv) > 5 else None
FIXTURE = json.load(open(FIXTURE_JSON))
# The plugin reads the model directory from here when the project names none.
os.environ["AUDIO_SLICER_MODEL"] = FIXTURE["model_dir"]

import pedalboard  # noqa: E402  (after the environment is set for the plugin)
from pedalboard.io import AudioFile  # noqa: E402

MIN_CUT_RUN_S = 0.010
CUT_TOLERANCE_S = float(os.environ.get("AS_CUT_TOLERANCE_S", "0.05"))
BLOCK = int(os.environ.get("AS_BLOCK", "1024"))

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


def best_lag(ref, y, max_lag):
    """The lag d (y[n] ~ ref[n - d]) with the most exactly equal samples near the
    cross-correlation peak."""
    a, b = ref[0].astype(np.float64), y[0].astype(np.float64)
    n = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    xc = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    vals = np.concatenate([xc[: max_lag + 1], xc[n - max_lag:]])
    candidates = lags[np.argsort(vals)[-5:]]
    best = None
    for d in sorted(set(int(c) for c in candidates) | {0}):
        eq = equal_share(ref, y, d)[0]
        if best is None or eq > best[1]:
            best = (d, eq)
    return best


def shifted(ref, y, d):
    """The overlapping parts of ref and y with y[n] against ref[n - d]."""
    if d >= 0:
        m = min(ref.shape[1], y.shape[1] - d)
        return ref[:, :m], y[:, d:d + m], d
    m = min(ref.shape[1] + d, y.shape[1])
    return ref[:, -d:-d + m], y[:, :m], 0


def equal_share(ref, y, d):
    r, s, _ = shifted(ref, y, d)
    eq = np.all(r == s, axis=0)
    return int(eq.sum()), len(eq)


def main():
    audio, rate = read(FIXTURE["wav"])
    bounce, brate = read(EXPORT_WAV)
    channels, n = audio.shape
    report.update(rate=rate, frames=n, export_frames=int(bounce.shape[1]), export_channels=int(bounce.shape[0]))
    print(f"input: {channels} ch, {n} frames ({n / rate:.3f} s) at {rate} Hz; "
          f"Ardour export: {bounce.shape[0]} ch, {bounce.shape[1]} frames ({bounce.shape[1] / brate:.3f} s) at {brate} Hz")
    if brate != rate or bounce.shape[0] != channels:
        result("export_format", False, f"export is {bounce.shape[0]} ch at {brate} Hz, input {channels} ch at {rate} Hz")
        return
    min_run = int(round(MIN_CUT_RUN_S * rate))
    tol = int(round(CUT_TOLERANCE_S * rate))

    # pedalboard's offline render with the same parameter values, set by parameter title.
    plugin = pedalboard.load_plugin(BUNDLE)
    by_title = {p.name: key for key, p in plugin.parameters.items()}
    crossfade_s = 0.02
    for label, value in parse_params(PARAMS):
        key = by_title.get(label)
        if key is None:
            raise SystemExit(f"pedalboard knows no parameter titled {label!r}: {sorted(by_title)}")
        num, _, want_label = value.partition(":")
        valid = plugin.parameters[key].valid_values
        if valid and isinstance(valid[0], str):
            # pedalboard sets enumerations by label; the plain value is the label's index.
            v = valid[int(float(num))]
            if want_label and v != want_label:
                raise SystemExit(f"{label}: value {num} is {v!r} in pedalboard, not {want_label!r}")
        else:
            v = float(num)
        setattr(plugin, key, v)
        print(f"pedalboard: {key} ({label}) = {getattr(plugin, key)}")
        if label == "Crossfade":
            crossfade_s = float(num)
    latency = int(getattr(plugin, "reported_latency_samples", -1))
    print(f"pedalboard: the plugin reports {latency} samples of latency ({latency / rate:.3f} s)")
    ref = plugin.process(audio, rate, buffer_size=BLOCK)
    report["pedalboard_latency"] = latency

    # Alignment of Ardour's export with the session.
    max_lag = int(rate * 12.0)
    lag, eq_count = best_lag(audio, bounce, max_lag)
    report["offset_samples"] = lag
    report["offset_equal_samples"] = eq_count
    print(f"alignment: Ardour export[n] == input[n - {lag}] on {eq_count} of {n} frames "
          f"(offset {lag} samples = {lag / rate * 1000:.3f} ms)")
    zero_lag_eq = equal_share(audio, bounce, 0)[0]
    print(f"alignment: at offset 0, {zero_lag_eq} of {n} frames equal the input")
    if np.abs(bounce).max() == 0.0:
        result("export_has_audio", False, "Ardour's export is all zeros (track not routed to master?)")
        return
    # Aligned: at the measured offset the bounce equals the input on most frames (all but the
    # cuts and their ramps, a quarter of this fixture at most).
    result("export_aligned", eq_count >= 0.5 * n,
           f"offset {lag} samples, {eq_count} frames equal the input at that offset"
           + ("" if lag == 0 else " (Ardour did not line the bounce up with the region exactly)"))

    # Everything below is on input frames i0 .. i0 + m (the frames the export covers once the
    # offset is taken out); cut positions are reported in input (session) time.
    r_in, ard_aligned, _ = shifted(audio, bounce, lag)
    i0 = 0 if lag >= 0 else -lag
    m = min(r_in.shape[1], ard_aligned.shape[1], ref.shape[1] - i0)
    r_in, ard_aligned = r_in[:, :m], ard_aligned[:, :m]
    ref_aligned = ref[:, i0:i0 + m]
    report["compared_frames"] = [i0, i0 + m]

    def runs(x):
        return [(s + i0, e + i0) for s, e in silent_runs(x, min_run)]

    in_runs = silent_runs(audio, min_run)
    pb_runs = runs(ref_aligned)
    ard_runs = runs(ard_aligned)
    report.update(input_runs=in_runs, pedalboard_cuts=pb_runs, ardour_cuts=ard_runs)
    print(f"silent runs >= {MIN_CUT_RUN_S * 1000:.0f} ms: input {fmt_runs(in_runs, rate)}")
    print(f"cuts: pedalboard {fmt_runs(pb_runs, rate)}")
    print(f"cuts: Ardour     {fmt_runs(ard_runs, rate)}")

    # The reference must cut the noise, or the comparison means nothing.
    at, length = FIXTURE["noise_at"], FIXTURE["noise_len"]
    noise = (int((at + 1.0) * rate), int((at + length - 1.0) * rate))
    pb_full = silent_runs(ref, min_run)
    pb_ok = any(s <= noise[0] and e >= noise[1] for s, e in pb_full) and not in_runs
    result("pedalboard_reference_cuts_noise", pb_ok,
           f"pedalboard cuts {fmt_runs(pb_full, rate)}; the noise is at {at}-{at + length} s"
           + ("" if not in_runs else f"; but the input itself has silent runs {fmt_runs(in_runs, rate)}"))

    # (a) Ardour's cuts match pedalboard's.
    if len(ard_runs) != len(pb_runs):
        result("a_cuts_match_pedalboard", False,
               f"Ardour's export has {len(ard_runs)} cut(s), pedalboard's render {len(pb_runs)}"
               + (" -- Ardour's bounce passed the noise through uncut: the plugin did not wait for its "
                  "analysis during Ardour's (freewheel) export" if not ard_runs and pb_runs else ""))
    else:
        diffs = [(sa - sp, ea - ep) for (sa, ea), (sp, ep) in zip(ard_runs, pb_runs)]
        worst = max((max(abs(a), abs(b)) for a, b in diffs), default=0)
        report["cut_boundary_diffs"] = diffs
        result("a_cuts_match_pedalboard", worst <= tol,
               f"{len(ard_runs)} cut(s); boundary differences (start, end) in samples {diffs}; "
               f"worst {worst} samples = {worst / rate * 1000:.2f} ms, tolerance {tol} samples")

    # (b) Kept audio: Ardour's export equals the input outside the cuts and their ramps.
    ramp = int(np.ceil(crossfade_s * rate)) + 2
    allowed = np.zeros(m, dtype=bool)
    for s, e in ard_runs:
        allowed[max(0, s - i0 - ramp): min(m, e - i0 + ramp)] = True
    differs = np.any(ard_aligned != r_in, axis=0)
    outside = differs & ~allowed
    kept = ~allowed
    max_dev = float(np.abs(ard_aligned[:, kept] - r_in[:, kept]).max()) if kept.any() else 0.0
    report.update(kept_frames=int(kept.sum()), kept_differing=int(outside.sum()), kept_max_abs_diff=max_dev)
    first = int(np.flatnonzero(outside)[0]) if outside.any() else None
    result("b_kept_audio_is_input", not outside.any(),
           f"{int(kept.sum())} kept frames (outside cuts +- {ramp} samples of ramp), "
           f"{int(outside.sum())} differ from the input, max |diff| {max_dev:g}"
           + (f", first at {(first + i0) / rate:.4f} s" if first is not None else ""))

    # (c) Share of samples equal between the two renders.
    eq_frames = np.all(ard_aligned == ref_aligned, axis=0)
    share = float(eq_frames.mean())
    report["equal_share"] = share
    ne = np.flatnonzero(~eq_frames)
    span = f"; they differ on {ne.size} frames, {(ne[0] + i0) / rate:.4f}-{(ne[-1] + i0) / rate:.4f} s" if ne.size else ""
    print(f"(c) frames equal between Ardour's export and pedalboard's render: {int(eq_frames.sum())} of {m} "
          f"= {share * 100:.4f} %{span}")
    # pedalboard against the input, for the record
    pb_eq = float(np.all(ref_aligned == r_in, axis=0).mean())
    ard_eq = float(np.all(ard_aligned == r_in, axis=0).mean())
    report.update(pedalboard_equal_input_share=pb_eq, ardour_equal_input_share=ard_eq)
    print(f"frames equal to the input: pedalboard {pb_eq * 100:.4f} %, Ardour {ard_eq * 100:.4f} %")


if __name__ == "__main__":
    try:
        main()
    finally:
        if REPORT:
            with open(REPORT, "w") as f:
                json.dump({"results": [{"name": k, "ok": v} for k, v in results], **report}, f, indent=1)
    sys.exit(0 if results and all(ok for _, ok in results) else 1)
