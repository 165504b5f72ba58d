"""The web app at `/`: the board's built files (web/dist, made by `make web`), served by the
same process as the API, so a dispatch network cut off from the internet loads everything
from everycall itself; `/docs` too, with Swagger UI's files from the same build. Without a
build, `/` says how to make one."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match, Mount
from starlette.types import Receive, Scope, Send

from dispatch.config import WEB_DIST

# the crew app's manifest (web/public/manifest.webmanifest): browsers install the app only from
# a manifest served as such, and a machine's own MIME table may not name the extension
mimetypes.add_type("application/manifest+json", ".webmanifest")

_NOT_BUILT = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>everycall</title>
<p>看板尚未构建：请运行 <code>make web</code>。</p>
<p>The board is not built yet: run <code>make web</code>.</p></html>"""


class WebFiles(StaticFiles):
    """The built files, for reading. A request no API route took is answered as the API would
    when a route has its path (405, with Allow: a GET of a POST-only route too), and when it
    is not a read (404); the rest are files."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = _methods_at(scope) if scope["type"] == "http" else set()
        if scope["type"] == "http" and (allowed or scope["method"] not in ("GET", "HEAD")):
            answer = (
                JSONResponse(
                    {"detail": "Method Not Allowed"},
                    status_code=405,
                    headers={"Allow": ", ".join(sorted(allowed))},
                )
                if allowed
                else JSONResponse({"detail": "Not Found"}, status_code=404)
            )
            await answer(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _methods_at(scope: Scope) -> set[str]:
    """The methods the app's routes (not this mount) take at the scope's path."""
    routes = [r for r in scope["app"].router.routes if not isinstance(r, Mount)]
    return {
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(r.matches({**scope, "method": method})[0] is Match.FULL for r in routes)
    }


def add_api_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from everycall's own files (FastAPI's default loads a CDN's)."""

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=str(app.openapi_url),
            title=f"{app.title} API",
            swagger_js_url="/swagger/swagger-ui-bundle.js",
            swagger_css_url="/swagger/swagger-ui.css",
            swagger_favicon_url="/swagger/favicon-32x32.png",
        )


def mount_web_app(app: FastAPI, dist: Path = WEB_DIST) -> None:
    """Serve the built app last, so every API route is matched first."""
    if (dist / "index.html").is_file():
        app.mount("/", WebFiles(directory=dist, html=True), name="web")
        return

    @app.get("/", include_in_schema=False)
    def not_built() -> HTMLResponse:
        return HTMLResponse(_NOT_BUILT)
