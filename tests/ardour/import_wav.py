"""Puts a WAV file on a track of a saved (closed) Ardour 7 session by editing its files, the way
Ardour's own import leaves them. Ardour's Lua interpreter (ardour7-lua) has no headless audio
import (Editor:do_import needs the GUI), so this does what the import would:

1. Audio. Ardour keeps a session's audio as one mono file per channel in
   SESSION/interchange/<session dir name>/audiofiles/. The WAV is split into mono 32-bit float
   WAVs there (Ardour's native format; the samples are copied unchanged), named NAME%L.wav and
   NAME%R.wav for stereo (Ardour's own naming), NAME-<n>.wav for other channel counts.
2. <Sources>: one <Source type="audio"> per mono file, by file name (Ardour finds it in
   interchange/*/audiofiles), channel 0 of that file, with origin="". (Not the original WAV's
   path: with an origin Ardour 7 read channel 0 of the original file for every source, so the
   right channel played the left's samples.)
3. <Regions>: the whole-file region over all those sources (whole-file="1"), which Ardour keeps
   as the parent of the regions used in playlists.
4. <Playlists>: the track's playlist (the <Route>'s audio-playlist id) gets a <Region> over the
   same sources at the position wanted. Region fades and the gain envelope are off, so the track
   plays the file's samples unchanged (Ardour's default 64-sample fades would change the first
   and last samples).
5. <Locations>: a session range (flags IsSessionRange) over the region, if the session has
   none, because ardour7-export exports the session range.

Times in Ardour 7 files are "a<superclock>" for audio time, with the superclock rate in
<TempoMap superclocks-per-second>; a region's length is "a<length>@a<position>". New object ids
are taken from the <Session id-counter> and the counter is advanced past them.

Usage: import_wav.py SESSION.ardour TRACK_NAME WAV [POSITION_SECONDS]
Prints a JSON line with what it added (the position and length in samples).
"""

import json
import os
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wavio  # noqa: E402


def main():
    session_file, track_name, wav = sys.argv[1:4]
    position_s = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    session_dir = os.path.dirname(os.path.abspath(session_file))

    tree = ET.parse(session_file)
    root = tree.getroot()
    rate = int(root.get("sample-rate"))
    superclock = int(root.find("TempoMap").get("superclocks-per-second"))
    if superclock % rate:
        raise SystemExit(f"superclock rate {superclock} is not a multiple of the sample rate {rate}")
    per_sample = superclock // rate

    file_rate, channels = wavio.read(wav)
    if file_rate != rate:
        raise SystemExit(f"{wav} is at {file_rate} Hz, the session at {rate} Hz (no resampling here)")
    length = len(channels[0])
    position = int(round(position_s * rate))

    counter = [int(root.get("id-counter"))]

    def new_id():
        counter[0] += 1
        return str(counter[0])

    # 1. The audio, one mono file per channel.
    interchange = os.path.join(session_dir, "interchange")
    subdirs = [d for d in os.listdir(interchange) if os.path.isdir(os.path.join(interchange, d, "audiofiles"))]
    if len(subdirs) != 1:
        raise SystemExit(f"expected one interchange/*/audiofiles in {session_dir}, found {subdirs}")
    audiofiles = os.path.join(interchange, subdirs[0], "audiofiles")
    base = os.path.splitext(os.path.basename(wav))[0]
    if len(channels) == 1:
        names = [f"{base}.wav"]
    elif len(channels) == 2:
        names = [f"{base}%L.wav", f"{base}%R.wav"]
    else:
        names = [f"{base}-{c + 1}.wav" for c in range(len(channels))]
    for name, samples in zip(names, channels):
        wavio.write_mono_float(os.path.join(audiofiles, name), rate, samples)

    # 2. Sources.
    take = time.strftime("%Y-%m-%d %H.%M.%S")
    sources = root.find("Sources")
    source_ids = []
    for name in names:
        sid = new_id()
        source_ids.append(sid)
        ET.SubElement(sources, "Source", {
            "name": name, "take-id": take, "type": "audio", "flags": "", "id": sid,
            "natural-position": f"a{position * per_sample}", "channel": "0",
            "origin": "", "gain": "1",
        })

    def region_attrs(rid, whole_file, at):
        attrs = {
            "name": base, "muted": "0", "opaque": "1", "locked": "0", "video-locked": "0",
            "automatic": "0", "whole-file": "1" if whole_file else "0", "import": "1",
            "external": "0", "sync-marked": "0", "left-of-split": "0", "right-of-split": "0",
            "hidden": "0", "position-locked": "0", "valid-transients": "0", "start": "a0",
            "length": f"a{length * per_sample}@a{at * per_sample}", "sync-position": "a0",
            "ancestral-start": "a0", "ancestral-length": "a0@a0", "stretch": "1", "shift": "1",
            "layering-index": "0", "tags": "", "contents": "0", "envelope-active": "0",
            "default-fade-in": "0", "default-fade-out": "0",
            "fade-in-active": "0", "fade-out-active": "0", "scale-amplitude": "1", "id": rid,
            "type": "audio", "first-edit": "nothing",
        }
        for c, sid in enumerate(source_ids):
            attrs[f"source-{c}"] = sid
        for c, sid in enumerate(source_ids):
            attrs[f"master-source-{c}"] = sid
        attrs["channels"] = str(len(source_ids))
        return attrs

    # 3. The whole-file region.
    ET.SubElement(root.find("Regions"), "Region", region_attrs(new_id(), True, 0))

    # 4. The region on the track's playlist.
    route = next((r for r in root.find("Routes") if r.get("name") == track_name), None)
    if route is None:
        raise SystemExit(f"no route named {track_name!r}")
    playlist_id = route.get("audio-playlist")
    playlist = next((p for p in root.find("Playlists") if p.get("id") == playlist_id), None)
    if playlist is None:
        raise SystemExit(f"no playlist {playlist_id} for {track_name!r}")
    region_id = new_id()
    ET.SubElement(playlist, "Region", region_attrs(region_id, False, position))

    # 5. The session range.
    locations = root.find("Locations")
    if not any("IsSessionRange" in (l.get("flags") or "") for l in locations):
        ET.SubElement(locations, "Location", {
            "id": new_id(), "name": "session", "start": f"a{position * per_sample}",
            "end": f"a{(position + length) * per_sample}", "flags": "IsSessionRange",
            "locked": "0", "timestamp": str(int(time.time())), "cue": "0",
        })

    root.set("id-counter", str(counter[0] + 1))
    tree.write(session_file, encoding="UTF-8", xml_declaration=True)
    print(json.dumps({"files": names, "region": region_id, "position": position, "length": length,
                      "channels": len(channels), "rate": rate}))


if __name__ == "__main__":
    main()
