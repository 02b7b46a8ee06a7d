#!/usr/bin/env python3
"""How well "the same audio comes again shortly after" separates false starts from kept music.

usage: retake_similarity.py BENCH_DIR

For every 0.75 s block (on a 93 ms grid) of every dev pair, finds the best-matching block
1.5-8 s ahead (cosine similarity of mean-removed log spectra in 64 log-spaced bands, averaged
over the block) and whether that repetition is part of an ongoing loop (the same lag also
matches one period behind or one period further on). Prints the distributions for false-start
blocks and kept blocks, and how much kept music a given similarity would also flag.
"""
import collections, glob, json, sys
import numpy as np
import soundfile as sf
from scipy.signal import stft
from scipy.ndimage import uniform_filter1d

HOP = 512
BLOCK = 64


def band_frames(x, sr):
    _, _, z = stft(x, sr, nperseg=2048, noverlap=2048 - HOP)
    power = np.abs(z)[1:513] ** 2
    edges = np.unique(np.geomspace(1, 512, 65).astype(int))
    bands = np.stack([power[a:b].sum(0) for a, b in zip(edges[:-1], edges[1:])])
    f = np.log(bands + 1e-8).T
    f -= f.mean(1, keepdims=True)
    return f / (np.linalg.norm(f, axis=1, keepdims=True) + 1e-9)


def main():
    bench = sys.argv[1]
    rows = []
    for path in sorted(glob.glob(f"{bench}/truth/*.json")):
        truth = json.load(open(path))
        x, sr = sf.read(glob.glob(f"{bench}/{truth['split']}/input/{truth['name']}.*")[0])
        f = band_frames(x.mean(1) if x.ndim > 1 else x, sr)
        n, rate = len(f), sr / HOP
        lags = np.arange(int(1.5 * rate), int(8 * rate))
        sim = np.full((len(lags), n), -1.0)
        for i, lag in enumerate(lags):
            sim[i, : n - lag] = uniform_filter1d((f[:-lag] * f[lag:]).sum(1), BLOCK, origin=-(BLOCK // 2))
        grid = np.arange(0, n - BLOCK, 8)
        t = grid / rate
        label = np.full(len(grid), "other", dtype=object)
        for a, b in truth["kept"]:
            label[(t >= a) & (t + BLOCK / rate <= b)] = "keep"
        for d in truth["defects"]:
            label[(t >= d["start"]) & (t + BLOCK / rate <= d["end"])] = d["type"]
        for j, g in enumerate(grid):
            if label[j] not in ("keep", "false_start"):
                continue
            k = sim[:, g].argmax()
            lag = lags[k]
            behind = sim[k, g - lag] if g >= lag else -1.0
            further = sim[k, g + lag] if g + lag < n else -1.0
            rows.append((truth["name"], label[j], sim[k, g], max(behind, further), 8 / rate))
    for kind in ("keep", "false_start"):
        ahead = np.array([r[2] for r in rows if r[1] == kind])
        print(f"{kind}: {len(ahead)} blocks, best match ahead, percentiles 5/25/50/75/95:",
              np.percentile(ahead, [5, 25, 50, 75, 95]).round(3))
    for th in (0.95, 0.97, 0.98):
        for name, loop in (("any", 2.0), ("not a loop (<0.8)", 0.8)):
            keep = [r for r in rows if r[1] == "keep" and r[2] >= th and r[3] < loop]
            fs = [r for r in rows if r[1] == "false_start" and r[2] >= th and r[3] < loop]
            print(f"match >= {th}, {name}: false-start blocks {len(fs)}, kept blocks {len(keep)} "
                  f"({sum(r[4] for r in keep):.1f} s of block starts) in", dict(collections.Counter(r[0] for r in keep)))


if __name__ == "__main__":
    main()
