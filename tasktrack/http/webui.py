"""A built ClearML web UI served beside the API (`tasktrack serve --ui DIR`): its static files,
index.html for every other page path (the UI routes in the browser), and configuration.json
pointing the UI at the API under /api on the same port."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import NamedTuple

# Where the UI finds the API: it calls `<apiBaseUrl>/v999.0/<service>.<action>`.
API_PREFIX = "api"


class StaticFile(NamedTuple):
    """The body, media type and Cache-Control of one answer."""

    body: bytes
    media_type: str
    cache: str


class WebUI:
    """The files of one built UI (index.html at its root)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        if not (self.root / "index.html").is_file():
            raise ValueError(f"{root} holds no index.html: not a built web UI")
        self.configuration = self._configuration()

    def _configuration(self) -> bytes:
        # The build's own settings (if any), with the API where tasktrack serves it.
        conf: dict[str, object] = {}
        own = self.root / "configuration.json"
        if own.is_file():
            try:
                loaded = json.loads(own.read_text())
            except ValueError:
                loaded = None
            if isinstance(loaded, dict):
                conf.update(loaded)
        conf["apiBaseUrl"] = "/" + API_PREFIX
        return json.dumps(conf).encode()

    def get(self, path: str) -> StaticFile:
        """The file at `path`, or index.html for a path that names none (a page of the UI)."""
        if path.strip("/") == "configuration.json":
            return StaticFile(self.configuration, "application/json", "no-cache")
        found = self._file(path)
        if found is None:
            body = (self.root / "index.html").read_bytes()
            return StaticFile(body, "text/html; charset=utf-8", "no-cache")
        media = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        # index.html names its bundles by content hash, so they may be kept; it may not.
        cache = "no-cache" if found.name == "index.html" else "public, max-age=3600"
        return StaticFile(found.read_bytes(), media, cache)

    def _file(self, path: str) -> Path | None:
        relative = path.strip("/")
        if not relative:
            return None
        candidate = (self.root / relative).resolve()
        # Nothing outside the UI's directory (`..`, symlinks out of it) is served.
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate
