#!/usr/bin/env bash
# Runs test_vst3.py against the bundled VST3 in a venv with pedalboard.
# Needs the bundle (cargo xtask bundle audio_slicer --release); writes its fixture with cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
bundle="${AUDIO_SLICER_VST3:-$PWD/target/bundled/Audio Slicer.vst3}"
[ -d "$bundle" ] || { echo "missing $bundle: run cargo xtask bundle audio_slicer --release" >&2; exit 1; }
venv="target/vst3-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pedalboard==0.9.*" numpy
# The session and the model that finds its bad stretch (written by the Rust harness).
cargo test --quiet --test plugin_harness the_fixture_for_other_hosts_is_written
export AUDIO_SLICER_FIXTURE="$PWD/target/tmp/plugin-host-fixture"
# The command line's edit of the same session, for the Timeline test's cut list.
model_dir="$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["model_dir"])' "$AUDIO_SLICER_FIXTURE/fixture.json")"
rm -rf "$AUDIO_SLICER_FIXTURE/cli"
cargo run --release --quiet -- edit "$AUDIO_SLICER_FIXTURE/session.wav" -m "$model_dir" --snap off \
  -o "$AUDIO_SLICER_FIXTURE/cli/edit.wav" >/dev/null
export AUDIO_SLICER_VST3="$bundle"
"$venv/bin/python" tests/vst3/test_vst3.py
