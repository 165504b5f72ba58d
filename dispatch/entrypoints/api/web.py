"""The web app at `/`: the board's built files (web/dist, made by `make web`), served by the
same process as the API, so a dispatch network cut off from the internet loads everything
from everycall itself. Without a build, `/` says how to make one."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from dispatch.config import WEB_DIST

_NOT_BUILT = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>everycall</title>
<p>看板尚未构建：请运行 <code>make web</code>。</p>
<p>The board is not built yet: run <code>make web</code>.</p></html>"""


def mount_web_app(app: FastAPI, dist: Path = WEB_DIST) -> None:
    """Serve the built app last, so every API route is matched first."""
    if (dist / "index.html").is_file():
        app.mount("/", StaticFiles(directory=dist, html=True), name="web")
        return

    @app.get("/", include_in_schema=False)
    def not_built() -> HTMLResponse:
        return HTMLResponse(_NOT_BUILT)
