"""With `--api-key`, every route of the app but /health and the playground's page and files
(`/`, `/ui/...`: nothing secret; the page asks for the key itself) answers 401 without the key.

The routes are listed from the app itself (those of included routers too), so a route added
later is checked without anyone remembering to add it here.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from benchmarks.reliability import Check
from galen.engine.chat import ChatEngine
from galen.engine.llamacpp import LlamaCppEngine
from galen.models.embedded import DEFAULT_TEMPLATE
from galen.models.source import resolve
from galen.serve import playground
from galen.serve.app import OPEN_PATHS, create_app
from galen.serve.state import ServerState, ServeSettings


def routes(app_routes: list) -> list:
    """Every route, including those of included routers (which recent FastAPI keeps whole)."""
    out = []
    for route in app_routes:
        if hasattr(route, "path"):
            out.append(route)
        elif (inner := getattr(route, "original_router", None)) is not None:
            out += routes(inner.routes)
    return out


def run(engine: LlamaCppEngine | None = None) -> Check:
    source = resolve("smollm2", chat_template=DEFAULT_TEMPLATE)
    own = engine is None
    engine = engine or LlamaCppEngine(source.location, context_length=512, parallel=1)
    try:
        app = create_app(ServerState(ChatEngine(engine, source), ServeSettings(api_key="sekret")))
        http = TestClient(app)  # no lifespan: the engine is closed here, not by the app
        open_ok, leaks, checked = True, [], []
        for route in routes(app.routes):
            path = route.path.replace("{model_id:path}", "x").replace("{name}", "app.js")
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                status = http.request(method, path).status_code
                if path in OPEN_PATHS or playground.is_open(path):
                    open_ok &= status == 200
                elif status != 401:
                    leaks.append(f"{method} {path} -> {status}")
                else:
                    checked.append(f"{method} {path}")
        unknown = http.get("/no-such-route").status_code
    finally:
        if own:
            engine.close()
    return Check(
        "auth",
        open_ok and not leaks and unknown == 401 and len(checked) >= 8,
        f"{len(checked)} route methods without the key, plus an unknown path",
        {"answered without the key": ", ".join(leaks) or "none", "unknown path": str(unknown)},
        [f"checked: {', '.join(checked)}"],
    )
