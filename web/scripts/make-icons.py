"""Writes the PNG app icons (a plug on indigo) with the standard library only."""

import struct
import sys
import zlib
from pathlib import Path


def png(size: int, pad: float) -> bytes:
    bg, fg = (79, 70, 229), (255, 255, 255)
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            u, v = (x + 0.5) / size, (y + 0.5) / size
            u, v = (u - pad) / (1 - 2 * pad), (v - pad) / (1 - 2 * pad)  # maskable: safe zone
            prong = (0.36 < u < 0.44 or 0.56 < u < 0.64) and 0.2 < v < 0.42
            body = (0.26 < u < 0.74 and 0.4 < v < 0.52) or (
                (u - 0.5) ** 2 + (v - 0.52) ** 2 < 0.24**2 and v >= 0.52
            )
            cord = 0.46 < u < 0.54 and 0.7 < v < 0.86
            row += bytes(fg if (prong or body or cord) else bg)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    head = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


out = Path(sys.argv[1] if len(sys.argv) > 1 else "public")
(out / "icon-192.png").write_bytes(png(192, 0.0))
(out / "icon-512.png").write_bytes(png(512, 0.0))
(out / "icon-512-maskable.png").write_bytes(png(512, 0.1))
