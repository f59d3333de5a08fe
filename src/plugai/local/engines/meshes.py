"""Meshes out of a 3D engine: a trimesh mesh with vertex colours, exported as GLB, OBJ or
PLY, and a small preview PNG drawn on the CPU.

The preview is a flat-shaded orthographic view, z-buffered and rasterized with numpy (all
faces of one bounding-box size at once; ~0.1 s for the ~30k faces of a 64³ grid at 512²,
then shrunk to 256² for smooth edges), where rendering the model itself (Shap-E's NeRF)
would take far longer on a CPU. A request may skip it (``preview: false``).
numpy, trimesh and Pillow are imported where used: the gateway imports this module (through
the engine registry) and should not pay for them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plugai.core.meshes import MESH_MIME

if TYPE_CHECKING:
    import numpy as np

PREVIEW_SIZE = 256
_VIEW_YAW, _VIEW_PITCH = math.radians(35), math.radians(20)
Z_UP_TO_Y_UP = ((1, 0, 0, 0), (0, 0, 1, 0), (0, -1, 0, 0), (0, 0, 0, 1))
_LIGHT = (0.35, 0.6, 1.0)


def colored_mesh(vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray | None) -> Any:
    """A mesh from a Z-up generator, turned Y-up (glTF's convention, which viewers assume)
    and wound so that its normals point outwards. ``colors`` are RGB in 0..1 per vertex."""
    import numpy as np
    import trimesh

    rgba = None
    if colors is not None:
        rgb = np.clip(np.asarray(colors, dtype=np.float64), 0.0, 1.0)
        rgba = np.concatenate([rgb * 255.0, np.full((len(rgb), 1), 255.0)], axis=1)
        rgba = rgba.round().astype(np.uint8)
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, vertex_colors=rgba, process=False)
    mesh.apply_transform(np.array(Z_UP_TO_Y_UP, dtype=np.float64))
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def export_mesh(mesh: Any, path: Path, fmt: str) -> None:
    """Write ``mesh`` in ``fmt`` (glb, obj or ply) with its vertex colours."""
    if fmt not in MESH_MIME:
        raise ValueError(f"unknown mesh format {fmt!r}")
    mesh.export(file_obj=str(path), file_type=fmt)


def _view(vertices: np.ndarray) -> np.ndarray:
    """Vertices seen from front-right and a little above (x right, y up, z to the viewer)."""
    import numpy as np

    cy, sy = math.cos(_VIEW_YAW), math.sin(_VIEW_YAW)
    cp, sp = math.cos(_VIEW_PITCH), math.sin(_VIEW_PITCH)
    yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    return np.asarray(np.asarray(vertices, dtype=np.float64) @ (pitch @ yaw).T)


def write_preview(mesh: Any, path: Path, size: int = PREVIEW_SIZE) -> None:
    """A square PNG of ``mesh`` on a transparent background."""
    import numpy as np
    from PIL import Image

    scale_up = 2  # drawn at twice the size, then shrunk: smooth edges
    canvas = size * scale_up
    pixels = np.zeros((canvas * canvas, 4), dtype=np.uint8)
    faces = np.asarray(mesh.faces)
    if len(faces):
        seen = _view(mesh.vertices)
        low, high = seen[:, :2].min(axis=0), seen[:, :2].max(axis=0)
        fit = 0.9 * canvas / max(float((high - low).max()), 1e-9)
        middle = (low + high) / 2
        xy = (seen[:, :2] - middle) * fit * np.array([1.0, -1.0]) + canvas / 2
        on_screen = np.concatenate([xy, seen[:, 2:]], axis=1)[faces]  # x, y, depth
        triangles = seen[faces]
        normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
        lengths = np.linalg.norm(normals, axis=1, keepdims=True)
        toward = np.array(_LIGHT) / np.linalg.norm(_LIGHT)
        light = np.abs((normals / np.maximum(lengths, 1e-12)) @ toward)
        colors = np.asarray(mesh.visual.vertex_colors, dtype=np.float64)[faces, :3].mean(axis=1)
        shaded = (colors * (0.35 + 0.65 * light)[:, None]).clip(0, 255).astype(np.uint8)
        where, face = _rasterize(on_screen, canvas)
        pixels[where, :3] = shaded[face]
        pixels[where, 3] = 255
    image = Image.fromarray(pixels.reshape(canvas, canvas, 4), "RGBA")
    image = image.resize((size, size), Image.Resampling.LANCZOS)
    image.save(path, "PNG", compress_level=1)  # fast; a preview is small


def _rasterize(triangles: np.ndarray, canvas: int) -> tuple[np.ndarray, np.ndarray]:
    """Z-buffered triangles: for each covered pixel (flat index) the nearest face.

    ``triangles`` is (faces, 3 corners, x/y/depth) in pixels, depth growing toward the
    viewer. Every face is tested against the pixel centres of its bounding box, all faces
    with the same box size at once (a marching-cubes mesh is tens of
    thousands of faces of a few pixels each, where drawing them one by one in Python would
    cost a tenth of a second).
    """
    import numpy as np

    tri = triangles.astype(np.float32)
    backwards = _doubled_area(tri) < 0  # one winding for all: swap two corners
    tri[backwards] = tri[backwards][:, [0, 2, 1]]
    first = np.floor(tri[:, :, :2].min(axis=1)).astype(np.int64)
    span = np.maximum(np.ceil(tri[:, :, :2].max(axis=1)).astype(np.int64) - first, 1)
    key = span[:, 0] * (int(span[:, 1].max()) + 1) + span[:, 1]  # faces with one (w, h)
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    found_pixel, found_depth, found_face = [], [], []
    for group in np.split(order, bounds):
        width, height = (int(v) for v in span[group[0]])
        step = max(1, 1_000_000 // (width * height))  # bounded memory per pass
        for part in range(0, len(group), step):
            faces = group[part : part + step]
            pixel, depth, face = _cover(tri[faces], first[faces], (width, height), canvas)
            found_pixel.append(pixel)
            found_depth.append(depth)
            found_face.append(faces[face])
    pixel = np.concatenate(found_pixel)
    depth = np.concatenate(found_depth)
    face = np.concatenate(found_face)
    nearest = np.full(canvas * canvas, -np.inf, dtype=np.float32)
    np.maximum.at(nearest, pixel, depth)
    winner = depth == nearest[pixel]
    return pixel[winner], face[winner]


def _doubled_area(tri: np.ndarray) -> np.ndarray:
    (x0, y0), (x1, y1), (x2, y2) = (tri[:, corner, :2].T for corner in range(3))
    area: np.ndarray = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
    return area


def _cover(
    tri: np.ndarray, first: np.ndarray, window: tuple[int, int], canvas: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pixels inside each (counter-clockwise) triangle within its window from
    ``first``: flat pixel index, interpolated depth and the triangle's index in ``tri``."""
    import numpy as np

    width, height = window
    px = (first[:, 0, None] + np.arange(width) + 0.5).astype(np.float32)[:, None, :]
    py = (first[:, 1, None] + np.arange(height) + 0.5).astype(np.float32)[:, :, None]
    inside = ((px >= 0) & (px < canvas)) & ((py >= 0) & (py < canvas))
    weights = []
    for a, b in ((1, 2), (2, 0), (0, 1)):  # edge a→b: >= 0 on the inner side
        xa, ya = tri[:, a, 0, None, None], tri[:, a, 1, None, None]
        dx, dy = tri[:, b, 0, None, None] - xa, tri[:, b, 1, None, None] - ya
        weight = (dx * py - dx * ya) - (dy * px - dy * xa)  # (h, 1) part + (1, w) part
        inside &= weight >= 0
        weights.append(weight)
    area = _doubled_area(tri)
    inside &= (area > 0)[:, None, None]
    which, row, column = np.nonzero(inside)
    w0, w1, w2 = (w[which, row, column] for w in weights)
    depth = (w0 * tri[which, 0, 2] + w1 * tri[which, 1, 2] + w2 * tri[which, 2, 2]) / area[which]
    return (first[which, 1] + row) * canvas + first[which, 0] + column, depth, which
