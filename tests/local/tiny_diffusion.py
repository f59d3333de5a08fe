"""Tiny random-weight diffusers pipelines built in the tests (no hub).

- ``build_sd``: a Stable Diffusion 1.x-shaped pipeline (UNet, VAE and CLIP text encoder a
  few channels wide, an offline CLIP tokenizer made from a vocabulary dict).
- ``build_shap_e`` / ``build_shap_e_img2img``: Shap-E text→3D and image→3D pipelines with a
  tiny prior and encoders. A fresh ``ShapERenderer`` has an all-zero marching-cubes table
  (real checkpoints carry it) and a random SDF without a surface, so both are filled here:
  the table by the construction in ``marching_cubes_table``, and the renderer's projection
  so that every latent decodes to the same blob (``cos x + cos y + cos z > 2.6``) coloured
  by position. Latents then still flow through the whole pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

CHARACTERS = [chr(c) for c in range(ord("!"), ord("~") + 1)]
SEED = 0


# --- tokenizer ----------------------------------------------------------------------------
def clip_tokenizer(max_length: int = 16) -> Any:
    """A CLIP BPE tokenizer without merges: one token per printable ASCII character."""
    from transformers import CLIPTokenizer

    tokens = ["<|startoftext|>", "<|endoftext|>"] + CHARACTERS + [c + "</w>" for c in CHARACTERS]
    vocab = {token: index for index, token in enumerate(tokens)}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=max_length)


def _text_config(width: int, vocab_size: int) -> Any:
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=width,
        projection_dim=width,
        intermediate_size=width * 2,
        num_attention_heads=2,
        num_hidden_layers=2,
        max_position_embeddings=32,
        vocab_size=vocab_size,
    )


# --- Stable Diffusion --------------------------------------------------------------------
def build_sd(
    dest: Path,
    *,
    unet_widths: tuple[int, ...] = (8, 16),
    vae_widths: tuple[int, ...] = (4, 8),
    text_width: int = 16,
    sample_size: int = 32,
) -> Path:
    """A tiny ``StableDiffusionPipeline`` (default size 64x64: sample_size 32, VAE factor 2).

    The widths make it bigger (the benchmark's, ``bench/generation.py``): one UNet level per
    ``unet_widths`` entry (cross-attention on all but the first), one VAE level per
    ``vae_widths`` entry (each after the first halves the latent), ``text_width`` for the
    text encoder and the cross-attention."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel

    torch.manual_seed(SEED)
    tokenizer = clip_tokenizer()
    unet = UNet2DConditionModel(
        in_channels=4,
        out_channels=4,
        sample_size=sample_size,
        block_out_channels=unet_widths,
        layers_per_block=1,
        down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (len(unet_widths) - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (len(unet_widths) - 1) + ("UpBlock2D",),
        cross_attention_dim=text_width,
        attention_head_dim=4,
        norm_num_groups=4,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=vae_widths,
        down_block_types=("DownEncoderBlock2D",) * len(vae_widths),
        up_block_types=("UpDecoderBlock2D",) * len(vae_widths),
        latent_channels=4,
        norm_num_groups=2,
        sample_size=sample_size * 2 ** (len(vae_widths) - 1),
    )
    text_encoder = CLIPTextModel(_text_config(text_width, len(tokenizer)))
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )
    pipe = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(dest)
    return dest


# --- Shap-E ------------------------------------------------------------------------------
def _cube_edges() -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The 12 edges of a cube in ``MeshDecoder``'s order: 4 along x (y, then z varying),
    4 along y (x, then z), 4 along z (x, then y)."""
    edges = []
    for axis in range(3):
        first, second = (a for a in range(3) if a != axis)
        for hi in (0, 1):
            for lo in (0, 1):
                start = [0, 0, 0]
                start[first], start[second] = lo, hi
                end = list(start)
                end[axis] = 1
                edges.append((tuple(start), tuple(end)))
    return edges


def _cube_faces() -> list[list[tuple[int, ...]]]:
    """The 6 faces, each as its 4 corners in counter-clockwise order seen from outside."""
    faces = []
    for axis in range(3):
        u, v = (a for a in range(3) if a != axis)
        for side in (0, 1):
            ring = []
            for a, b in ((0, 0), (1, 0), (1, 1), (0, 1)):
                p = [0, 0, 0]
                p[axis], p[u], p[v] = side, a, b
                ring.append(tuple(p))
            pts = np.array(ring, dtype=float)
            normal = np.cross(pts[1] - pts[0], pts[2] - pts[1])
            if normal[axis] * (1 if side else -1) < 0:
                ring.reverse()
            faces.append(ring)
    return faces


def marching_cubes_table() -> tuple[np.ndarray, np.ndarray]:
    """``cases`` (256, 5, 3) and ``masks`` (256, 5) as ``MeshDecoder`` reads them.

    Bit ``x + 2y + 4z`` of a case is set when that corner is inside (field > 0). On each face
    the crossed edges are joined around each run of inside corners (so an ambiguous face
    keeps its inside corners apart, the same way from both cubes sharing it: the surface is
    closed); the directed segments chain into loops, and each loop is fanned into triangles
    wound so that normals point outwards.
    """
    edges = _cube_edges()
    edge_of = {frozenset(e): i for i, e in enumerate(edges)}
    faces = _cube_faces()
    cases = np.zeros((256, 5, 3), dtype=np.int64)
    masks = np.zeros((256, 5), dtype=bool)
    for case in range(256):

        def inside(p: tuple[int, ...], case: int = case) -> bool:
            return bool(case >> (p[0] + 2 * p[1] + 4 * p[2]) & 1)

        following: dict[int, int] = {}
        for ring in faces:
            crossings = [
                (edge_of[frozenset((a, b))], inside(b))
                for a, b in zip(ring, ring[1:] + ring[:1], strict=True)
                if inside(a) != inside(b)
            ]
            if not crossings:
                continue
            while not crossings[0][1]:  # start at an edge where the walk enters
                crossings.append(crossings.pop(0))
            for k in range(0, len(crossings), 2):
                following[crossings[k][0]] = crossings[k + 1][0]
        triangles: list[tuple[int, int, int]] = []
        while following:
            start, edge = following.popitem()
            loop = [start]
            while edge != start:
                loop.append(edge)
                edge = following.pop(edge)
            triangles += [(loop[0], loop[i + 1], loop[i]) for i in range(1, len(loop) - 1)]
        for index, triangle in enumerate(triangles):
            cases[case, index] = triangle
            masks[case, index] = True
    return cases, masks


def _renderer(latent_width: int, hidden: int = 8) -> Any:
    """A ``ShapERenderer`` whose projected MLP is fixed: a closed blob, coloured by x, y, z."""
    import torch
    from diffusers.pipelines.shap_e import ShapERenderer

    shapes = ((hidden, 93), (hidden, hidden), (hidden, hidden), (hidden, hidden))
    renderer = ShapERenderer(
        param_shapes=shapes,
        d_latent=latent_width,
        d_hidden=hidden,
        n_output=12,
        background=(0.1, 0.1, 0.1),
    )
    cases, masks = marching_cubes_table()
    lift = 10.0  # keeps the carried values where SiLU is the identity, near enough
    with torch.no_grad():
        # Projected weights are bias + LayerNorm(latent @ W); with W = 0 they are the bias.
        first = torch.zeros(shapes[0])
        first[0, 48:51] = 1.0  # cos x + cos y + cos z (position encoding, degree 0)
        first[1:4, 0:3] = torch.eye(3)  # x, y, z
        carry = torch.zeros(hidden, hidden)
        carry[:4, :4] = torch.eye(4)
        for index, weight in enumerate((first, carry, carry, carry)):
            proj = renderer.params_proj.projections[f"nerstf__mlp__{index}__weight"]
            proj.proj.weight.zero_()
            proj.proj.bias.copy_(weight.reshape(-1))
            proj.norm.bias.zero_()
        layers = renderer.mlp.mlp
        for index, layer in enumerate(layers):
            layer.bias.zero_()
            if index >= 4:  # not projected: carry on (layer 4 also sees the direction)
                layer.weight.zero_()
                if index < len(layers) - 1:
                    layer.weight[:4, :4] = torch.eye(4)
        layers[0].bias[:4] = torch.tensor([lift - 2.6, lift, lift, lift])
        last = layers[-1]
        last.weight[0, 0] = 1.0  # signed distance: positive inside the blob
        last.bias[0] = -lift
        for channel in range(3):  # stf colours: sigmoid(4 * coordinate)
            last.weight[3 + channel, 1 + channel] = 4.0
            last.bias[3 + channel] = -4.0 * lift
        renderer.mesh_decoder.cases.copy_(torch.from_numpy(cases))
        renderer.mesh_decoder.masks.copy_(torch.from_numpy(masks))
    return renderer


def _prior(width: int, condition_width: int) -> Any:
    from diffusers import PriorTransformer

    return PriorTransformer(
        num_attention_heads=2,
        attention_head_dim=8,
        embedding_dim=width,
        num_embeddings=32,  # = the rows of the renderer's param_shapes
        embedding_proj_dim=condition_width,
        time_embed_dim=32,
        num_layers=1,
        clip_embed_dim=width * 2,
        additional_embeddings=0,
        time_embed_act_fn="gelu",
        norm_in_type="layer",
        encoder_hid_proj_type=None,
        added_emb_type=None,
    )


def _shap_e_scheduler() -> Any:
    from diffusers import HeunDiscreteScheduler

    return HeunDiscreteScheduler(
        beta_schedule="exp",
        num_train_timesteps=1024,
        prediction_type="sample",
        use_karras_sigmas=True,
        clip_sample=True,
        clip_sample_range=1.0,
    )


def build_shap_e(dest: Path) -> Path:
    """A tiny text→3D ``ShapEPipeline``."""
    import torch
    from diffusers import ShapEPipeline
    from transformers import CLIPTextModelWithProjection

    torch.manual_seed(SEED)
    tokenizer = clip_tokenizer()
    pipe = ShapEPipeline(
        prior=_prior(16, 16),
        text_encoder=CLIPTextModelWithProjection(_text_config(16, len(tokenizer))),
        tokenizer=tokenizer,
        scheduler=_shap_e_scheduler(),
        shap_e_renderer=_renderer(16),
    )
    pipe.save_pretrained(dest)
    return dest


def build_shap_e_img2img(dest: Path) -> Path:
    """A tiny image→3D ``ShapEImg2ImgPipeline`` (CLIP vision encoder on 32x32 inputs)."""
    import torch
    from diffusers import ShapEImg2ImgPipeline
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(SEED)
    encoder = CLIPVisionModel(
        CLIPVisionConfig(
            hidden_size=16,
            projection_dim=16,
            intermediate_size=32,
            num_attention_heads=2,
            num_hidden_layers=2,
            image_size=32,
            patch_size=8,
            num_channels=3,
        )
    )
    processor = CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}, resample=3
    )
    pipe = ShapEImg2ImgPipeline(
        prior=_prior(16, 16),
        image_encoder=encoder,
        image_processor=processor,
        scheduler=_shap_e_scheduler(),
        shap_e_renderer=_renderer(16),
    )
    pipe.save_pretrained(dest)
    return dest


def write_png(dest: Path, size: tuple[int, int] = (48, 40)) -> Path:
    """A small gradient picture to feed image-to-image and image-to-3D."""
    from PIL import Image

    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float64)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.float64)[:, None].repeat(width, 1)
    rgb = np.stack([x, y, np.full_like(x, 128.0)], axis=-1)
    Image.fromarray(rgb.astype(np.uint8), "RGB").save(dest)
    return dest
