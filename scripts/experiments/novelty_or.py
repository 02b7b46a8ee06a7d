#!/usr/bin/env python3
"""Prototype: cut where the pair classifier cuts, or where the edited-only distance stays high.

usage: novelty_or.py BENCH_DIR PAIR_CUTS EDITED_ONLY_CUTS FACTORS [MIN_CUT]

PAIR_CUTS and EDITED_ONLY_CUTS are the cuts/ folders `audio-slicer evaluate` wrote for a pair
classifier and an edited-only model on the same recordings (both score on the same 93 ms grid).
For each factor k, a stretch is also cut where the edited-only distance exceeds k times that
model's threshold for at least MIN_CUT seconds (default 0.5); kept pieces under 2 s are then cut
too. Each result is scored with score_bench.py (run with this interpreter).
"""
import json, os, subprocess, sys
import numpy as np

RES = 0.01
SCORER = os.path.join(os.path.dirname(__file__), "../../../shared/bench/score_bench.py")


def runs(m):
    d = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def combine(pair_dir, novelty_dir, out, k, min_cut, min_keep=2.0):
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(pair_dir):
        pair = json.load(open(f"{pair_dir}/{f}"))
        novelty = json.load(open(f"{novelty_dir}/{f}"))
        n = int(round(pair["duration"] / RES))
        keep = np.zeros(n, bool)
        for iv in pair["keep"]:
            a, b = (iv["start"], iv["end"]) if isinstance(iv, dict) else iv
            keep[int(round(a / RES)):int(round(b / RES))] = True
        high = np.zeros(n, bool)
        for s in novelty["segments"]:
            if s["score"] > k * novelty["threshold"]:
                c = (s["start"] + s["end"]) / 2
                high[int(round((c - 0.1) / RES)):int(round((c + 0.1) / RES))] = True
        for a, b in runs(high):
            if (b - a) * RES < min_cut:
                high[a:b] = False
        cut = ~keep | high
        for a, b in runs(~cut):
            if (b - a) * RES < min_keep:
                cut[a:b] = True
        kept = [[a * RES, b * RES] for a, b in runs(~cut)]
        json.dump({"keep": kept, "segments": pair["segments"]}, open(f"{out}/{f}", "w"))


def main():
    bench, pair_dir, novelty_dir, factors = sys.argv[1:5]
    min_cut = float(sys.argv[5]) if len(sys.argv) > 5 else 0.5
    scorer = os.environ.get("SCORE_BENCH", SCORER)
    for k in (float(x) for x in factors.split(",")):
        out = f"/tmp/novelty-or-{os.path.basename(os.path.normpath(bench))}-{k}"
        combine(pair_dir, novelty_dir, out, k, min_cut)
        r = json.loads(subprocess.run([sys.executable, scorer, bench, out], capture_output=True, text=True).stdout)
        print(k, "F1", r["cut_f1"], "music lost", r["music_lost"], r["recall_by_type"])


if __name__ == "__main__":
    main()
