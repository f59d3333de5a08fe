"""Image inputs of generation requests: a file path or bytes become a ``data:`` URL; an
http(s) URL, a ``data:`` URL or an artifact id (``art_…``) are sent as they are."""

from __future__ import annotations

import base64
import mimetypes
import os
from pathlib import Path

ImageInput = str | bytes | os.PathLike[str]
_PASS_THROUGH = ("http://", "https://", "data:", "art_")
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"BM", "image/bmp"),
)


def sniff(data: bytes) -> str:
    """The image media type of ``data`` by its first bytes (PNG when unknown)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    return "image/png"


def data_url(data: bytes, mime: str | None = None) -> str:
    return f"data:{mime or sniff(data)};base64,{base64.b64encode(data).decode()}"


def image_input(image: ImageInput) -> str:
    """What the server's ``image`` field takes (see the module docstring)."""
    if isinstance(image, bytes | bytearray | memoryview):
        return data_url(bytes(image))
    if isinstance(image, str) and image.startswith(_PASS_THROUGH):
        return image
    path = Path(image)
    if not path.is_file():
        raise ValueError(
            f"image {str(image)[:80]!r} is neither a file, an http(s) or data: URL, "
            "nor an artifact id (art_…)"
        )
    data = path.read_bytes()
    guessed, _ = mimetypes.guess_type(path.name)
    mime = guessed if guessed and guessed.startswith("image/") else sniff(data)
    return data_url(data, mime)
