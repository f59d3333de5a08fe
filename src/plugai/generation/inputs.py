"""The image a generation starts from: an http(s) URL, a data: URL or one of the caller's
artifacts, read into memory with a size limit and checked to be an image."""

from __future__ import annotations

import base64
import binascii
from typing import Protocol

import aiohttp

from plugai.core.errors import InvalidRequest
from plugai.core.images import InputImage

MAX_INPUT_BYTES = 20 * 1024 * 1024
_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
# Leading bytes of the image formats the engines and providers read.
_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"RIFF": "image/webp",
    b"GIF8": "image/gif",
}


class ArtifactReader(Protocol):
    async def read(self, user_id: str, artifact_id: str) -> tuple[bytes, str]:
        """The bytes and media type of the caller's artifact (404 otherwise)."""
        ...


def sniff(data: bytes, param: str) -> str:
    """The media type of an image by its first bytes (a 400 naming ``param`` otherwise)."""
    for magic, mime in _MAGIC.items():
        if data.startswith(magic):
            return mime
    raise InvalidRequest(
        f"'{param}' is not an image PlugAI can read (PNG, JPEG, WebP or GIF).", param=param
    )


def _too_big(param: str) -> InvalidRequest:
    return InvalidRequest(
        f"'{param}' is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB.", param=param
    )


def _from_data_url(ref: str, param: str) -> bytes:
    head, sep, payload = ref.partition(",")
    if not sep or not head.endswith(";base64"):
        raise InvalidRequest(
            f"'{param}' must be a base64 data: URL (data:image/png;base64,…).", param=param
        )
    if len(payload) > MAX_INPUT_BYTES * 4 // 3 + 4:
        raise _too_big(param)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"'{param}' holds invalid base64.", param=param) from None


async def _from_url(url: str, param: str) -> bytes:
    try:
        async with (
            aiohttp.ClientSession(timeout=_TIMEOUT) as session,
            session.get(url, allow_redirects=True, max_redirects=3) as response,
        ):
            if response.status != 200:
                raise InvalidRequest(
                    f"'{param}' could not be fetched: the server answered {response.status}.",
                    param=param,
                )
            if (response.content_length or 0) > MAX_INPUT_BYTES:
                raise _too_big(param)
            data = bytearray()
            async for block in response.content.iter_chunked(64 * 1024):
                data += block
                if len(data) > MAX_INPUT_BYTES:
                    raise _too_big(param)
            return bytes(data)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise InvalidRequest(f"'{param}' could not be fetched: {exc}.", param=param) from None


def check_reference(ref: str, param: str = "image") -> None:
    """A 400 now for a reference that can never be read (before a job is queued)."""
    if not ref.startswith(("data:", "http://", "https://", "art_")):
        raise InvalidRequest(
            f"'{param}' must be an http(s) URL, a data: URL or an artifact id (art_…).",
            param=param,
        )
    if ref.startswith("data:"):
        _from_data_url(ref, param)


async def read_image(
    ref: str, user_id: str, artifacts: ArtifactReader, param: str = "image"
) -> InputImage:
    if ref.startswith("data:"):
        data = _from_data_url(ref, param)
    elif ref.startswith(("http://", "https://")):
        data = await _from_url(ref, param)
    else:
        check_reference(ref, param)
        data, _mime = await artifacts.read(user_id, ref)
    return InputImage(data=data, mime=sniff(data, param))
