"""Mesh files from upstreams: counted, and converted to the format the caller asked for
(upstreams answer GLB; trimesh turns it into OBJ or PLY)."""

from __future__ import annotations

import io
from typing import Any

from plugai.core.errors import UpstreamProtocolError
from plugai.core.meshes import MESH_MIME, GeneratedFile


def _scene(data: bytes, fmt: str, provider: str) -> Any:
    import trimesh

    try:
        return trimesh.load(io.BytesIO(data), file_type=fmt, force="scene")
    except Exception as exc:
        raise UpstreamProtocolError(f"{provider}: the mesh it sent does not load ({exc})") from exc


def mesh_file(data: bytes, source: str, wanted: str, provider: str) -> GeneratedFile:
    """``data`` (in format ``source``) as a ``wanted``-format file with its counts."""
    scene = _scene(data, source, provider)
    geometries = list(scene.geometry.values())
    if not geometries:
        raise UpstreamProtocolError(f"{provider}: the mesh it sent is empty")
    vertices = sum(len(getattr(g, "vertices", ())) for g in geometries)
    faces = sum(len(getattr(g, "faces", ())) for g in geometries)
    if wanted != source:
        exported = scene.to_mesh().export(file_type=wanted)
        data = exported if isinstance(exported, bytes) else str(exported).encode()
    meta = {"format": wanted, "vertices": vertices, "faces": faces}
    return GeneratedFile(mime=MESH_MIME[wanted], data=data, meta=meta)
