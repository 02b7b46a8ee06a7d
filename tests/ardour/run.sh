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
#     Audio Slicer VST3 on it, PARAMS set (looked up by title; enumerations by label), saved.
#  4. import_wav.py: the fixture WAV is put on the track by writing the session files the way
#     Ardour's import does (mono sources in interchange/, <Source>, <Region>, the playlist's
#     <Region>, a session range); see that file. ardour7-lua has no headless import.
#  5. session.lua (reload): the session opens, the plugin loads, and PARAMS read back.
#  6. ardour7-export bounces the session range of the master bus to 32-bit float WAV.
#  7. compare.py: the bounce against pedalboard's render (offset measured; (a) cuts match,
#     (b) kept audio equals the input, (c) the share of equal frames, printed).
#  8. session.lua (play): the transport rolls in real time over the region on the dummy
#     backend (after Ardour's latency pre-roll, ~9.9 s), and Ardour and the plugin survive it.
#
# Environment: AUDIO_SLICER_VST3 (bundle path), AUDIO_SLICER_ARDOUR_SKIP_FIXTURE=1 (use the
# fixture already written instead of running cargo), AUDIO_SLICER_FIXTURE (the fixture's
# directory, target/tmp/plugin-host-fixture unless set),
# AUDIO_SLICER_ARDOUR_SKIP_PLAY=1 (leave out step 8).
set -uo pipefail
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
PARAMS="Mode=1:Gate;Snap=0:Off;Min cut=0.8;Score CC=21"
TIMEOUT=600

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
finish() {
  echo
  echo "Ardour test work (session, export, logs): $work"
  if [ "$failed" -eq 0 ]; then echo "Ardour VST3 test: PASS"; else echo "Ardour VST3 test: FAIL"; fi
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

work="$repo/target/ardour-test"
rm -rf "$work"
mkdir -p "$work"

# 1. Ardour 7.
if ! command -v ardour7-lua >/dev/null || ! command -v ardour7-export >/dev/null \
  || [ ! -x /usr/lib/ardour7/ardour-vst3-scanner ]; then
  echo "installing Debian's ardour package"
  apt-get update -q >"$work/apt.log" 2>&1
  apt-cache policy ardour | tee -a "$work/apt.log"
  DEBIAN_FRONTEND=noninteractive timeout "$TIMEOUT" apt-get install -y --no-install-recommends ardour >>"$work/apt.log" 2>&1
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
run_lua() { # step, log file; the rest of the environment is set by the caller
  AS_STEP="$1" AS_DIR="$session" AS_NAME="$name" AS_PLUGIN="Audio Slicer" \
    timeout "$TIMEOUT" ardour7-lua "$here/session.lua" >"$2" 2>&1 </dev/null
  local rc=$?
  grep '^AS ' "$2" | sed 's/^/  /'
  grep -q "^AS OK $1" "$2" && [ "$rc" -eq 0 ]
}

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
fi

# 6. The bounce. ardour7-export freewheels the dummy backend over the session range and writes
# the master bus.
start=$(date +%s%N)
timeout "$TIMEOUT" ardour7-export -b float -o "$work/export.wav" "$session" "$name" >"$work/export.log" 2>&1 </dev/null
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

# 7. The comparison with pedalboard.
"$py" "$here/compare.py" "$fixture" "$work/export.wav" "$bundle" "$PARAMS" "$work/report.json" \
  >"$work/compare.log" 2>&1
compare_rc=$?
grep -v '^RESULT ' "$work/compare.log" | sed 's/^/  /'
while read -r _ check verdict detail; do
  if [ "$verdict" = PASS ]; then pass "$check: $detail"; else fail "$check: $detail"; fi
done < <(grep '^RESULT ' "$work/compare.log")
if [ "$compare_rc" -ne 0 ] && ! grep -q '^RESULT .* FAIL ' "$work/compare.log"; then
  tail -n 20 "$work/compare.log"
  fail "compare.py failed (exit $compare_rc); see $work/compare.log"
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

finish
