"""The page's latency: from the upload of a photo to its first coloured result through the API of
``colorkit serve`` (what the page does: upload, then colour; the page shows a JPEG), and the download
of the PNG, beside the same photo through
``colorkit colorize`` (the whole command, and its work alone in this process: decode, network, join,
PNG encode). CPU; prints, asserts nothing.

    .venv/bin/python benchmarks/serve_latency.py [MODEL] --repeat 3

The server runs as ``colorkit serve MODEL --port 0`` in its own process (the model loaded before the
first request, as the command does); the photos are generated gray JPEGs of 1024 and 4000 px.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

SIDES = {"1024 px": (1024, 768), "4000 px": (4000, 3000)}


def gray_photo(path: Path, w: int, h: int) -> Path:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (h // 40 + 1, w // 40 + 1), dtype=np.uint8)
    Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC).save(path, quality=90)
    return path


def post(url: str, data: bytes, headers: dict) -> tuple[bytes, dict]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=600) as answer:
        return answer.read(), dict(answer.headers)


def through_the_page(base: str, photo: Path, model: str) -> tuple[float, float, float, float]:
    """Seconds: upload, colour (the JPEG the page shows), upload + colour (the first coloured result),
    and the download of the PNG that ``colorize`` would write."""
    start = time.perf_counter()
    described, _ = post(base + "api/photos", photo.read_bytes(), {"X-Filename": photo.name})
    uploaded = time.perf_counter()
    photo_id = json.loads(described)["id"]
    shown, _ = post(f"{base}api/photos/{photo_id}/colour", json.dumps({"model": model}).encode(), {"Content-Type": "application/json"})
    done = time.perf_counter()
    with urllib.request.urlopen(f"{base}api/photos/{photo_id}/result.png", timeout=600) as answer:
        png = answer.read()
    downloaded = time.perf_counter()
    assert shown[:2] == b"\xff\xd8" and png[:8] == b"\x89PNG\r\n\x1a\n"
    return uploaded - start, done - uploaded, done - start, downloaded - done


def through_colorize(model: str, photo: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "colorkit", "-q", "colorize", model, str(photo), "-o", str(out), "--device", "cpu", "--backend", "torch"],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def in_process(colorizer, photo: Path, out: Path) -> float:
    """colorize's own work for one photo, the model already loaded: decode, colour, PNG files."""
    from colorkit.data.images import load_rgb
    from colorkit.inference import photo_files

    start = time.perf_counter()
    rgb = load_rgb(photo)
    coloured = colorizer.colorize(rgb)
    for _, data, _ in photo_files.outputs(photo, rgb, coloured, out, colorizer):
        out.write_bytes(data)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", nargs="?", default="faces-scenes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of all three (OMP_NUM_THREADS of the commands)")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # for the two commands, started from here
    import torch

    from colorkit.inference.colorizer import Colorizer

    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photos = {label: gray_photo(tmp / f"{w}x{h}.jpg", w, h) for label, (w, h) in SIDES.items()}
        server = subprocess.Popen([sys.executable, "-m", "colorkit", "serve", args.model, "--port", "0", "--device", "cpu"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            base = re.search(r"http://\S+/", server.stdout.readline()).group(0)
            with urllib.request.urlopen(base + "api/models") as answer:
                model = json.load(answer)["default"]
            colorizer = Colorizer.load(args.model, device="cpu")
            print(f"model {args.model}, CPU, {args.threads} torch thread(s); the three ways alternate, {args.repeat} rounds; seconds as fastest / median")
            print(f"{'photo':8} {'page: upload':>13} {'colour':>12} {'first result':>13} {'PNG download':>13} | {'colorize command':>17} {'colorize work':>14} | page - work")
            for label, photo in photos.items():
                through_the_page(base, photo, model)  # warm-up: first-call costs of both sides
                in_process(colorizer, photo, tmp / "work.png")
                page, command, work = [], [], []
                for _ in range(args.repeat):  # alternated, so a busy spell of the machine hits all three alike
                    page.append(through_the_page(base, photo, model))
                    work.append(in_process(colorizer, photo, tmp / "work.png"))
                    command.append(through_colorize(args.model, photo, tmp / "out.png"))

                def both(values: list[float]) -> str:
                    return f"{min(values):.2f} / {statistics.median(values):.2f}"

                first = [p[2] for p in page]
                print(f"{label:8} {both([p[0] for p in page]):>13} {both([p[1] for p in page]):>12} {both(first):>13} {both([p[3] for p in page]):>13} | "
                      f"{both(command):>17} {both(work):>14} | {min(first) - min(work):+.2f}")
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(60)


if __name__ == "__main__":
    main()
