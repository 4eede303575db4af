"""The embedded default data: public-domain photos that ship inside installed dependencies.

scikit-image bundles NASA's astronaut portrait (Eileen Collins) and a few colour scenes; matplotlib
bundles the U.S. Navy portrait of Grace Hopper. Nothing is downloaded, so a fresh install can train
at once. Six photos are far too few to measure anything: they are for a first run and for tests.
"""

from __future__ import annotations

from pathlib import Path

from colorkit.errors import ColorkitError

VALIDATION = ("astronaut", "grace_hopper")
"""Portraits used for the sample grids; training sees random crops of every photo, these included."""


def sample_photos() -> dict[str, Path]:
    """Name -> path of each embedded photo, people first."""
    import matplotlib
    import skimage

    skdata = Path(skimage.__file__).parent / "data"
    mpldata = Path(matplotlib.get_data_path()) / "sample_data"
    photos = {
        "astronaut": skdata / "astronaut.png",
        "grace_hopper": mpldata / "grace_hopper.jpg",
        "coffee": skdata / "coffee.png",
        "chelsea": skdata / "chelsea.png",
        "rocket": skdata / "rocket.jpg",
        "motorcycle": skdata / "motorcycle_left.png",
    }
    missing = [str(p) for p in photos.values() if not p.is_file()]
    if missing:
        raise ColorkitError(f"embedded sample photos are missing from the installed packages: {', '.join(missing)}")
    return photos
