"""How far a keyframe hint holds in video: PSNR of each frame with hints given on frame 0 and carried
along the motion (issue 15), against no hints, until the next cut.

The clips are :func:`colorkit.video.synthetic.demo_shots` (a pan, a zoom, a pan that cuts halfway),
made from the public-domain sample photos, or a colour clip of your own (``--video``): the clip is its
own truth. ``--hints N`` hints are taken from the truth of frame 0 as ``colorkit evaluate --hints``
takes them from a photo (:mod:`colorkit.hints.truth`: places fixed by the clip's name, the same for
every model; each the mean true ab over a small patch). Both versions run exactly what
``colorkit colorize MODEL clip --hints FILE`` runs (stabilised, hints carried by
:mod:`colorkit.video.hints`); only the hints differ. The table also gives the carried hints' colour
error: the mean ab distance between each hint's colour and the truth under its point on that frame,
which grows when the carrier lets a hint drift off what it was given on.

    python benchmarks/video_hint_hold.py runs/utkface_cunet_mse_hints-20261201-101010 --hints 10 --frames 48
    python benchmarks/video_hint_hold.py MODEL --video clip.mkv --every 1 --json hold.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def hint_error(hints: list, true_ab: np.ndarray) -> float | None:
    """Mean distance (LAB units) between the carried hints' colours and the truth under their points:
    how far the carrier let them drift off what they were given on (None without hints)."""
    if not hints:
        return None
    h, w = true_ab.shape[:2]
    return float(np.mean([np.hypot(*(true_ab[min(int(k.y * h), h - 1), min(int(k.x * w), w - 1)] - np.asarray(k.ab)))
                          for k in hints]))


def hold(colorizer, frames: list[np.ndarray], hints: list, batch_size: int = 8) -> dict:
    """Per frame: PSNR (dB, against the frames themselves) without ``hints``, with them carried, and
    with them on frame 0 only (``min_trust`` above 1 ends every hint after its keyframe: what the
    stabiliser's memory alone keeps of them); the hints carried, their colour error, the cuts."""
    from colorkit.data.lab import rgb_to_lab_np
    from colorkit.metrics import psnr
    from colorkit.video.hints import HintCarrier
    from colorkit.video.pipeline import colour_batch
    from colorkit.video.stabilize import Stabilizer

    class Recording(HintCarrier):
        """Keeps the hints of every frame in ``seen``."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.seen: list[list] = []

        def step(self, motion):
            self.seen.append(super().step(motion))
            return self.seen[-1]

    carrier, keyframe_only = Recording(hints, source="truth"), HintCarrier(hints, source="truth", min_trust=2.0)
    plain, hinted, once = Stabilizer(), Stabilizer(), Stabilizer()
    scores: dict[str, list[float]] = {"none": [], "hints": [], "frame 0 only": []}
    for start in range(0, len(frames), batch_size):
        batch = frames[start : start + batch_size]
        for name, stab, carried in (("none", plain, None), ("hints", hinted, carrier), ("frame 0 only", once, keyframe_only)):
            coloured = colour_batch(colorizer, batch, stab, plain=False, carrier=carried)["stabilised"]
            scores[name] += [psnr(c, f) for c, f in zip(coloured, batch)]
    errors = [hint_error(seen, rgb_to_lab_np(f)[..., 1:]) for seen, f in zip(carrier.seen, frames)]
    return {"psnr": scores, "hints_carried": carrier.counts, "hint_ab_error": errors, "cuts": hinted.cut_frames}


def table(result: dict, every: int) -> str:
    """Mean PSNR per block of ``every`` frames until the first cut, then one line for the rest."""
    psnr, counts = result["psnr"], result["hints_carried"]
    end = result["cuts"][0] if result["cuts"] else len(counts)
    lines = ["| frames | hints carried | their ab error | PSNR no hints | PSNR hints carried | gain (dB) | gain, hints on frame 0 only |",
             "|---|---:|---:|---:|---:|---:|---:|"]

    def row(a: int, b: int, label: str) -> None:
        n, h, o = (float(np.mean(psnr[k][a:b])) for k in ("none", "hints", "frame 0 only"))
        errors = [e for e in result["hint_ab_error"][a:b] if e is not None]
        error = f"{np.mean(errors):.1f}" if errors else "-"
        lines.append(f"| {label} | {min(counts[a:b])}-{max(counts[a:b])} | {error} | {n:.2f} | {h:.2f} | {h - n:+.2f} | {o - n:+.2f} |")

    for a in range(0, end, every):
        b = min(a + every, end)
        row(a, b, str(a) if b == a + 1 else f"{a}-{b - 1}")
    if end < len(counts):
        row(end, len(counts), f"{end}-{len(counts) - 1} (after the cut)")
    return "\n".join(lines)


def clips(args) -> dict[str, list[np.ndarray]]:
    from colorkit.video.synthetic import demo_shots, render, sample_photos_rgb

    if args.video:
        from colorkit.video.io import read_frames

        return {args.video.name: list(read_frames(args.video))}
    photos = sample_photos_rgb()
    return {name: list(render(shots, photos, (args.width, args.height))) for name, shots in demo_shots(args.frames).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="a hint model: run directory, .safetensors checkpoint or pretrained model name")
    ap.add_argument("--video", type=Path, default=None, help="a colour clip (its own truth) instead of the generated ones")
    ap.add_argument("--frames", type=int, default=48, help="frames per generated clip")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--height", type=int, default=192)
    ap.add_argument("--hints", type=int, default=10, help="hints taken from the truth of frame 0")
    ap.add_argument("--every", type=int, default=5, help="frames per table row")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", type=Path, default=None, help="also write the per-frame values here")
    args = ap.parse_args()

    from colorkit.data.lab import rgb_to_lab_np
    from colorkit.hints.truth import truth_hints
    from colorkit.inference.colorizer import Colorizer

    colorizer = Colorizer.load(args.model, device=args.device)
    if not colorizer.takes_hints:
        ap.error(f"{colorizer.source}: not a hint model (trained without [hints])")
    report = {"model": colorizer.source, "network_size": colorizer.size, "hints": args.hints, "clips": {}}
    for name, frames in clips(args).items():
        hints = truth_hints(rgb_to_lab_np(frames[0])[..., 1:], name, args.hints)  # on frame 0 (a hint without frame)
        result = hold(colorizer, frames, hints)
        report["clips"][name] = result
        print(f"\n{name}: {len(frames)} frames at {frames[0].shape[1]}x{frames[0].shape[0]}, cuts {result['cuts'] or 'none'}, "
              f"{args.hints} hints on frame 0 (network {colorizer.size} px)\n")
        print(table(result, args.every))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
