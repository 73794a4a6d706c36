"""The partner facade: built-in plugins use ``seva_crm.plugin_api`` and nothing else of Seva,
share one file layout, and every public name of the facade is documented for partners."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from seva_crm import plugin_api

ROOT = Path(__file__).parents[1]
PLUGINS = ROOT / "plugins"
DOCS = ROOT / "docs" / "plugins.md"
BUILT_IN = sorted(p.name for p in PLUGINS.iterdir() if (p / "__init__.py").exists())
ALLOWED = ("seva_crm.plugin_api", "seva_crm.testing")


def imported_modules(path: Path) -> list[str]:
    """Every module a file imports (absolute names; relative imports resolved to seva_crm.plugins)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = ["seva_crm", *path.relative_to(ROOT).parent.parts]
                base = ".".join(package[: len(package) - node.level + 1])
                found.append(f"{base}.{node.module}" if node.module else base)
            else:
                found.append(node.module or "")
    return found


def test_the_built_in_plugins_are_all_there():
    assert set(BUILT_IN) == {"whatsapp", "razorpay", "sms", "email", "dpdp", "bangladesh", "bkash", "sslcommerz"}


@pytest.mark.parametrize("plugin", BUILT_IN)
def test_a_plugin_imports_only_the_facade_of_seva(plugin):
    for path in sorted((PLUGINS / plugin).rglob("*.py")):
        for module in imported_modules(path):
            if module == "seva_crm" or module.startswith("seva_crm."):
                own = module == f"seva_crm.plugins.{plugin}" or module.startswith(f"seva_crm.plugins.{plugin}.")
                allowed = any(module == a or module.startswith(a + ".") for a in ALLOWED)
                assert own or allowed, f"{path.relative_to(ROOT)} imports {module}: use seva_crm.plugin_api"


@pytest.mark.parametrize("plugin", BUILT_IN)
def test_a_plugin_has_the_common_layout(plugin):
    folder = PLUGINS / plugin
    assert (folder / "hooks.py").exists() and (folder / "settings.py").exists()
    init = ast.parse((folder / "__init__.py").read_text())
    assert len(init.body) == 1 and isinstance(init.body[0], ast.Expr), f"{plugin}/__init__.py keeps only a docstring"
    hooks = (folder / "hooks.py").read_text()
    assert "@hookimpl" in hooks
    for other in (folder.glob("*.py")):
        if other.name != "hooks.py":
            assert "@hookimpl" not in other.read_text(), f"{plugin}/{other.name}: hook implementations belong in hooks.py"


def test_the_entry_points_name_each_plugins_hooks_module():
    pyproject = (ROOT / "pyproject.toml").read_text()
    section = pyproject.split("[project.entry-points.seva]", 1)[1].split("\n[", 1)[0]
    points = dict(re.findall(r'^(\w+) = "([\w.]+)"', section, re.M))
    assert points == {p: f"seva_crm.plugins.{p}.hooks" for p in BUILT_IN}


def test_the_facade_lists_what_it_offers():
    assert len(plugin_api.__all__) == len(set(plugin_api.__all__))
    for name in plugin_api.__all__:
        assert hasattr(plugin_api, name), f"plugin_api.__all__ names {name}, which it does not define"


def test_every_name_of_the_facade_is_in_the_partner_docs():
    docs = DOCS.read_text()
    missing = [name for name in plugin_api.__all__ if f"`{name}" not in docs]
    assert not missing, f"docs/plugins.md does not document {missing}"


def test_every_name_of_the_facade_says_what_it_is():
    """A one-line docstring, or a comment on the line that re-exports or defines it."""
    source = (ROOT / "seva_crm" / "plugin_api.py").read_text()
    for name in plugin_api.__all__:
        value = getattr(plugin_api, name)
        defined_here = getattr(value, "__module__", None) == plugin_api.__name__ and (value.__doc__ or "").strip()
        commented = re.search(rf"^[^#\n]*\b{name}\b[^#\n]*#\s*\S", source, re.M)
        assert defined_here or commented, f"plugin_api.{name} needs a docstring or a comment where it is exported"


def test_pay_links_name_an_invoice_only_for_their_tenant_and_plugin():
    from uuid import uuid4
    tenant, other, invoice = uuid4(), uuid4(), uuid4()
    links = plugin_api.PayLinks("bkash")
    token = links.token(tenant, invoice)
    assert links.invoice_of(tenant, token) == invoice
    assert links.invoice_of(other, token) is None  # not moved to another tenant
    assert plugin_api.PayLinks("sslcommerz").invoice_of(tenant, token) is None  # nor to another plugin
    head, mac = token.split(".")
    assert links.invoice_of(tenant, f"{head}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}") is None
    assert links.invoice_of(tenant, "garbage") is None and links.invoice_of(tenant, "") is None
    assert links.pay_url(tenant, invoice).endswith(f"/webhooks/bkash/{plugin_api.tenant_global_id(tenant)}/pay/{token}")


def test_the_payer_page_escapes_the_tenants_name_and_is_not_cached():
    page = plugin_api.payer_page("<Sylhet & Net>", "paid")
    text = page.body.decode()
    assert "&lt;Sylhet &amp; Net&gt;" in text and "<Sylhet" not in text
    assert "Payment received" in text and "পেমেন্ট সম্পন্ন হয়েছে" in text
    assert page.headers["cache-control"] == "no-store" and page.status_code == 200
