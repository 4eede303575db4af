"""Test-suite settings: never reach a model hub, and keep torch to the machine's cores."""

import functools
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


@pytest.fixture(scope="module")
def one_thread():
    """torch on one thread for a whole module (``pytestmark = pytest.mark.usefixtures("one_thread")``):
    tiny nets run fastest so on these shared cores, and bitwise comparisons across processes need the
    same thread count."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    """Caches (decoded images, masks) go to a folder of this test session, never the user's."""
    os.environ["COLORKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("colorkit-cache"))


@functools.cache
def _builtin_names() -> dict[str, list[str]]:
    """Registered names of the built-ins (no installed plugin), by the test argument that takes them."""
    from colorkit.contracts import DISCRIMINATOR, model_role
    from colorkit.plugins import create_host

    host = create_host(entry_points=False)
    discriminators = [n for n in host.models.names() if model_role(host.models.get(n).factory) == DISCRIMINATOR]
    return {
        "builtin_model": [n for n in host.models.names() if n not in discriminators],
        "builtin_discriminator": discriminators,
        "builtin_loss": host.losses.names(),
    }


def pytest_generate_tests(metafunc):
    """A test taking ``builtin_model``, ``builtin_discriminator`` or ``builtin_loss`` runs once per
    built-in name of that kind. The names come from the built-ins alone, read at collection, so which
    tests exist never depends on what is installed; installed plugins are checked by tests that
    take ``colorkit_host``."""
    for arg, names in _builtin_names().items():
        if arg in metafunc.fixturenames:
            metafunc.parametrize(arg, names)
