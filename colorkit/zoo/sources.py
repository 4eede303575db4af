"""Where a pretrained model's weights come from, and getting them onto this machine, checked.

A source is one string:

- ``package:MODULE/PATH``: a file shipped inside an installed Python package (the built-in models);
- ``hf://OWNER/REPO/FILE@REVISION``: a file of a Hugging Face Hub repository, fetched through
  ``huggingface_hub`` into its usual cache (``HF_HOME``), at a pinned revision;
- ``file:///ABSOLUTE/PATH``: a local file, for mirrors and tests.

Every file is checked against the card's sha256 before it is used. A downloaded file that does
not match is deleted and reported; a packaged one means the installation is damaged.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from colorkit.errors import WeightsUnavailableError


def fetch_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the weights could not be downloaded or found" (not programming errors).

    huggingface_hub's errors (offline mode, missing cache entry, HTTP status) are OSError or
    ConnectionError subclasses; torch.hub / urllib raise URLError (an OSError); timeouts and httpx's
    transport errors are covered explicitly.
    """
    errors: list[type[BaseException]] = [OSError, ConnectionError, TimeoutError]
    try:
        import httpx

        errors.append(httpx.TransportError)
    except ImportError:  # pragma: no cover - httpx is a huggingface_hub dependency
        pass
    try:
        import requests

        errors.append(requests.exceptions.RequestException)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


@dataclass(frozen=True)
class Source:
    """A parsed weights source."""

    kind: str  # "package", "hf" or "file"
    location: str  # MODULE/PATH, OWNER/REPO/FILE, or an absolute path
    revision: str | None = None

    @property
    def downloads(self) -> bool:
        return self.kind == "hf"


def parse_source(text: str) -> Source:
    """Parse a source string; a ValueError says what the three forms look like."""
    forms = "package:MODULE/PATH, hf://OWNER/REPO/FILE@REVISION or file:///ABSOLUTE/PATH"
    if not isinstance(text, str):
        raise ValueError(f"a weights source is a string ({forms}), got {text!r}")
    if text.startswith("package:"):
        module, _, path = text[len("package:"):].partition("/")
        if not module or not path:
            raise ValueError(f"source {text!r}: expected package:MODULE/PATH")
        return Source("package", f"{module}/{path}")
    if text.startswith("hf://"):
        rest, _, revision = text[len("hf://"):].partition("@")
        parts = rest.split("/")
        if len(parts) < 3 or not all(parts) or not revision:
            raise ValueError(f"source {text!r}: expected hf://OWNER/REPO/FILE@REVISION (a pinned revision: a commit, tag or branch)")
        return Source("hf", rest, revision)
    if text.startswith("file://"):
        url = urlparse(text)
        path = unquote(url.path)
        if url.netloc not in ("", "localhost") or not os.path.isabs(path):
            raise ValueError(f"source {text!r}: expected file:///ABSOLUTE/PATH")
        return Source("file", path)
    raise ValueError(f"source {text!r}: expected {forms}")


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def local_path(source: Source) -> Path | None:
    """Where the weights are on this machine without downloading (None: not there yet)."""
    if source.kind == "package":
        module, _, path = source.location.partition("/")
        try:
            root = importlib.resources.files(module)
        except ModuleNotFoundError:
            return None
        candidate = Path(str(root.joinpath(path)))
        return candidate if candidate.is_file() else None
    if source.kind == "file":
        return Path(source.location) if Path(source.location).is_file() else None
    from huggingface_hub import try_to_load_from_cache

    repo, filename = _hf_parts(source)
    found = try_to_load_from_cache(repo_id=repo, filename=filename, revision=source.revision)
    return Path(found) if isinstance(found, str) else None


def _hf_parts(source: Source) -> tuple[str, str]:
    owner, repo, *path = source.location.split("/")
    return f"{owner}/{repo}", "/".join(path)


def fetch(name: str, text: str, sha256: str) -> Path:
    """The weights of model ``name`` on this machine, downloading them if needed, checked against ``sha256``."""
    source = parse_source(text)
    path = local_path(source)
    if path is None:
        path = _download(name, text, source)
    actual = sha256_of(path)
    if actual != sha256:
        if source.downloads:
            path.unlink(missing_ok=True)
            raise WeightsUnavailableError(
                f"model '{name}': the weights from {text} have sha256 {actual[:12]}..., the card says {sha256[:12]}...; "
                f"the file was deleted; try again with `colorkit models fetch {name}`"
            )
        raise WeightsUnavailableError(
            f"model '{name}': {path} has sha256 {actual[:12]}..., the card says {sha256[:12]}...; the file is damaged "
            "or was replaced: reinstall the package that provides it"
        )
    return path


def _download(name: str, text: str, source: Source) -> Path:
    if source.kind != "hf":
        raise WeightsUnavailableError(
            f"model '{name}': its weights {text} are not on this machine; reinstall the package that provides them"
            if source.kind == "package"
            else f"model '{name}': no file at {source.location} (source {text})"
        )
    from huggingface_hub import constants, hf_hub_download

    repo, filename = _hf_parts(source)
    offline = constants.HF_HUB_OFFLINE
    try:
        return Path(hf_hub_download(repo_id=repo, filename=filename, revision=source.revision))
    except fetch_errors() as exc:
        why = "HF_HUB_OFFLINE is set" if offline else f"{type(exc).__name__}: {' '.join(str(exc).split())[:100]}"
        raise WeightsUnavailableError(
            f"model '{name}': cannot download {text} ({why}); with internet access run `colorkit models fetch {name}` "
            "once (unset HF_HUB_OFFLINE), after that it works offline from the Hugging Face cache (HF_HOME)"
        ) from None
