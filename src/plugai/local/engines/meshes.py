"""Meshes out of a 3D engine: a trimesh mesh with vertex colours, exported as GLB, OBJ or
PLY, and a small preview PNG drawn on the CPU.

The preview is a flat-shaded orthographic view, z-buffered and rasterized with numpy (all
faces of one bounding-box size at once; ~0.1 s for the ~130k faces of a 128³ grid at 512²,
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
    and wound so that its normals point outwards. ``colors`` are RGB in 0..1 per vertex.

    Done in numpy before trimesh sees the mesh: trimesh's own transform and volume work
    through its cached mass properties, several times slower on a 100k-face mesh."""
    import numpy as np
    import trimesh

    rgba = None
    if colors is not None:
        rgb = np.clip(np.asarray(colors, dtype=np.float64), 0.0, 1.0)
        rgba = np.concatenate([rgb * 255.0, np.full((len(rgb), 1), 255.0)], axis=1)
        rgba = rgba.round().astype(np.uint8)
    turn = np.array(Z_UP_TO_Y_UP, dtype=np.float64)[:3, :3]
    upright = np.asarray(vertices, dtype=np.float64) @ turn.T
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if _signed_volume(upright, faces) < 0:
        faces = faces[:, ::-1]
    return trimesh.Trimesh(vertices=upright, faces=faces, vertex_colors=rgba, process=False)


def _signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Six times the enclosed volume: positive when the faces wind outwards."""
    import numpy as np

    if not len(faces):
        return 0.0
    a, b, c = (vertices[faces[:, corner]] for corner in range(3))
    return float(np.einsum("ij,ij->", a, np.cross(b, c)))


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
        screen = np.empty_like(seen)  # x right, y down (pixels); depth toward the viewer
        screen[:, :2] = (seen[:, :2] - middle) * fit * np.array([1.0, -1.0]) + canvas / 2
        screen[:, 2] = seen[:, 2]
        corners = screen.astype(np.float32).T[:, faces.T]  # (x/y/depth, corner, face)
        where, face = _rasterize(corners, canvas)
        shaded = _shade(seen, faces, np.asarray(mesh.visual.vertex_colors))
        pixels[where, :3] = shaded[face]
        pixels[where, 3] = 255
    image = Image.fromarray(pixels.reshape(canvas, canvas, 4), "RGBA")
    image = image.resize((size, size), Image.Resampling.LANCZOS)
    image.save(path, "PNG", compress_level=1)  # fast; a preview is small


def _shade(seen: np.ndarray, faces: np.ndarray, vertex_colors: np.ndarray) -> np.ndarray:
    """Each face's colour (its corners' mean) lit by its normal: flat shading."""
    import numpy as np

    a, b, c = (seen[faces[:, corner]] for corner in range(3))
    normals = np.cross(b - a, c - a)
    lengths = np.sqrt(np.einsum("ij,ij->i", normals, normals))
    toward = np.array(_LIGHT) / np.linalg.norm(_LIGHT)
    light = np.abs(normals @ toward) / np.maximum(lengths, 1e-12)
    rgb = vertex_colors[:, :3].astype(np.float32)
    colors = (rgb[faces[:, 0]] + rgb[faces[:, 1]] + rgb[faces[:, 2]]) / 3
    shaded: np.ndarray = (colors * (0.35 + 0.65 * light)[:, None]).clip(0, 255).astype(np.uint8)
    return shaded


def _rasterize(corners: np.ndarray, canvas: int) -> tuple[np.ndarray, np.ndarray]:
    """Z-buffered triangles: for each covered pixel (flat index) the nearest face.

    ``corners`` is (x/y/depth, 3 corners, faces) in pixels, depth growing toward the
    viewer. Every face is tested against the pixel centres of its bounding box, all faces
    with the same box size at once (a marching-cubes mesh is 30k to 130k faces of a few
    pixels each, where drawing them one by one in Python takes seconds).
    """
    import numpy as np

    backwards = _doubled_area(corners) < 0  # one winding for all: swap two corners
    corners[:, 1:, backwards] = corners[:, :0:-1, backwards]
    x, y = corners[0], corners[1]
    first = np.stack([np.floor(np.minimum(np.minimum(v[0], v[1]), v[2])) for v in (x, y)]).astype(
        np.int64
    )
    last = np.stack([np.ceil(np.maximum(np.maximum(v[0], v[1]), v[2])) for v in (x, y)])
    span = np.maximum(last.astype(np.int64) - first, 1)
    key = span[0] * (int(span[1].max()) + 1) + span[1]  # faces with one box size
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    found_pixel, found_depth, found_face = [], [], []
    for group in np.split(order, bounds):
        width, height = int(span[0, group[0]]), int(span[1, group[0]])
        step = max(1, 1_000_000 // (width * height))  # bounded memory per pass
        for part in range(0, len(group), step):
            faces = group[part : part + step]
            pixel, depth, face = _cover(
                corners[:, :, faces], first[:, faces], (width, height), canvas
            )
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


def _doubled_area(corners: np.ndarray) -> np.ndarray:
    (x0, x1, x2), (y0, y1, y2) = corners[0], corners[1]
    area: np.ndarray = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
    return area


def _cover(
    corners: np.ndarray, first: np.ndarray, window: tuple[int, int], canvas: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pixels inside each (counter-clockwise) triangle within its window from
    ``first``: flat pixel index, interpolated depth and the triangle's index."""
    import numpy as np

    width, height = window
    px = (first[0, :, None] + np.arange(width) + 0.5).astype(np.float32)[:, None, :]
    py = (first[1, :, None] + np.arange(height) + 0.5).astype(np.float32)[:, :, None]
    inside = ((px >= 0) & (px < canvas)) & ((py >= 0) & (py < canvas))
    weights = []
    for a, b in ((1, 2), (2, 0), (0, 1)):  # edge a→b: >= 0 on the inner side
        xa, ya = corners[0, a, :, None, None], corners[1, a, :, None, None]
        dx = corners[0, b, :, None, None] - xa
        dy = corners[1, b, :, None, None] - ya
        weight = (dx * py - dx * ya) - (dy * px - dy * xa)  # (h, 1) part + (1, w) part
        inside &= weight >= 0
        weights.append(weight)
    area = _doubled_area(corners)
    inside &= (area > 0)[:, None, None]
    which, row, column = np.nonzero(inside)
    w0, w1, w2 = (w[which, row, column] for w in weights)
    z = corners[2][:, which]
    depth = (w0 * z[0] + w1 * z[1] + w2 * z[2]) / area[which]
    return (first[1, which] + row) * canvas + first[0, which] + column, depth, which
