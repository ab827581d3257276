"""The web playground: GET / and its files under /ui/, all shipped in the package (galen/serve/ui/).

The page is plain HTML, CSS and JavaScript with no dependencies. It talks only to this server's
own API (/v1/models, /v1/chat/completions) with the key the user types, so these routes need no
key themselves (app.py lists them as open) and hold nothing secret: the page, its two files and
`/ui/config.json` (the sampling presets and the research notice, for the page's controls).
A Content-Security-Policy keeps the browser from fetching anything from anywhere else.
"""

from __future__ import annotations

from dataclasses import asdict
from importlib import resources
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from galen import RESEARCH_NOTICE
from galen.engine.sampling import PRESETS
from galen.errors import NotFound

router = APIRouter()
UI = resources.files("galen.serve") / "ui"
FILES = {"app.js": "text/javascript", "style.css": "text/css"}  # what /ui/ serves, and nothing else
# Same origin only; data: and blob: for attached images and videos shown before sending.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data: blob:; media-src 'self' data: blob:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
SAMPLING_FIELDS = ("temperature", "top_p", "top_k", "min_p", "presence_penalty", "repetition_penalty")


def is_open(path: str) -> bool:
    """The playground's own paths, which the API key does not guard (see the module doc)."""
    return path == "/" or path.startswith("/ui/")


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(str(UI / "index.html"), media_type="text/html", headers=HEADERS)


@router.get("/ui/config.json", include_in_schema=False)
async def config() -> JSONResponse:
    presets = {name: _preset(name) for name in PRESETS}
    return JSONResponse({"presets": presets, "notice": RESEARCH_NOTICE}, headers=HEADERS)


@router.get("/ui/{name}", include_in_schema=False)
async def asset(name: str) -> FileResponse:
    if name not in FILES:
        raise NotFound(f"no playground file {name!r}")
    return FileResponse(str(UI / name), media_type=FILES[name], headers=HEADERS)


def _preset(name: str) -> dict[str, Any]:
    values = asdict(PRESETS[name])
    return {field: values[field] for field in SAMPLING_FIELDS}
