#!/usr/bin/env bash
# Cross-fitted scores for the take model experiment: each training recording scored by a
# classifier trained on the other folds of its set's training pairs; each test recording by one
# trained on all of them. Scores land in /tmp/xfit/SET/scores/NAME.scores.json.
set -u
BIN=${AUDIO_SLICER_BIN:-target/release/audio-slicer}
ROOT=${BENCH_ROOT:-../shared/bench}
for set in dev dev-b; do
  names=($(ls $ROOT/$set/train/input | sed 's/\.ogg$//' | sort))
  n=${#names[@]}
  mkdir -p /tmp/xfit/$set/scores
  for f in 0 1 2 all; do
    d=/tmp/xfit/$set/data-$f
    rm -rf $d; mkdir -p $d/input $d/desired_output
    for i in $(seq 0 $((n-1))); do
      if [ "$f" = all ] || [ $((i % 3)) -ne "$f" ]; then
        ln -s $ROOT/$set/train/input/${names[$i]}.ogg $d/input/
        ln -s $ROOT/$set/train/desired_output/${names[$i]}.ogg $d/desired_output/
      fi
    done
    m=/tmp/xfit/$set/model-$f
    rm -rf $m
    echo "$(date +%T) $set fold $f: training on $(ls $d/input | wc -l) pairs"
    $BIN train $d -o $m --autoencoder-from models/default > /tmp/xfit/$set/train-$f.log 2>&1 || { echo "train failed: /tmp/xfit/$set/train-$f.log"; exit 1; }
    if [ "$f" = all ]; then
      for raw in $ROOT/$set/test/input/*.ogg; do
        $BIN score $raw -m $m -o /tmp/xfit/$set/scores --force > /dev/null 2>&1 || echo "score failed $raw"
      done
    else
      for i in $(seq 0 $((n-1))); do
        if [ $((i % 3)) -eq "$f" ]; then
          $BIN score $ROOT/$set/train/input/${names[$i]}.ogg -m $m -o /tmp/xfit/$set/scores --force > /dev/null 2>&1 || echo "score failed ${names[$i]}"
        fi
      done
    fi
  done
done
echo "$(date +%T) done"
