#!/usr/bin/env python3
"""How well alignment labels cut stretches as takes: against the truth of a benchmark split.

usage: take_labels.py BENCH_DIR [SPLIT]   (SPLIT defaults to train)

Runs `target/release/audio-slicer align` on every pair of BENCH_DIR/SPLIT, reads the `cut` lines
it prints (each cut raw stretch labelled junk or take), and compares them with
BENCH_DIR/truth/NAME.json at 10 ms: false starts and bad takes are takes, every other defect
junk. Prints take precision and recall pooled over the pairs, and the share of each kind of
defect labelled take. The truth only measures; the labels come from the audio pairs.
"""
import collections, glob, json, os, re, subprocess, sys

BIN = 0.01
TAKES = {"false_start", "bad_take"}
LINE = re.compile(r"^cut\s*: raw\s+([\d.]+) -\s+([\d.]+) s: (take|junk)")


def bins(start, end):
    return set(range(int(round(start / BIN)), int(round(end / BIN))))


def main():
    bench, split = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "train")
    exe = os.path.join(os.path.dirname(__file__), "..", "..", "target", "release", "audio-slicer")
    labelled_take = truth_take = both = in_kept = 0
    by_kind = collections.defaultdict(lambda: [0, 0])
    for raw in sorted(glob.glob(f"{bench}/{split}/input/*")):
        name = os.path.splitext(os.path.basename(raw))[0]
        edited = glob.glob(f"{bench}/{split}/desired_output/{name}.*")[0]
        out = subprocess.run(
            [exe, "align", raw, edited, "-o", f"/tmp/take_labels_{name}.json", "--force"],
            check=True, capture_output=True, text=True).stdout
        takes = set()
        for line in out.splitlines():
            m = LINE.match(line)
            if m and m.group(3) == "take":
                takes |= bins(float(m.group(1)), float(m.group(2)))
        truth = json.load(open(f"{bench}/truth/{name}.json"))
        true_takes = set()
        for d in truth["defects"]:
            b = bins(d["start"], d["end"])
            if d["type"] in TAKES:
                true_takes |= b
            by_kind[d["type"]][0] += len(b & takes)
            by_kind[d["type"]][1] += len(b)
        for a, b in truth["kept"]:
            in_kept += len(bins(a, b) & takes)
        labelled_take += len(takes)
        truth_take += len(true_takes)
        both += len(takes & true_takes)
        print(f"{name}: labelled take {len(takes) * BIN:.1f} s, truth takes "
              f"{len(true_takes) * BIN:.1f} s, both {len(takes & true_takes) * BIN:.1f} s")
    print(f"take precision {both / max(labelled_take, 1):.3f} recall {both / max(truth_take, 1):.3f}")
    print(f"labelled take inside the truth's kept music (the alignment cut it): "
          f"{in_kept * BIN:.1f} s; precision among truth defects "
          f"{both / max(labelled_take - in_kept, 1):.3f}")
    print("share labelled take by kind:",
          ", ".join(f"{k} {v[0] / max(v[1], 1):.2f}" for k, v in sorted(by_kind.items())))


if __name__ == "__main__":
    main()
