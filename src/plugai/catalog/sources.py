"""Turning a download source into a plan: the model's name and format and the files to
fetch, with the sizes the source reports (space is reserved from them before any byte
moves) and their sha256 where the source publishes one.

``http(s)://…/model.gguf`` is one file; ``hf://org/repo`` lists the repository through
``huggingface_hub`` (so ``HF_ENDPOINT`` mirrors and tokens work as with any HF tool) and
pins the resolved commit, so that a download resumed after a restart gets the same bytes.
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import aiohttp

from plugai.catalog.fetch import RemoteFile
from plugai.core.errors import InvalidRequest, NotFound, PermissionDenied, UpstreamUnavailable

SPLIT = re.compile(r"-\d{5}-of-\d{5}$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    format: str  # gguf | safetensors | diffusers
    modality: str
    files: list[RemoteFile]
    revision: str | None = None

    @property
    def total_size(self) -> int:
        return sum(f.size or 0 for f in self.files)


def model_name(requested: str | None, fallback: str) -> str:
    name = requested or fallback
    if not NAME.match(name):
        raise InvalidRequest(
            f"{name!r} is not a usable model name (letters, digits, '.', '_', '-').", param="name"
        )
    return name


def _format_of(paths: list[str]) -> tuple[str, str]:
    names = {PurePosixPath(p).name for p in paths}
    if "model_index.json" in names:
        return "diffusers", "image"
    if "config.json" in names and any(p.endswith(".safetensors") for p in paths):
        return "safetensors", "text"
    if any(p.endswith(".gguf") for p in paths):
        return "gguf", "text"
    raise InvalidRequest(
        "The selected files are not a GGUF, safetensors or diffusers model.", param="files"
    )


async def http_plan(
    session: aiohttp.ClientSession, url: str, name: str | None, sha256: str | None
) -> Plan:
    """One file; its size from a HEAD request (None when the server does not say)."""
    filename = unquote(PurePosixPath(urlsplit(url).path).name)
    if not filename:
        raise InvalidRequest("The URL does not name a file.", param="source")
    fmt, modality = _format_of([filename])
    if fmt != "gguf":
        raise InvalidRequest("A URL source must be a .gguf file.", param="source")
    try:
        async with session.head(
            url, allow_redirects=True, timeout=aiohttp.ClientTimeout(total=30)
        ) as r:
            if r.status == 404:
                raise NotFound(f"The source has no file at {url}.", param="source")
            if r.status in (401, 403):
                raise PermissionDenied(f"The source refused access ({r.status}).", param="source")
            size = r.content_length if r.status == 200 else None
    except aiohttp.ClientError as exc:
        raise UpstreamUnavailable(f"Cannot reach the source: {exc}") from exc
    stem = SPLIT.sub("", PurePosixPath(filename).stem)
    remote = RemoteFile(path=filename, url=url, size=size, sha256=sha256)
    return Plan(model_name(name, stem), fmt, modality, [remote])


def hf_plan_sync(
    repo: str,
    *,
    revision: str | None,
    patterns: list[str],
    name: str | None,
    endpoint: str | None,
    token: str | None,
) -> Plan:
    """Blocking (``huggingface_hub`` is synchronous): run it in a thread."""
    from huggingface_hub import HfApi, hf_hub_url
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    api = HfApi(endpoint=endpoint, token=token or False)  # the files are fetched with it too
    try:
        info = api.model_info(repo, revision=revision, files_metadata=True)
    except GatedRepoError as exc:
        raise PermissionDenied(
            f"{repo} is gated: store your Hugging Face token (/v1/me/keys, 'huggingface').",
            param="source",
        ) from exc
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise NotFound(f"The hub has no {repo} at {revision or 'main'}.", param="source") from exc
    except HfHubHTTPError as exc:
        raise UpstreamUnavailable(f"The hub answered: {exc}") from exc
    except OSError as exc:
        raise UpstreamUnavailable(f"Cannot reach the hub: {exc}") from exc
    commit = info.sha or revision or "main"
    files: list[RemoteFile] = []
    for sibling in info.siblings or []:
        path = sibling.rfilename
        if patterns and not any(fnmatch.fnmatch(path, p) for p in patterns):
            continue
        lfs = sibling.lfs
        files.append(
            RemoteFile(
                path=path,
                url=hf_hub_url(repo, path, revision=commit, endpoint=endpoint),
                size=lfs.size if lfs is not None else sibling.size,
                sha256=lfs.sha256 if lfs is not None else None,
            )
        )
    if not files:
        raise InvalidRequest(f"No file of {repo} matches {patterns}.", param="files")
    fmt, modality = _format_of([f.path for f in files])
    ggufs = sorted({SPLIT.sub("", PurePosixPath(f.path).stem) for f in files if fmt == "gguf"})
    fallback = ggufs[0] if len(ggufs) == 1 else repo.split("/")[-1]
    return Plan(model_name(name, fallback), fmt, modality, files, commit)


async def hf_plan(
    repo: str,
    *,
    revision: str | None,
    patterns: list[str],
    name: str | None,
    endpoint: str | None,
    token: str | None,
) -> Plan:
    return await asyncio.to_thread(
        hf_plan_sync,
        repo,
        revision=revision,
        patterns=patterns,
        name=name,
        endpoint=endpoint,
        token=token,
    )
