"""GraphiQL is served from the package (no CDN) under a strict CSP, and works in a real browser:
Debian's chromium, driven by playwright, against the real server on loopback."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from seva_crm.demo import DEMO_EMAIL, DEMO_PASSWORD
from seva_crm.schema.graphiql import STATIC
from seva_crm.testing.client import Api
from tests.server_support import ROOT

CHROMIUM = Path("/usr/bin/chromium")
HTML = {"accept": "text/html"}


async def test_the_page_loads_nothing_from_elsewhere(app):
    response = await Api(app).http.get("/graphql", headers=HTML)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert not re.search(r"https?://", csp)
    assert not re.search(r"(src|href)=\"(https?:)?//", response.text)  # every asset is ours, relative
    assert "Sign in" in response.text and "Authorization" in response.text  # how to sign in, on the page


async def test_every_asset_the_page_names_is_served_as_the_manifest_recorded(app):
    http = Api(app).http
    page = (await http.get("/graphql", headers=HTML)).text
    manifest = json.loads((STATIC / "manifest.json").read_text())
    recorded = {name: meta["sha256"] for entry in manifest["packages"].values() for name, meta in entry["files"].items()}
    assert {"graphiql", "react", "react-dom"} <= set(manifest["packages"])
    assert {"LICENSE.graphiql", "LICENSE.react", "LICENSE.react-dom"} <= set(recorded)
    named = re.findall(r"(?:src|href)=\"(graphiql/[^\"]+)\"", page)
    assert len(named) == 6
    for path in named:
        response = await http.get(f"/{path}")
        assert response.status_code == 200, path
        assert response.headers["x-content-type-options"] == "nosniff"
        name = path.removeprefix("graphiql/")
        if name in recorded:
            assert hashlib.sha256(response.content).hexdigest() == recorded[name]
    script = await http.get("/graphiql/graphiql.min.js", headers={"accept-encoding": "gzip"})
    assert script.headers["content-encoding"] == "gzip"  # httpx unzipped it; the sha256 above is of the same file
    again = await http.get("/graphiql/graphiql.min.js", headers={"if-none-match": script.headers["etag"]})
    assert again.status_code == 304 and again.content == b""  # a slow link downloads it once
    assert (await http.get("/graphiql/..%2fgraphiql.py")).status_code == 404
    assert (await http.get("/graphiql/graphiql.min.js.map")).status_code == 404


def test_the_vendored_files_match_the_manifest():
    spec = importlib.util.spec_from_file_location("refresh_graphiql", ROOT / "scripts" / "refresh_graphiql.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.check() == []


def run_query(page, query: str) -> str:
    page.evaluate("q => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q)", query)
    page.click(".graphiql-execute-button")
    response = page.locator(".graphiql-response .CodeMirror")
    response.locator("text=/\"(data|errors)\"/").first.wait_for(timeout=15000)
    return page.evaluate("() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium chromium-driver")
def test_sign_in_and_query_in_a_real_browser_offline(demo_server):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the test extra)")
    left_loopback, problems = [], []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context()

            def only_loopback(route):
                if urlsplit(route.request.url).hostname == "127.0.0.1":
                    route.continue_()
                else:  # offline: anything else is noted and never sent
                    left_loopback.append(route.request.url)
                    route.abort()

            context.route("**/*", only_loopback)
            page = context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{demo_server.url}/graphql")
            page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=30000)

            query = '{ customers(first: 1, filter: {search: "ravi"}) { edges { node { name } } } }'
            assert "UNAUTHENTICATED" in run_query(page, query)  # signed out: refused

            page.fill("#seva-email", DEMO_EMAIL)
            page.fill("#seva-password", DEMO_PASSWORD)
            page.click("#seva-signin-button")
            page.wait_for_selector(f"#seva-status:has-text('Signed in as {DEMO_EMAIL}')", timeout=15000)

            result = json.loads(run_query(page, query))
            assert result == {"data": {"customers": {"edges": [{"node": {"name": "Ravi Kumar"}}]}}}
        finally:
            browser.close()
    assert left_loopback == []
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
