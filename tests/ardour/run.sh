#!/usr/bin/env bash
# The bundled VST3 in Ardour 7, headless: a session made with ardour7-lua on the dummy backend,
# the fixture WAV put on its track, a bounce with ardour7-export compared with pedalboard's
# offline render of the same WAV, the session reloaded to check the plugin's saved parameters,
# and a real-time pass on the dummy backend.
#
# Needs the bundle (cargo xtask bundle audio_slicer --release); writes its fixture with cargo
# like tests/vst3/run.sh, and installs Debian's `ardour` package (Ardour 7) if it is missing.
# Nothing outside the repository's target/ is touched: Ardour runs with HOME and the XDG
# directories in target/ardour-test/home, so its config, plugin cache and ~/.vst3 are private.
# The work is left in target/ardour-test/ (session, export, logs, report.json).
#
# Steps (each is one PASS/FAIL line; the last line is "N passed, N failed"):
#  1. ardour7-lua, ardour7-export and the VST3 scanner are present (installed if not).
#  2. The bundle is copied to $HOME/.vst3 and scanned into Ardour's VST3 cache.
#  3. session.lua (create): a session with one audio track of the fixture's channel count, the
#     Audio Slicer VST3 on it, PARAMS set (looked up by title; see PARAMS), saved.
#  4. import_wav.py: the fixture WAV is put on the track by writing the session files the way
#     Ardour's import does (mono sources in interchange/, <Source>, <Region>, the playlist's
#     <Region>, a session range); see that file. ardour7-lua has no headless import.
#  5. session.lua (reload): the session opens, the plugin loads, and PARAMS read back.
#  6. ardour7-export bounces the session range of the master bus to 32-bit float WAV.
#     A second export must give the same audio, or else be an exact render of its own stream.
#  7. compare.py: the bounce against pedalboard's render (offset measured; (a) cuts match,
#     (b) kept audio equals the input, (c) the share of equal frames, printed; when the cuts
#     differ, the lead-in of silence that makes pedalboard reproduce Ardour's bounce).
#     Then a bounce with the plugin's analysis starved (built-in model, Ardour on one core, the
#     analysis threads on SCHED_IDLE) must still equal pedalboard's offline render.
#  8. session.lua (play): the transport rolls in real time over the region on the dummy
#     backend (after Ardour's latency pre-roll, ~9.9 s), and Ardour and the plugin survive it.
#     Steps 3-8 run the plugin in Lookahead analysis (PARAMS sets it).
#  9. Timeline analysis in a session of its own: a real-time pass with 0 latency, the project
#     saved with the analysis; two exports in new Ardour processes must each be the recording
#     with no latency, cut where the command line cuts (timeline_compare.py), and the same.
#     Then a MIDI track records the plugin's MIDI out during a real-time roll: a note per cut of
#     the command line's edit and the score controller on each segment (midi_compare.py).
# 10. That region moved later on the timeline and played again: it is analysed again, and the
#     export carries the command line's edit at the new place.
#
# Environment: AUDIO_SLICER_VST3 (bundle path), AUDIO_SLICER_ARDOUR_SKIP_FIXTURE=1 (use the
# fixture already written instead of running cargo), AUDIO_SLICER_FIXTURE (the fixture's
# directory, target/tmp/plugin-host-fixture unless set),
# AUDIO_SLICER_ARDOUR_SKIP_PLAY=1 (leave out step 8), AUDIO_SLICER_ARDOUR_ONLY_TIMELINE=1 (leave
# out steps 3-8: a fixture that is a long recording with a real model, for a measurement).
set -uo pipefail
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in tests/ardour
cd "$(dirname "$0")/../.."
repo="$PWD"
here="$repo/tests/ardour"
bundle="${AUDIO_SLICER_VST3:-$repo/target/bundled/Audio Slicer.vst3}"
[ -d "$bundle" ] || { echo "missing $bundle: run cargo xtask bundle audio_slicer --release" >&2; exit 1; }

# The parameters set in Ardour and in pedalboard, by VST3 title: the plain value, and for an
# enumeration ":label" too. Ardour 7 shows this plugin's enumerations as plain integers with no
# labels (no scale points), so it is given the index; pedalboard sets the label, and compare.py
# checks the index names that label. Mode Gate and Snap Off match tests/vst3; Snap (default
# Beat), Min cut (default 0.5 s) and Score CC (default 20) are away from their defaults so the
# reload shows they were saved. Min cut 0.8 s still cuts the fixture's 4 s of noise, and is a
# value pedalboard sets exactly (it snaps a float to the nearest of the values it sampled from
# the plugin's display: 0.6 would become 0.6006 there, while Ardour passes 0.6 on exactly).
PARAMS="Mode=1:Gate;Snap=0:Off;Min cut=0.8;Score CC=21;Analysis=1:Lookahead"
TIMEOUT=600

passed=0
failed=0
crashes=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
finish() {
  echo
  echo "Ardour test work (session, export, logs): $work"
  [ "$crashes" -gt 0 ] && echo "WARNING: ardour7-export crashed $crashes time(s) and was retried (see the .crash logs)"
  if [ "$failed" -eq 0 ]; then echo "Ardour VST3 test: PASS"; else echo "Ardour VST3 test: FAIL"; fi
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

work="$repo/target/ardour-test"
rm -rf "$work"
mkdir -p "$work"
# Physical paths only: Ardour's VST3 cache does not find a bundle scanned through a symlink.
work="$(cd "$work" && pwd -P)"

# 1. Ardour 7 (and pgrep, for starve_analysis.sh; taskset and chrt come with util-linux).
need=""
if ! command -v ardour7-lua >/dev/null || ! command -v ardour7-export >/dev/null \
  || [ ! -x /usr/lib/ardour7/ardour-vst3-scanner ]; then
  need="ardour"
fi
command -v pgrep >/dev/null || need="$need procps"
if [ -n "$need" ]; then
  echo "installing Debian's $need"
  apt-get update -q >"$work/apt.log" 2>&1
  apt-cache policy ardour | tee -a "$work/apt.log"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive timeout "$TIMEOUT" apt-get install -y --no-install-recommends $need >>"$work/apt.log" 2>&1
fi
if command -v ardour7-lua >/dev/null && command -v ardour7-export >/dev/null && [ -x /usr/lib/ardour7/ardour-vst3-scanner ]; then
  pass "Ardour 7 is installed ($(dpkg-query -W -f '${Version}' ardour 2>/dev/null || echo '?'))"
else
  fail "Ardour 7 (ardour7-lua, ardour7-export, ardour-vst3-scanner) could not be installed; see $work/apt.log"
  finish
fi

# The venv with pedalboard, as tests/vst3/run.sh makes it.
venv="target/vst3-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pedalboard==0.9.*" numpy
py="$repo/$venv/bin/python"

# The session and the model that finds its bad stretch (written by the Rust harness).
if [ "${AUDIO_SLICER_ARDOUR_SKIP_FIXTURE:-}" != 1 ]; then
  cargo test --quiet --test plugin_harness the_fixture_for_other_hosts_is_written
fi
fixture_dir="${AUDIO_SLICER_FIXTURE:-$repo/target/tmp/plugin-host-fixture}"
fixture="$fixture_dir/fixture.json"
[ -f "$fixture" ] || { echo "missing $fixture" >&2; exit 1; }
wav=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["wav"])' "$fixture")
model=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["model_dir"])' "$fixture")
read -r rate channels frames < <("$py" -c '
import sys; sys.path.insert(0, sys.argv[2]); import wavio
r, ch = wavio.read(sys.argv[1]); print(r, len(ch), len(ch[0]))' "$wav" "$here")
echo "fixture: $wav ($channels ch, $frames frames at $rate Hz); model $model"

# A private HOME for Ardour: its config, caches and ~/.vst3.
# cargo (rustup) needs the real home; Ardour gets a private one.
real_home="$HOME"
export HOME="$work/home"
export XDG_CONFIG_HOME="$HOME/.config" XDG_CACHE_HOME="$HOME/.cache" XDG_DATA_HOME="$HOME/.local/share"
mkdir -p "$HOME/.vst3" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME"
# The plugin reads the model directory from here when the project names none.
export AUDIO_SLICER_MODEL="$model"

# 2. The bundle in ~/.vst3, scanned into Ardour's cache ($XDG_CACHE_HOME/ardour7/vst/*.v3i).
cp -a "$bundle" "$HOME/.vst3/"
installed="$HOME/.vst3/$(basename "$bundle")"
LD_LIBRARY_PATH=/usr/lib/ardour7 timeout "$TIMEOUT" /usr/lib/ardour7/ardour-vst3-scanner -f "$installed" \
  >"$work/scan.log" 2>&1
scan_rc=$?
cache=$(find "$XDG_CACHE_HOME" -name '*.v3i' 2>/dev/null | head -n 1)
if [ "$scan_rc" -eq 0 ] && [ -n "$cache" ] && grep -q 'Audio Slicer' "$cache"; then
  pass "VST3 scan: $cache"
else
  fail "VST3 scan (exit $scan_rc, cache '${cache:-none}'); see $work/scan.log"
  finish
fi

name="slicer"
session="$work/$name"
# ardour7-export crashed now and then in development (glibc "double free or corruption" at the
# start of an export, exit 134; 1 in about 12 exports with the plugin). A crash is retried once,
# reported, and a second crash in a row fails the step.
export_session() { # output wav, log; extra environment/prefix comes from the caller's "$@"
  local out="$1" log="$2"; shift 2
  local rc try
  for try in 1 2; do
    local starver=""
    if [ -n "${STARVE:-}" ]; then
      "$here/starve_analysis.sh" "-o $out" >>"$work/starve.log" 2>&1 &
      starver=$!
    fi
    "$@" timeout "$TIMEOUT" ardour7-export -b float -o "$out" "$session" "$name" >"$log" 2>&1 </dev/null
    rc=$?
    [ -n "$starver" ] && wait "$starver"
    if [ "$rc" -le 124 ]; then break; fi # 124: timed out, not retried
    crashes=$((crashes + 1))
    echo "WARNING: ardour7-export crashed (exit $rc: $(grep -a -o -i -m1 'double free[^*]*\|segmentation fault\|corrupt[a-z ()!]*\|abort[a-z]*' "$log" || echo 'see log')); log kept as $log.crash$try"
    cp "$log" "$log.crash$try"
  done
  return "$rc"
}

run_lua() { # step, log file; the rest of the environment is set by the caller
  AS_STEP="$1" AS_DIR="$session" AS_NAME="$name" AS_PLUGIN="Audio Slicer" \
    timeout "$TIMEOUT" ardour7-lua "$here/session.lua" >"$2" 2>&1 </dev/null
  local rc=$?
  grep '^AS ' "$2" | sed 's/^/  /'
  grep -q "^AS OK $1" "$2" && [ "$rc" -eq 0 ]
}

report_results() { # log file, exit code
  grep -v '^RESULT ' "$1" | sed 's/^/  /'
  while read -r _ check verdict detail; do
    if [ "$verdict" = PASS ]; then pass "$check: $detail"; else fail "$check: $detail"; fi
  done < <(grep '^RESULT ' "$1")
  if [ "$2" -ne 0 ] && ! grep -q '^RESULT .* FAIL ' "$1"; then
    tail -n 20 "$1"
    fail "compare.py failed (exit $2); see $1"
  fi
}

same_audio() { # two WAVs: the same frames, sample for sample
  "$py" -c '
import sys, numpy as np
from pedalboard.io import AudioFile
def rd(p):
    with AudioFile(p) as f: return f.read(f.frames)
a, b = rd(sys.argv[1]), rd(sys.argv[2])
sys.exit(0 if a.shape == b.shape and np.array_equal(a, b) else 1)' "$1" "$2"
}

if [ "${AUDIO_SLICER_ARDOUR_ONLY_TIMELINE:-}" != 1 ]; then

# 3. The session, the track and the plugin.
if AS_RATE="$rate" AS_CHANNELS="$channels" AS_PARAMS="$PARAMS" run_lua create "$work/create.log"; then
  pass "session created with Audio Slicer on the track, parameters set ($PARAMS)"
else
  fail "creating the session; see $work/create.log"
  finish
fi

# 4. The fixture WAV on the track.
if "$py" "$here/import_wav.py" "$session/$name.ardour" Slice "$wav" 0 >"$work/import.log" 2>&1; then
  pass "fixture imported into the session: $(cat "$work/import.log")"
else
  cat "$work/import.log"
  fail "importing the fixture into the session XML"
  finish
fi
cp "$session/$name.ardour" "$work/$name.imported.ardour"

# 5. Reload: the plugin and its parameters come back.
if AS_PARAMS="$PARAMS" run_lua reload "$work/reload.log"; then
  pass "session reloaded: the plugin loads and its parameters survived"
else
  fail "reloading the session or its parameters; see $work/reload.log"
  # ardour7-export would not say if it could not load the plugin: it exports the dry track.
  if ! grep -q '^AS PLUGIN ' "$work/reload.log"; then
    echo "the plugin does not load in this environment, so an export would be of the dry track"
    finish
  fi
fi

# 6. The bounce. ardour7-export freewheels the dummy backend over the session range and writes
# the master bus.
start=$(date +%s%N)
export_session "$work/export.wav" "$work/export.log" env
export_rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
audio_ms=$(( frames * 1000 / rate ))
if [ "$export_rc" -eq 0 ] && [ -s "$work/export.wav" ]; then
  pass "ardour7-export wrote $work/export.wav in $ms ms (wall) for $audio_ms ms of audio"
else
  tail -n 20 "$work/export.log"
  fail "ardour7-export (exit $export_rc); see $work/export.log"
  finish
fi

# 6b. A second bounce of the same session (compared in step 7).
start=$(date +%s%N)
export_session "$work/export2.wav" "$work/export2.log" env
export2_rc=$?
ms2=$(( ($(date +%s%N) - start) / 1000000 ))

# 7. The comparison with pedalboard.
"$py" "$here/compare.py" main "$fixture" "$work/export.wav" "$bundle" "$PARAMS" "$work/report.json" \
  >"$work/compare.log" 2>&1
compare_rc=$?
report_results "$work/compare.log" "$compare_rc"

# 7b. The command line's edit of the same recording, same model and options (Snap Off, Min cut
# 0.8 s): its cuts must be in the bounce, boundaries within the tolerance cli_compare.py states.
model_dir=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["model_dir"])' "$fixture")
mkdir -p "$work/cli"
if HOME="$real_home" cargo run --release --quiet --bin audio-slicer -- edit "$wav" -o "$work/cli/session.wav" \
    -m "$model_dir" --snap off --min-cut 0.8 --force --quiet >"$work/cli.log" 2>&1; then
  "$py" "$here/cli_compare.py" "$work/report.json" "$work/cli/session.cuts.json" >"$work/cli-compare.log" 2>&1
  report_results "$work/cli-compare.log" $?
else
  tail -n 20 "$work/cli.log"
  fail "cli_edit: audio-slicer edit failed; see $work/cli.log"
fi

# 7a. The second bounce: the same audio, or else an exact render of its own stream (Ardour's lead-in
# can differ by a few samples between exports; compare.py measures it).
if [ "$export2_rc" -ne 0 ] || [ ! -s "$work/export2.wav" ]; then
  fail "the second ardour7-export (exit $export2_rc); see $work/export2.log"
elif same_audio "$work/export.wav" "$work/export2.wav"; then
  # (the files themselves differ: libsndfile stamps the time into the WAV's PEAK chunk)
  pass "a second ardour7-export ($ms2 ms) has the same audio as the first, sample for sample"
elif [ -f "$work/report.json" ] && grep -q '"ardour_cuts"' "$work/report.json"; then
  echo "  the second ardour7-export ($ms2 ms) is not identical to the first"
  "$py" "$here/compare.py" repeat "$fixture" "$work/export2.wav" "$bundle" "$PARAMS" "$work/report-repeat.json" "$work/report.json" \
    >"$work/compare-repeat.log" 2>&1
  report_results "$work/compare-repeat.log" $?
else
  fail "the second ardour7-export differs from the first, and the first could not be analysed"
fi

# 7b. The bounce again with the analysis starved: Ardour pinned to one core and the plugin's
# analysis threads on SCHED_IDLE (starve_analysis.sh), with the built-in model (no
# AUDIO_SLICER_MODEL; it costs more to run than the fixture's tiny one, whose analysis keeps up
# with an export even when starved). An offline render that waits for its analysis is unchanged
# by this; compare.py checks it against pedalboard's render of the same stream (the lead-in
# measured near the one of step 7).
if command -v taskset >/dev/null && command -v chrt >/dev/null && command -v pgrep >/dev/null && [ -f "$work/report.json" ] \
  && grep -q '"lead_in_samples"' "$work/report.json"; then
  stress="$work/export-stress.wav"
  start=$(date +%s%N)
  STARVE=1 export_session "$stress" "$work/export-stress.log" env -u AUDIO_SLICER_MODEL taskset -c 0
  stress_rc=$?
  ms3=$(( ($(date +%s%N) - start) / 1000000 ))
  starved=$(grep -c SCHED_IDLE "$work/starve.log" 2>/dev/null)
  echo "  stress export: exit $stress_rc in $ms3 ms; ${starved:-0} analysis thread(s) put on SCHED_IDLE"
  if [ "${starved:-0}" -eq 0 ]; then
    fail "the starved bounce starved nothing: no 'audio-slicer*' thread was found in ardour7-export (renamed?)"
  elif [ "$stress_rc" -eq 0 ] && [ -s "$stress" ]; then
    "$py" "$here/compare.py" stress "$fixture" "$stress" "$bundle" "$PARAMS" "$work/report-stress.json" "$work/report.json" \
      >"$work/compare-stress.log" 2>&1
    report_results "$work/compare-stress.log" $?
  else
    fail "the starved ardour7-export (exit $stress_rc); see $work/export-stress.log"
  fi
else
  fail "no starved bounce: taskset, chrt or pgrep missing, or no lead-in measured in step 7"
fi

# 8. Real time on the dummy backend, over the region and a second past it.
if [ "${AUDIO_SLICER_ARDOUR_SKIP_PLAY:-}" != 1 ]; then
  play_s=$(( (frames + rate - 1) / rate + 1 ))
  if AS_PLAY_S="$play_s" run_lua play "$work/play.log"; then
    pass "real-time pass: the transport rolled for $play_s s with the plugin"
  else
    fail "real-time pass; see $work/play.log"
  fi
fi

fi # AUDIO_SLICER_ARDOUR_ONLY_TIMELINE

# 9. Timeline analysis, in a session of its own: a real-time pass, the project saved with the
#    analysis, then exports of it in new Ardour processes. Each must be the recording with 0
#    latency and the command line's cuts (timeline_compare.py), and the two the same audio.
name="slicer-timeline"
session="$work/$name"
TL_PARAMS="Mode=1:Gate;Snap=0:Off;Min cut=0.8;Score CC=21;Analysis=0:Timeline"
play_s=$(( (frames + rate - 1) / rate + 1 ))
if ! AS_RATE="$rate" AS_CHANNELS="$channels" AS_PARAMS="$TL_PARAMS" run_lua create "$work/tl-create.log"; then
  fail "timeline: creating the session; see $work/tl-create.log"
elif ! "$py" "$here/import_wav.py" "$session/$name.ardour" Slice "$wav" 0 >"$work/tl-import.log" 2>&1; then
  fail "timeline: importing the fixture; see $work/tl-import.log"
elif ! AS_PLAY_S="$play_s" AS_SAVE=1 run_lua play "$work/tl-play.log"; then
  fail "timeline: the real-time pass; see $work/tl-play.log"
else
  latency=$(grep -o -m1 'AS LATENCY plugin=[0-9]*' "$work/tl-play.log" | cut -d= -f2)
  if [ "$latency" = 0 ]; then
    pass "timeline: a real-time pass of $play_s s with 0 reported latency, the project saved after it"
  else
    fail "timeline: the plugin reported ${latency:-no} latency in Timeline analysis"
  fi
  cli_cuts="$work/cli-timeline/session.cuts.json"
  mkdir -p "$work/cli-timeline"
  if ! HOME="$real_home" cargo run --release --quiet --bin audio-slicer -- edit "$wav" -o "$work/cli-timeline/session.wav" \
      -m "$model" --snap off --min-cut 0.8 --force --quiet >"$work/cli-timeline.log" 2>&1; then
    fail "timeline: audio-slicer edit failed; see $work/cli-timeline.log"
  elif export_session "$work/export-timeline.wav" "$work/export-timeline.log" env && [ -s "$work/export-timeline.wav" ]; then
    "$py" "$here/timeline_compare.py" "$wav" "$work/export-timeline.wav" "$cli_cuts" \
      >"$work/timeline-compare.log" 2>&1
    report_results "$work/timeline-compare.log" $?
    # The analysis is read from the project and not changed by an export: a second is the same.
    if export_session "$work/export-timeline2.wav" "$work/export-timeline2.log" env \
      && same_audio "$work/export-timeline.wav" "$work/export-timeline2.wav"; then
      pass "timeline: a second ardour7-export has the same audio as the first, sample for sample"
    else
      fail "timeline: the second ardour7-export differs from the first (or failed; see $work/export-timeline2.log)"
    fi
  else
    fail "timeline: ardour7-export; see $work/export-timeline.log"
  fi

  # 9b. Scores and cuts recorded in the DAW: during a real-time roll of the saved project (not
  #     saved again), a MIDI track records the plugin's MIDI out. Each recorded note must be a
  #     cut of the command line's edit (edges within 10 ms), and each recorded score controller
  #     event sit on a segment's start with that segment's score (midi_compare.py).
  if [ -s "$cli_cuts" ] && AS_PLAY_S="$play_s" AS_CC=21 run_lua midirec "$work/tl-midirec.log"; then
    "$py" "$here/midi_compare.py" "$work/tl-midirec.log" "$cli_cuts" "$rate" >"$work/midi-compare.log" 2>&1
    report_results "$work/midi-compare.log" $?
  else
    fail "timeline: recording the plugin's MIDI on a MIDI track; see $work/tl-midirec.log"
  fi

  # 10. The region moved on the timeline (by 64 fingerprint blocks, 5.94 s at 44.1 kHz, so the
  #     new position is analysed on the same block grid as the command line's file), played again
  #     in real time: the analysis saved for the old position differs from what plays there now,
  #     so it is analysed again; the export then carries the command line's edit at the new place.
  move=262144
  if ! "$py" "$here/move_region.py" "$session/$name.ardour" Slice "$move" >"$work/tl-move.log" 2>&1; then
    fail "timeline: moving the region; see $work/tl-move.log"
  elif ! AS_PLAY_S="$(( play_s + (move + rate - 1) / rate ))" AS_SAVE=1 run_lua play "$work/tl-play-moved.log"; then
    fail "timeline: the real-time pass over the moved region; see $work/tl-play-moved.log"
  elif export_session "$work/export-moved.wav" "$work/export-moved.log" env && [ -s "$work/export-moved.wav" ]; then
    "$py" "$here/timeline_compare.py" "$wav" "$work/export-moved.wav" "$cli_cuts" "$move" \
      >"$work/timeline-moved-compare.log" 2>&1
    moved_rc=$?
    sed -i 's/^RESULT timeline_/RESULT timeline_moved_/' "$work/timeline-moved-compare.log"
    report_results "$work/timeline-moved-compare.log" "$moved_rc"
  else
    fail "timeline: ardour7-export of the moved region; see $work/export-moved.log"
  fi
fi

finish
