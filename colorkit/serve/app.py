"""The web app of ``colorkit serve``: FastAPI routes over :mod:`~colorkit.serve.photos` and
:mod:`~colorkit.serve.models`, and the page in ``static/``.

- ``GET /`` the page; ``GET /static/NAME`` its script and style (a fixed list, read once);
- ``GET /api/models``: the model names the page can pick, and the default;
- ``POST /api/photos``: the photo file as the request body, its name in ``X-Filename``
  (percent-encoded); answers the photo's id, size and bit depth;
- ``GET /api/photos/ID/gray.jpg``: the photo in gray, at its own size;
- ``POST /api/photos/ID/colour``: ``{"model": NAME, "hints": HINTS-DOCUMENT}`` -> the coloured
  photo to show, a JPEG (``X-Takes-Hints: 1`` when the model takes hints);
- ``GET /api/photos/ID/result.png`` and ``GET /api/photos/ID/hints.json``: the downloads of its
  latest colouring, the PNG as ``colorize`` writes it and the hints as a hints file.

Every failure answers ``{"detail": "one line"}``: 413 over the upload limit, 404 for an id the server
does not hold, 422 for a file, model or hint that cannot be used. Only requests addressed to a loopback
name (or the ``--host`` given) are answered, which shuts out DNS-rebinding pages.
"""

from __future__ import annotations

import json
from importlib import resources
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from colorkit.errors import ColorkitError
from colorkit.serve.models import ModelChoices
from colorkit.serve.photos import Photos, PhotoGone, colour, display_name, gray_jpeg, hints_file, read_hints, result_png

STATIC = {"page.js": "text/javascript", "page.css": "text/css"}
"""The page's files besides ``index.html``, with their media types."""

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

MAX_REQUEST_BYTES = 1 << 20
"""The largest colour request: a model name and a hints document (thousands of hints fit)."""


class TooLarge(ColorkitError):
    """An upload over the byte limit."""


async def _read_body(request: Request, limit: int, too_large) -> bytes:
    """The request's body, refused with ``too_large(what)`` as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(f"{int(declared):,} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large("the file")
    return bytes(body)


def _static(name: str) -> bytes:
    return resources.files("colorkit.serve").joinpath("static", name).read_bytes()


def create_web_app(models: ModelChoices, photos: Photos, *, max_upload_bytes: int, host: str = "127.0.0.1") -> FastAPI:
    """The app: ``models`` to pick from, ``photos`` to hold uploads, uploads up to ``max_upload_bytes``;
    requests are answered when addressed to a loopback name or ``host`` (any name for 0.0.0.0 or ::)."""
    app = FastAPI(title="colorkit", docs_url=None, redoc_url=None, openapi_url=None)
    named = f"[{host}]" if ":" in host else host  # an IPv6 address is written in brackets in a Host header
    allowed = ["*"] if host in ("0.0.0.0", "::", "") else list(dict.fromkeys([*LOOPBACK_NAMES, named]))
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed)
    files = {name: (_static(name), kind) for name, kind in STATIC.items()}
    page = _static("index.html")

    @app.exception_handler(ColorkitError)
    async def _one_line(request: Request, exc: ColorkitError):
        code = 404 if isinstance(exc, PhotoGone) else 413 if isinstance(exc, TooLarge) else 422
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.get("/")
    def index() -> Response:
        return Response(page, media_type="text/html; charset=utf-8")

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in files:
            return JSONResponse({"detail": f"no such file: {name}"}, status_code=404)
        data, kind = files[name]
        return Response(data, media_type=kind)

    @app.get("/api/models")
    def model_list() -> dict:
        choices = models.choices()
        return {"default": choices[0].name, "models": [{"name": c.name, "kind": c.kind} for c in choices]}

    @app.post("/api/photos")
    async def upload(request: Request) -> dict:
        name = display_name(unquote(request.headers.get("x-filename", "photo")))

        def too_large(size: str) -> TooLarge:
            return TooLarge(f"{name}: {size} is over the upload limit of {max_upload_bytes / 1e6:g} MB (colorkit serve --max-upload-mb)")

        body = await _read_body(request, max_upload_bytes, too_large)
        if not body:
            raise ColorkitError(f"{name}: empty file (0 bytes)")
        photo_id, photo = await run_in_threadpool(photos.add, body, name)
        return photo.describe(photo_id)

    @app.get("/api/photos/{photo_id}/gray.jpg")
    def gray(photo_id: str) -> Response:
        return Response(gray_jpeg(photos.get(photo_id)), media_type="image/jpeg")

    @app.post("/api/photos/{photo_id}/colour")
    async def colour_photo(photo_id: str, request: Request) -> Response:
        photo = photos.get(photo_id)
        body = await _read_body(request, MAX_REQUEST_BYTES, lambda size: TooLarge(f"{size} is over the colour request's limit of {MAX_REQUEST_BYTES:,} bytes"))
        try:
            asked = json.loads(body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ColorkitError("the request is not JSON") from None
        if not isinstance(asked, dict) or not isinstance(asked.get("model", models.default), str):
            raise ColorkitError('the request is {"model": NAME, "hints": {...}}')
        hints = read_hints(photo, asked.get("hints"))

        def work() -> tuple[bytes, bool]:
            with models.lock:
                colorizer = models.get(asked.get("model", models.default))
            return colour(photo, colorizer, hints, models.lock), colorizer.takes_hints

        data, takes_hints = await run_in_threadpool(work)
        return Response(data, media_type="image/jpeg", headers={"X-Takes-Hints": "1" if takes_hints else "0"})

    @app.get("/api/photos/{photo_id}/result.png")
    def result(photo_id: str) -> Response:
        return Response(result_png(photos.get(photo_id), models.lock), media_type="image/png")

    @app.get("/api/photos/{photo_id}/hints.json")
    def hints(photo_id: str) -> Response:
        photo = photos.get(photo_id)
        return Response(json.dumps(hints_file(photo), indent=2), media_type="application/json")

    return app
