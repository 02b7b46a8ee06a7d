"""Minimal WAV reading and writing with the standard library only (32-bit float and 16/24/32-bit
integer PCM in; 32-bit float out), so the session import runs on any python3.

Samples are returned as one Python `array('f')` per channel.
"""

import array
import struct
import sys

WAVE_FORMAT_PCM = 1
WAVE_FORMAT_IEEE_FLOAT = 3
WAVE_FORMAT_EXTENSIBLE = 0xFFFE


def read(path):
    """Returns (rate, [channel arrays of float])."""
    with open(path, "rb") as f:
        data = f.read()
    if data[0:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a RIFF/WAVE file")
    pos = 12
    fmt = None
    frames = None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == WAVE_FORMAT_EXTENSIBLE:
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            frames = body
        pos += 8 + size + (size & 1)
    if fmt is None or frames is None:
        raise ValueError(f"{path}: no fmt or data chunk")
    tag, channels, rate, bits = fmt
    if tag == WAVE_FORMAT_IEEE_FLOAT and bits == 32:
        samples = array.array("f")
        samples.frombytes(frames[: len(frames) // 4 * 4])
    elif tag == WAVE_FORMAT_PCM and bits in (16, 32):
        ints = array.array("h" if bits == 16 else "i")
        ints.frombytes(frames[: len(frames) // (bits // 8) * (bits // 8)])
        scale = float(1 << (bits - 1))
        samples = array.array("f", (x / scale for x in ints))
    elif tag == WAVE_FORMAT_PCM and bits == 24:
        n = len(frames) // 3
        samples = array.array(
            "f", (int.from_bytes(frames[3 * i:3 * i + 3], "little", signed=True) / 8388608.0 for i in range(n))
        )
    else:
        raise ValueError(f"{path}: unsupported WAV format tag {tag}, {bits} bits")
    if sys.byteorder != "little":
        samples.byteswap()
    return rate, [samples[c::channels] for c in range(channels)]


def write_mono_float(path, rate, samples):
    """Writes one channel as a 32-bit IEEE float WAV (what Ardour itself writes for sources)."""
    body = array.array("f", samples)
    if sys.byteorder != "little":
        body.byteswap()
    payload = body.tobytes()
    fmt = struct.pack("<HHIIHH", WAVE_FORMAT_IEEE_FLOAT, 1, rate, rate * 4, 4, 32)
    fact = struct.pack("<I", len(body))
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(fact) + 8 + len(payload)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt)
        f.write(b"fact" + struct.pack("<I", len(fact)) + fact)
        f.write(b"data" + struct.pack("<I", len(payload)) + payload)
