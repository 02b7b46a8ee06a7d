#!/usr/bin/env python3
"""Builds a benchmark of junk the dev set does not contain, to see how the model generalises.

usage: novel_defects.py BENCH_DIR OUT_DIR [--split test] [--per-file 4] [--seed 0]

Each raw recording of BENCH_DIR/SPLIT gets a few synthesised defects inserted inside the music an
editor kept (so the music on both sides stays kept and only the insert should go). The truth of
the new recordings, in the benchmark's format, lists every original and inserted defect, so
`audio-slicer evaluate OUT_DIR -m MODEL` and score_bench.py score them as usual.

The kinds are chosen to be unlike anything in the dev set, not to be realistic in every detail:
feedback (a rising sine howl), gsm_buzz (217 Hz bursts), handling (low thumps and rumble),
crackle (sparse clicks over room noise), click_track (a metronome alone), glitch (a stuttering
buffer of the music before it) and distorted (a clipped copy of music from elsewhere).
"""
import argparse, glob, json, os
import numpy as np
import soundfile as sf

KINDS = ["feedback", "gsm_buzz", "handling", "crackle", "click_track", "glitch", "distorted"]


def db(x):
    return 10 ** (x / 20)


def synth(kind, n, sr, rng, audio, at):
    t = np.arange(n) / sr
    if kind == "feedback":
        f = rng.uniform(1500, 3500) * (1 + 0.05 * t / t[-1])
        y = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.linspace(0.1, 1, n) * db(-10)
    elif kind == "gsm_buzz":
        carrier = np.sign(np.sin(2 * np.pi * 217 * t)) * (np.sin(2 * np.pi * 1733 * t) > 0)
        bursts = (np.floor(t * 2.3) % 2 == 0)
        y = carrier * bursts * db(-18)
    elif kind == "handling":
        y = np.zeros(n)
        for s in rng.integers(0, n - sr // 5, 6):
            k = np.arange(sr // 5)
            y[s:s + len(k)] += np.sin(2 * np.pi * rng.uniform(40, 90) * k / sr) * np.exp(-k / (0.04 * sr)) * db(-8)
        rumble = np.convolve(rng.standard_normal(n), np.ones(200) / 200, "same")
        y += rumble / (np.abs(rumble).max() + 1e-9) * db(-26)
    elif kind == "crackle":
        y = rng.standard_normal(n) * db(-55)
        for s in rng.integers(0, n - 50, int(12 * n / sr)):
            y[s:s + 30] += rng.standard_normal(30) * db(-12) * np.exp(-np.arange(30) / 6)
    elif kind == "click_track":
        y = np.zeros(n)
        period = int(sr * 60 / rng.uniform(90, 140))
        k = np.arange(int(0.03 * sr))
        for i, s in enumerate(range(0, n - len(k), period)):
            f = 1600 if i % 4 == 0 else 1000
            y[s:s + len(k)] += np.sin(2 * np.pi * f * k / sr) * np.exp(-k / (0.006 * sr)) * db(-14)
    elif kind == "glitch":
        src = audio[max(0, at - sr):at]
        y = np.zeros(n)
        i = 0
        while i < n:
            g = int(rng.uniform(0.01, 0.06) * sr)
            o = rng.integers(0, max(1, len(src) - g))
            piece = src[o:o + g]
            if len(piece) == 0:
                break
            reps = rng.integers(2, 8)
            for _ in range(reps):
                m = min(len(piece), n - i)
                y[i:i + m] = piece[:m]
                i += m
                if i >= n:
                    break
        return y
    elif kind == "distorted":
        o = rng.integers(0, len(audio) - n)
        y = np.clip(audio[o:o + n] * db(24), -0.5, 0.5)
        return y
    return y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench"); ap.add_argument("out")
    ap.add_argument("--split", default="test")
    ap.add_argument("--per-file", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    os.makedirs(f"{a.out}/truth", exist_ok=True)
    os.makedirs(f"{a.out}/{a.split}/input", exist_ok=True)
    k = 0
    for path in sorted(glob.glob(f"{a.bench}/truth/*.json")):
        truth = json.load(open(path))
        if truth["split"] != a.split:
            continue
        name = truth["name"]
        x, sr = sf.read(glob.glob(f"{a.bench}/{a.split}/input/{name}.*")[0], always_2d=True)
        mono = x.mean(1)
        # Insert points inside kept music, at least 1.5 s from either end of a kept span and 5 s
        # from each other.
        spans = [s for s in truth["kept"] if s[1] - s[0] > 4]
        weights = np.array([s[1] - s[0] - 3 for s in spans])
        points = []
        for _ in range(100):
            if len(points) == a.per_file or not spans:
                break
            s = spans[rng.choice(len(spans), p=weights / weights.sum())]
            p = rng.uniform(s[0] + 1.5, s[1] - 1.5)
            if all(abs(p - q) > 5 for q in points):
                points.append(p)
        points.sort()
        inserts = []
        for p in points:
            kind = KINDS[k % len(KINDS)]; k += 1
            n = int(rng.uniform(2, 5) * sr)
            at = int(p * sr)
            y = synth(kind, n, sr, rng, mono, at)
            inserts.append((at, kind, np.repeat(y[:, None], x.shape[1], 1)))
        out, events = [], []
        prev = 0
        for at, kind, y in inserts:
            out += [x[prev:at], y]
            events.append((at / sr, len(y) / sr, kind))
            prev = at
        out.append(x[prev:])
        y = np.concatenate(out)

        def moved(t):
            return t + sum(d for p, d, _ in events if p <= t)

        kept = []
        for s, e in truth["kept"]:
            cuts = [(p, d) for p, d, _ in events if s < p < e]
            a0 = s
            for p, d in cuts:
                kept.append([moved(a0), moved(p) - d])
                a0 = p
            kept.append([moved(a0), moved(e)])
        defects = [{"type": d["type"], "start": moved(d["start"]), "end": moved(d["end"])} for d in truth["defects"]]
        for p, d, kind in events:
            defects.append({"type": kind, "start": moved(p) - d, "end": moved(p)})
        raw_duration = len(y) / sr
        kept_len = sum(e - s for s, e in kept)
        sf.write(f"{a.out}/{a.split}/input/{name}.wav", np.clip(y, -1, 1), sr, subtype="PCM_16")
        json.dump({"name": name, "source": "novel_defects.py", "sample_rate": sr, "raw_duration": raw_duration,
                   "edited_duration": kept_len, "kept_ratio": kept_len / raw_duration, "kept": kept,
                   "defects": sorted(defects, key=lambda d: d["start"]), "split": a.split},
                  open(f"{a.out}/truth/{name}.json", "w"), indent=1)
        print(name, [(round(moved(p) - d, 1), round(d, 1), kind) for p, d, kind in events])


if __name__ == "__main__":
    main()
