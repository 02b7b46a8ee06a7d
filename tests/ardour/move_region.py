"""Moves every region on a track of a saved (closed) Ardour 7 session later on the timeline, as
dragging it in the editor would, and makes the session range end with it (the start stays,
so an export begins with the silence the move left).

Times in Ardour 7 files are "a<superclock>"; a region's length is "a<length>@a<position>"
(see import_wav.py).

Usage: move_region.py SESSION.ardour TRACK_NAME SAMPLES
Prints a JSON line with the regions moved and the new session range end in samples.
"""

import json
import re
import sys
import xml.etree.ElementTree as ET


def main():
    session_file, track_name, samples = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tree = ET.parse(session_file)
    root = tree.getroot()
    rate = int(root.get("sample-rate"))
    per_sample = int(root.find("TempoMap").get("superclocks-per-second")) // rate
    shift = samples * per_sample
    route = next((r for r in root.find("Routes") if r.get("name") == track_name), None)
    if route is None:
        raise SystemExit(f"no route named {track_name!r}")
    playlist = next((p for p in root.find("Playlists") if p.get("id") == route.get("audio-playlist")), None)
    if playlist is None:
        raise SystemExit(f"no playlist for {track_name!r}")
    moved, end = [], 0
    for region in playlist.findall("Region"):
        m = re.fullmatch(r"a(\d+)@a(\d+)", region.get("length", ""))
        if not m:
            raise SystemExit(f"region {region.get('id')}: unexpected length {region.get('length')!r}")
        length, position = int(m.group(1)), int(m.group(2)) + shift
        region.set("length", f"a{length}@a{position}")
        moved.append(region.get("id"))
        end = max(end, position + length)
    if not moved:
        raise SystemExit(f"no region on {track_name!r}")
    ranges = [l for l in root.find("Locations") if "IsSessionRange" in (l.get("flags") or "")]
    if len(ranges) != 1:
        raise SystemExit(f"expected one session range, found {len(ranges)}")
    ranges[0].set("end", f"a{end}")
    tree.write(session_file, encoding="UTF-8", xml_declaration=True)
    print(json.dumps({"regions": moved, "end": end // per_sample}))


if __name__ == "__main__":
    main()
