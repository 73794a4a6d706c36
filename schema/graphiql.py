"""GraphiQL served from the package (``schema/static/graphiql/``, vendored from npm by
``scripts/refresh_graphiql.py``): no CDN, so it works offline, and a strict Content-Security-Policy
that lets the page load nothing and talk to nobody but this server. The page adds a sign-in panel
(``seva-graphiql.js``) that calls the ``login`` mutation and sends the token on every query."""

from __future__ import annotations

import gzip
import hashlib
import json
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

STATIC = Path(__file__).parent / "static" / "graphiql"
OWN_FILES = ("seva-graphiql.js", "seva-graphiql.css")  # ours; the rest are listed in manifest.json
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
           "cache-control": "no-cache"}
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".json": "application/json"}

# Asset URLs are relative to the page (GET /graphql), so a path prefix added by a reverse proxy holds.
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Seva CRM: GraphiQL</title>
<link rel="stylesheet" href="graphiql/graphiql.min.css">
<link rel="stylesheet" href="graphiql/seva-graphiql.css">
</head>
<body>
<form id="seva-signin" autocomplete="on">
  <strong>Seva CRM</strong>
  <label>Email <input id="seva-email" name="email" type="email" autocomplete="username" required></label>
  <label>Password <input id="seva-password" name="password" type="password" autocomplete="current-password" required></label>
  <button id="seva-signin-button" type="submit">Sign in</button>
  <button id="seva-signout-button" type="button" hidden>Sign out</button>
  <span id="seva-status" role="status">Not signed in.</span>
  <span class="seva-hint">Or send your own header: in the Headers tab below,
    <code>{"Authorization": "Bearer &lt;access token or API key&gt;"}</code></span>
</form>
<div id="graphiql">Loading GraphiQL...</div>
<noscript>GraphiQL needs JavaScript. Without it, POST queries to this address (see the README).</noscript>
<script src="graphiql/react.production.min.js"></script>
<script src="graphiql/react-dom.production.min.js"></script>
<script src="graphiql/graphiql.min.js"></script>
<script src="graphiql/seva-graphiql.js"></script>
</body>
</html>
"""


@lru_cache(maxsize=1)
def asset_names() -> frozenset[str]:
    """The files the asset route serves: those manifest.json lists, and ours."""
    manifest = json.loads((STATIC / "manifest.json").read_text())
    vendored = {name for entry in manifest["packages"].values() for name in entry["files"]}
    return frozenset(vendored | set(OWN_FILES) | {"manifest.json"})


def page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers=HEADERS)


@lru_cache(maxsize=32)
def _load(name: str) -> tuple[bytes, bytes, str]:
    """(the file, gzipped, its ETag), read once per process."""
    data = (STATIC / name).read_bytes()
    return data, gzip.compress(data, 6, mtime=0), '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


async def asset(request: Request) -> Response:
    """One of the files GraphiQL needs: gzipped when the browser accepts it (3.5 MB of script are
    about 1 MB), and revalidated by ETag, so a slow link downloads it once."""
    name = request.path_params["name"]
    if name not in asset_names():
        return PlainTextResponse("not found", status_code=404)
    data, zipped, etag = _load(name)
    headers = {**HEADERS, "etag": etag, "vary": "accept-encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        data, headers["content-encoding"] = zipped, "gzip"
    return Response(data, media_type=TYPES.get(Path(name).suffix, "text/plain; charset=utf-8"), headers=headers)
