"""The installable app: the service worker at /sw.js (scope /, never HTTP-cached), the manifest, the offline page."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, url_for

from app.web.offline import label_owner, offline_page

bp = Blueprint("pwa", __name__)
# Every page says whose session it served, so the worker can drop kept pages when that session ends.
bp.after_app_request(label_owner)

# Files the worker keeps for offline use; licences and notices stay online-only.
PRECACHE_SUFFIXES = (".js", ".css", ".png", ".svg", ".ico", ".wasm", ".woff2", ".webmanifest")
PRECACHE_MAX_BYTES = 4 * 1024 * 1024
_version_cache: dict[tuple, tuple[str, list[str]]] = {}


def _static_files(static: Path) -> list[tuple[str, int, int]]:
    found = []
    for folder, _dirs, files in os.walk(static):
        for name in files:
            path = Path(folder) / name
            stat = path.stat()
            found.append((path.relative_to(static).as_posix(), stat.st_size, stat.st_mtime_ns))
    return sorted(found)


def static_version() -> tuple[str, list[str]]:
    """A hash of every static file's content (cache names change when any file does) and the files to precache."""
    static = Path(current_app.static_folder)
    files = _static_files(static)
    key = tuple(files)
    if key not in _version_cache:
        digest = hashlib.sha256()
        for rel, _size, _mtime in files:
            digest.update(rel.encode() + b"\0")
            digest.update(hashlib.sha256((static / rel).read_bytes()).digest())
        precache = [
            rel
            for rel, size, _mtime in files
            if rel.endswith(PRECACHE_SUFFIXES) and size <= PRECACHE_MAX_BYTES and rel != "sw.js"
        ]
        _version_cache.clear()
        _version_cache[key] = (digest.hexdigest()[:12], precache)
    return _version_cache[key]


@bp.get("/sw.js")
def service_worker():
    """static/sw.js with its cache version and precache list filled in; scope / and revalidated on every check."""
    version, files = static_version()
    shell = [url_for("static", filename=rel) for rel in files] + [url_for("pwa.offline"), url_for("pwa.manifest")]
    source = (Path(current_app.static_folder) / "sw.js").read_text(encoding="utf-8")
    source = source.replace('"__VERSION__"', json.dumps(version)).replace('["__SHELL__"]', json.dumps(shell))
    resp = Response(source, mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Service-Worker-Allowed"] = "/"
    return resp


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: name, icons (192, 512, maskable), colours, standalone display."""
    name = current_app.config.get("DISTRICT_NAME") or "Rollcall"
    body = {
        "id": "/",
        "name": "Rollcall",
        "short_name": "Rollcall",
        "description": f"Device tracking for {name}: scan, audit, lend and repair, with or without a signal.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": "#1d4ed8",
        "background_color": "#f6f7f9",
        "icons": [
            {"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": url_for("static", filename="icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
        "shortcuts": [{"name": "Scan", "url": "/scan"}],
    }
    resp = Response(json.dumps(body, indent=1), mimetype="application/manifest+json")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/offline")
@offline_page
def offline():
    """What a navigation shows when there is no signal and no cached copy; the same for everyone (precached)."""
    resp = Response(render_template("pwa/offline.html"))
    resp.headers["Cache-Control"] = "no-cache"
    return resp
