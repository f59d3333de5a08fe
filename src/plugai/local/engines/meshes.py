"""Meshes out of a 3D engine: a trimesh mesh with vertex colours, exported as GLB, OBJ or
PLY, and a small preview PNG drawn on the CPU.

The preview is a flat-shaded orthographic view drawn face by face, far to near (the
painter's algorithm) with Pillow: a fraction of a second even for the ~100k faces of a
128³ grid, where rendering the model itself (Shap-E's NeRF) would take far longer on a CPU.
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
    from PIL import Image, ImageDraw

    scale_up = 2  # drawn at twice the size, then shrunk: smooth edges
    canvas = size * scale_up
    image = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    faces = np.asarray(mesh.faces)
    if len(faces):
        seen = _view(mesh.vertices)
        low, high = seen[:, :2].min(axis=0), seen[:, :2].max(axis=0)
        fit = 0.9 * canvas / max(float((high - low).max()), 1e-9)
        middle = (low + high) / 2
        xy = (seen[:, :2] - middle) * fit * np.array([1.0, -1.0]) + canvas / 2
        triangles = seen[faces]
        normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
        lengths = np.linalg.norm(normals, axis=1, keepdims=True)
        toward = np.array(_LIGHT) / np.linalg.norm(_LIGHT)
        light = np.abs((normals / np.maximum(lengths, 1e-12)) @ toward)
        colors = np.asarray(mesh.visual.vertex_colors, dtype=np.float64)[faces, :3].mean(axis=1)
        shaded = (colors * (0.35 + 0.65 * light)[:, None]).clip(0, 255).astype(np.uint8)
        draw = ImageDraw.Draw(image)
        for face in np.argsort(triangles[:, :, 2].mean(axis=1)):  # far to near
            corners = [tuple(point) for point in xy[faces[face]].tolist()]
            draw.polygon(corners, fill=(*shaded[face].tolist(), 255))
    image = image.resize((size, size), Image.Resampling.LANCZOS)
    image.save(path, "PNG")
