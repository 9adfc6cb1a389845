"""Serves the built console at / with a single-page fallback; the API keeps its own paths."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from web.settings import get_web_settings

# First path segments that belong to the API and its docs: never answered with the console.
RESERVED = frozenset({"api", "docs", "redoc", "openapi.json", "healthz", "readyz"})
# Vite names what it writes under assets/ by content hash, so a file there never changes.
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"

MISSING = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>企诉 · 控制台尚未构建</title>
<style>body{font-family:"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;
max-width:640px;margin:60px auto;line-height:1.7;color:#303133}code,pre{background:#f4f4f5;
padding:2px 6px;border-radius:3px}</style></head><body>
<h1>控制台尚未构建</h1>
<p>服务已启动，接口可用（<a href="/docs">/docs</a>），
但没有找到构建好的网页控制台：<code>{where}</code>。</p>
<p>请在项目目录中构建（需要 Node.js 20 和 npm）：</p>
<pre>make setup
# 或者
cd web &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>构建产物放在其他目录时，用环境变量 <code>QISU_WEB_DIR</code> 指定，
然后重启 <code>qisu serve</code>。</p>
</body></html>
"""


def _inside(root: Path, relative: str) -> Path | None:
    """The file under root that the path names, or None (missing, a folder, or outside root)."""
    candidate = (root / relative).resolve()
    if not candidate.is_file() or not candidate.is_relative_to(root):
        return None
    return candidate


def mount_console(app: FastAPI, dist: Path | None = None) -> None:
    """Answer every other GET with the console; call after the API routers are included."""
    root = (dist or get_web_settings().dir).resolve()

    def page(request: Request, path: str = "") -> Response:
        """A built file, or index.html for any route of the single-page console."""
        if path.split("/", 1)[0] in RESERVED:
            return JSONResponse(
                status_code=404,
                content={"detail": "没有这个接口，请核对地址", "code": "not_found"},
            )
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(MISSING.replace("{where}", str(root)), status_code=503)
        found = _inside(root, path) if path else None
        if found is not None and found != index.resolve():
            cache = IMMUTABLE if path.startswith("assets/") else NO_CACHE
            return FileResponse(found, headers={"Cache-Control": cache})
        if path.startswith("assets/"):  # a stale hashed name: say so rather than send the page
            return Response(status_code=404, headers={"Cache-Control": NO_CACHE})
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": NO_CACHE})

    for route in ("/", "/{path:path}"):
        app.add_api_route(route, page, methods=["GET", "HEAD"], include_in_schema=False)
