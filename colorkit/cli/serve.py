"""``colorkit serve``: a local web page that colours photos (needs ``colorkit[web]``)."""

from __future__ import annotations

import ipaddress
import signal
import socket
import tempfile
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from colorkit.cli.common import EXIT_TERMINATED, catch_errors, err, out
from colorkit.data.images import set_max_pixels
from colorkit.errors import ColorkitError
from colorkit.serve import require
from colorkit.zoo import DEFAULT_HINT_MODEL


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this computer."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (0: a free port), or one line saying why it cannot."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)  # connections from now on wait for the server instead of being refused
    except OSError as exc:
        raise ColorkitError(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})") from None
    return sock


@catch_errors
def serve(
    model: Optional[str] = typer.Argument(
        None, metavar="[MODEL]",
        help=f"The model the page starts with: a run directory, a .safetensors checkpoint, a .onnx model or a pretrained model's name (default {DEFAULT_HINT_MODEL}, which takes hints). The page can switch to any pretrained model or run of --runs.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; anything but loopback lets other computers use the page (a warning is printed)."),
    port: int = typer.Option(7860, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
    runs: Path = typer.Option(Path("runs"), "--runs", help="Folder whose run directories (with a checkpoint) the page offers as models."),
    max_pixels: Optional[int] = typer.Option(
        None, "--max-pixels", min=1, help="Refuse larger photos (width x height; default 89478485, or COLORKIT_MAX_PIXELS)."
    ),
    max_upload_mb: float = typer.Option(100.0, "--max-upload-mb", min=0.001, help="Refuse uploads larger than this many megabytes."),
    device: str = typer.Option("auto", "--device", help='"auto", "cpu" or "cuda".'),
) -> None:
    """Open a local web page to colour photos: drop photos, add colour hints, download the results."""
    require()
    set_max_pixels(max_pixels)
    import uvicorn

    from colorkit.serve.app import create_web_app
    from colorkit.serve.models import ModelChoices
    from colorkit.serve.photos import Photos

    models = ModelChoices(model or DEFAULT_HINT_MODEL, runs, device=device)
    with models.lock:
        models.get(models.default)  # a model that cannot be loaded is one line before the page opens
    sock = listen(host, port)
    if not is_loopback(host):
        err.print(f"[yellow]warning:[/] listening on {escape(host)}: other computers that reach it can use the page and the model", highlight=False)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    # uvicorn stops gracefully on SIGINT or SIGTERM, then raises the signal again through the handler
    # it found: ours turn it into an exception here, so the folder is removed and the exit code says
    # why. Without our own SIGINT handler asyncio's would cancel the server's task instead (a Ctrl-C
    # once exited 0 that way in CI).
    previous = {sig: signal.signal(sig, handler) for sig, handler in ((signal.SIGINT, _interrupted), (signal.SIGTERM, _terminated))}
    try:
        with tempfile.TemporaryDirectory(prefix="colorkit-serve-") as folder:  # uploads are decoded here, then deleted
            app = create_web_app(models, Photos(Path(folder)), max_upload_bytes=int(max_upload_mb * 1e6), host=host)
            out.print(f"colorkit serve: open http://{shown}:{bound}/ in a browser (Ctrl-C stops it)", highlight=False)
            uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def _terminated(signum, frame) -> None:
    raise SystemExit(EXIT_TERMINATED)


def register(app: typer.Typer) -> None:
    app.command()(serve)
