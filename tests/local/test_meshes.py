"""The mesh helpers of the 3D engines: Y-up outward meshes and the preview PNG's renderer
(real meshes from trimesh, images read back with Pillow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh
from PIL import Image

from plugai.local.engines.meshes import PREVIEW_SIZE, colored_mesh, write_preview

RED, BLUE = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)


def square(z: float, colour: tuple[float, float, float], half: float) -> tuple[Any, Any, Any]:
    vertices = np.array([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    return vertices, faces, np.tile(colour, (4, 1))


def render(mesh: trimesh.Trimesh, tmp_path: Path) -> np.ndarray:
    path = tmp_path / "preview.png"
    write_preview(mesh, path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (PREVIEW_SIZE, PREVIEW_SIZE)
        return np.asarray(image.convert("RGBA"))


def test_a_closed_mesh_is_wound_outwards_and_turned_y_up() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=2)
    inside_out = sphere.faces[:, ::-1]
    tall = sphere.vertices * np.array([1.0, 1.0, 3.0])  # tall along Z, as Shap-E makes it
    mesh = colored_mesh(tall, inside_out, np.full((len(tall), 3), 0.5))
    assert mesh.volume > 0
    extent = mesh.bounds[1] - mesh.bounds[0]
    assert extent[1] == pytest.approx(6.0, rel=1e-6)  # Z became Y
    assert (mesh.visual.vertex_colors[:, :3] == 128).all()


def test_the_preview_shows_the_nearest_surface(tmp_path: Path) -> None:
    """Two squares facing the viewer, the red one nearer and smaller: the centre is red, the
    blue one shows around it, the corners stay transparent."""
    near = square(0.1, RED, 0.5)
    far = square(-0.1, BLUE, 1.0)
    vertices = np.concatenate([far[0], near[0]])
    faces = np.concatenate([far[1], near[1] + 4])
    colours = np.concatenate([far[2], near[2]])
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    mesh.visual.vertex_colors = np.concatenate([colours * 255, np.full((8, 1), 255)], axis=1)
    for drawn in (mesh, trimesh.Trimesh(vertices, faces[:, ::-1], process=False)):
        if drawn is not mesh:  # the other winding draws the same
            drawn.visual.vertex_colors = mesh.visual.vertex_colors
        pixels = render(drawn, tmp_path)
        middle = pixels[PREVIEW_SIZE // 2, PREVIEW_SIZE // 2]
        assert middle[3] == 255
        assert middle[0] > 0 and middle[2] == 0  # red (shaded), no blue
        rows, columns = np.nonzero(pixels[:, :, 3] == 255)
        blue = pixels[rows, columns, 2] > 0
        assert blue.any() and (~blue).any()
        assert pixels[0, 0, 3] == 0 and pixels[-1, -1, 3] == 0


def test_a_sphere_is_a_solid_disc(tmp_path: Path) -> None:
    sphere = trimesh.creation.icosphere(subdivisions=4)
    mesh = colored_mesh(sphere.vertices, sphere.faces, np.full((len(sphere.vertices), 3), 0.8))
    alpha = render(mesh, tmp_path)[:, :, 3]
    centre = (PREVIEW_SIZE - 1) / 2
    y, x = np.mgrid[:PREVIEW_SIZE, :PREVIEW_SIZE]
    distance = np.hypot(x - centre, y - centre)
    radius = 0.45 * PREVIEW_SIZE  # fit: 90 % of the side
    assert (alpha[distance < 0.95 * radius] == 255).all()  # no holes between faces
    assert (alpha[distance > 1.05 * radius] == 0).all()


def test_an_empty_mesh_draws_an_empty_picture(tmp_path: Path) -> None:
    empty = trimesh.Trimesh(vertices=np.zeros((0, 3)), faces=np.zeros((0, 3), dtype=np.int64))
    assert not render(empty, tmp_path)[:, :, 3].any()
