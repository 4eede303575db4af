"""Test-suite settings: never reach a model hub, and keep torch to the machine's cores."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TIMM_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

UTKFACE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "utkface"


@pytest.fixture
def utkface() -> Path:
    """The shared UTKFace folder, or a clean skip where it is absent (as on a user's machine)."""
    if not (UTKFACE / "images").is_dir():
        pytest.skip(f"UTKFace not found at {UTKFACE}")
    return UTKFACE


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    """Caches (decoded images, masks) go to a folder of this test session, never the user's."""
    os.environ["COLORKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("colorkit-cache"))
