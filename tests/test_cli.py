"""The ``seva`` command, run as a user runs it: a separate process against its own database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seva_crm.schema.build import print_sdl


@pytest.fixture(scope="module")
def seva(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEVA_")}
    env |= {"SEVA_DATA_DIR": str(data_dir)}  # default SQLite database and generated secret

    def run(*args: str, check: bool = True, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "seva_crm", *args], capture_output=True, text=True,
                                env=env | (extra_env or {}), timeout=120)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    run("migrate")
    run.data_dir = data_dir
    return run


def test_migrate_creates_the_database_and_keeps_a_secret(seva):
    assert (seva.data_dir / "seva.sqlite3").exists()
    assert (seva.data_dir / "secret_key").stat().st_mode & 0o077 == 0
    assert "up to date" in seva("migrate").stdout


def test_tenant_user_apikey_and_import(seva, tmp_path):
    tenant_id = seva("tenant", "create", "--name", "Sylhet Net", "--region", "BD",
                     "--owner-email", "owner@sylhet-net.example.com", "--owner-password", "long-enough-pw").stdout.strip()
    assert tenant_id
    user_id = seva("user", "create", "--tenant", tenant_id, "--email", "agent@sylhet-net.example.com",
                   "--password", "long-enough-pw", "--role", "agent").stdout.strip()
    assert user_id and user_id != tenant_id
    key = seva("apikey", "create", "--tenant", tenant_id, "--name", "billing", "--role", "viewer").stdout.strip()
    assert key.startswith("seva_")

    csv = tmp_path / "customers.csv"
    csv.write_text("name,phone\nRahim Uddin,01712-345678\nNo Phone Bad,123\nKarim,01812-345678\n")
    result = seva("customers", "import", str(csv), "--tenant", tenant_id, check=False)
    assert result.returncode == 1
    assert "imported 2 customers, 1 rows rejected" in result.stdout
    assert "row 3: phone:" in result.stderr


def test_import_reads_excels_encodings_and_fails_in_one_line(seva, tmp_path):
    tenant_id = seva("tenant", "create", "--name", "Dhaka Fibre", "--region", "BD",
                     "--owner-email", "owner@dhaka-fibre.example.com", "--owner-password", "long-enough-pw").stdout.strip()
    for i, encoding in enumerate(["utf-16", "cp1252"]):
        csv = tmp_path / f"{encoding}.csv"
        csv.write_bytes(f"name,phone,notes\r\nJosé Müller,0171234567{i},café\r\n".encode(encoding))
        assert "imported 1 customers, 0 rows rejected" in seva("customers", "import", str(csv), "--tenant", tenant_id).stdout
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x81\x8d")
    control = tmp_path / "control.csv"
    control.write_text("name,phone\nRa\x07him,01712-345699\n")
    for path, message in ((binary, "error: file: the file is not text in UTF-8"), (control, "row 2: name: holds a character")):
        result = seva("customers", "import", str(path), "--tenant", tenant_id, check=False)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith(message), result.stderr


def test_demo_prints_a_login_and_is_idempotent(seva):
    first = seva("demo").stdout
    assert "login: owner@demo.example.com / " in first and "created" in first
    assert "found demo tenant" in seva("demo").stdout


@pytest.mark.parametrize("args, message", [
    (("tenant", "create", "--name", "X", "--region", "US", "--owner-email", "a@example.com", "--owner-password", "long-enough-pw"),
     "'US' is not one of"),
    (("tenant", "create", "--name", "X", "--region", "IN", "--owner-email", "not-an-email", "--owner-password", "long-enough-pw"),
     "--owner-email: "),
    (("user", "create", "--email", "a@example.com", "--password", "long-enough-pw"), "--tenant is required"),
    (("apikey", "create", "--tenant", "nonsense", "--name", "k"), "not a Tenant id"),
    (("serve", "--port", "99999"), "--port"),
    (("nonsense",), "No such command"),
])
def test_bad_arguments_give_one_line_and_fail(seva, args, message):
    result = seva(*args, check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr


def test_bad_configuration_names_the_variable(seva):
    result = seva("migrate", check=False, extra_env={"SEVA_DATABASE_URL": "mysql://x"})
    assert result.returncode == 1
    assert result.stderr.strip() == "error: SEVA_DATABASE_URL: must start with sqlite://, postgres:// or postgresql://"
    result = seva("migrate", check=False, extra_env={"SEVA_ENV": "production"})
    assert "SEVA_SECRET_KEY is required when SEVA_ENV=production" in result.stderr
    result = seva("plugins", "list", check=False, extra_env={
        "SEVA_ENV": "production", "SEVA_SECRET_KEY": "k" * 32, "SEVA_WHATSAPP_BASE_URL": "http://graph.example.com"})
    assert result.returncode == 1
    assert result.stderr.strip() == "error: SEVA_WHATSAPP_BASE_URL: must start with https:// when SEVA_ENV=production"


def test_schema_print_matches_the_committed_sdl(seva):
    committed = (Path(__file__).parents[1] / "schema" / "schema.graphql").read_text()
    assert seva("schema", "print").stdout == committed == print_sdl(), \
        "schema/schema.graphql is stale: run `seva schema print > schema/schema.graphql`"


def test_plugins_list_shows_the_built_in_plugins(seva):
    out = seva("plugins", "list", extra_env={"COLUMNS": "250"}).stdout  # one line per plugin
    for pid in ("whatsapp", "razorpay", "sms", "email"):
        assert f"seva-crm 0.1.0 (seva_crm.plugins.{pid}.hooks)" in out
    assert "seva_manifest" in out
    only = seva("plugins", "list", extra_env={"SEVA_PLUGINS": "sms", "COLUMNS": "250"}).stdout
    assert "seva_crm.plugins.sms" in only and "seva_crm.plugins.whatsapp" not in only


SETTINGS_SCRIPT = """
import sys
from seva_crm.cli import parse_id, run
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.core.platform.tenant_plugins import plugin_config
tenant = parse_id(sys.argv[2], "Tenant")
if sys.argv[1] == "save":
    run(update_plugin_settings(tenant, "razorpay", enabled=True,
                               settings={"keyId": "rzp_test_1", "keySecret": "ks-1", "webhookSecret": "wh-1"}))
else:
    config = run(plugin_config(tenant, "razorpay"))
    print(config.key_secret.get_secret_value() if config else "unreadable")
"""


def test_secrets_rotate_after_the_secret_key_changes(seva):
    old = "an-old-secret-key-0123456789-abcdefghijklmnop"
    tenant_id = seva("tenant", "create", "--name", "Rotating", "--region", "IN",
                     "--owner-email", "owner@rotating.example.com", "--owner-password", "long-enough-pw").stdout.strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEVA_")} | {"SEVA_DATA_DIR": str(seva.data_dir)}

    def script(*args: str, secret: str | None = None) -> str:
        result = subprocess.run([sys.executable, "-c", SETTINGS_SCRIPT, *args], capture_output=True, text=True,
                                env=env | ({"SEVA_SECRET_KEY": secret} if secret else {}), timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    script("save", tenant_id, secret=old)  # stored while SEVA_SECRET_KEY was the old key
    assert script("read", tenant_id) == "unreadable"  # the key has changed since
    assert "ks-1" not in (seva.data_dir / "seva.sqlite3").read_bytes().decode("latin-1")

    wrong = seva("secrets", "rotate", "--old-secret-key", "x" * 40, check=False)
    assert wrong.returncode == 1 and "encrypted under an unknown key" in wrong.stderr and "ks-1" not in wrong.stderr
    assert seva("secrets", "rotate", "--old-secret-key", old).stdout.strip() == \
        "re-encrypted 2 secrets under the current key (0 already were)"
    assert script("read", tenant_id) == "ks-1"
    assert "(2 already were)" in seva("secrets", "rotate", extra_env={"SEVA_OLD_SECRET_KEY": old}).stdout


def test_tenant_channels_shows_and_sets_the_order_audited(seva):
    tenant_id = seva("tenant", "create", "--name", "Channel Centre", "--region", "IN",
                     "--owner-email", "owner@channel-centre.example.com", "--owner-password", "long-enough-pw").stdout.strip()
    assert seva("tenant", "channels", "--tenant", tenant_id).stdout == "order: whatsapp, sms, email\n"  # no plugin enabled yet
    refused = seva("tenant", "channels", "--tenant", tenant_id, "--order", "sms", check=False)
    assert refused.returncode == 1 and "unknown channel 'sms'" in refused.stderr

    env = {k: v for k, v in os.environ.items() if not k.startswith("SEVA_")} | {"SEVA_DATA_DIR": str(seva.data_dir)}
    script = """
import asyncio, sys
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.models import AuditEvent
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.core.platform.database import database

async def main(action, tenant):
    async with database():
        tenant_id = from_global_id(tenant, "Tenant")
        if action == "enable":
            await update_plugin_settings(tenant_id, "email", enabled=True)  # SMTP settings optional
        else:
            for e in await AuditEvent.filter(tenant_id=tenant_id, action="tenant.channel_order_updated"):
                print(e.actor_type, e.actor_id, e.details["after"])

asyncio.run(main(*sys.argv[1:]))
"""
    def python(*args):
        return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env,
                              timeout=120, check=True).stdout

    python("enable", tenant_id)
    shown = seva("tenant", "channels", "--tenant", tenant_id, "--order", "EMAIL").stdout
    assert shown == "email\tkind email\tplugin email\norder: email\n"
    assert python("audit", tenant_id) == "system cli ['email']\n"
    # this tenant's chain only: the secrets test saves settings (an audited change) under another SEVA_SECRET_KEY
    assert "audit log intact" in seva("audit", "verify", "--chain", tenant_id).stdout


LOGIN_SCRIPT = """
import sys
from seva_crm.cli import run
from seva_crm.core.identity.auth import login
print(run(login(sys.argv[1], sys.argv[2], ip="203.0.113.5", user_agent="CliTest/1.0")).session_id)
"""


def test_staff_accounts_and_sessions_from_the_command_line(seva):
    from seva_crm.core.common.ids import to_global_id

    env = {k: v for k, v in os.environ.items() if not k.startswith("SEVA_")} | {"SEVA_DATA_DIR": str(seva.data_dir)}

    def sign_in(email: str, password: str = "long-enough-pw") -> str:
        result = subprocess.run([sys.executable, "-c", LOGIN_SCRIPT, email, password], capture_output=True, text=True, env=env,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        return to_global_id("Session", __import__("uuid").UUID(result.stdout.strip()))

    tenant_id = seva("tenant", "create", "--name", "Staffed", "--region", "BD", "--owner-email", "owner@staffed2.example.com",
                     "--owner-password", "long-enough-pw").stdout.strip()
    email = "agent@staffed2.example.com"
    user_id = seva("user", "create", "--tenant", tenant_id, "--email", email, "--password", "long-enough-pw").stdout.strip()
    first, second = sign_in(email), sign_in(email)

    listed = seva("session", "list", "--user", email).stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in listed] == [second, first]  # newest first
    assert all(line.split("\t")[3:] == ["203.0.113.5", "open", "CliTest/1.0"] for line in listed)
    assert seva("session", "revoke", "--session", first).stdout.strip() == f"ended session {first}"
    assert [line.split("\t")[0] for line in seva("session", "list", "--user", user_id).stdout.splitlines()] == [second]
    ended = seva("session", "list", "--user", email, "--all").stdout
    assert f"{first}\t" in ended and "\tended:revoked\t" in ended

    assert seva("user", "set-role", "--user", email, "--role", "admin").stdout.strip() == f"{user_id} {email}: admin, active"
    assert seva("user", "deactivate", "--user", user_id).stdout.strip() == f"{user_id} {email}: admin, deactivated"
    assert seva("session", "list", "--user", email).stdout.strip() == ""  # deactivation ended them
    assert seva("user", "reactivate", "--user", email).stdout.strip().endswith("admin, active")
    sign_in(email)
    assert "password set" in seva("user", "set-password", "--user", email, "--password", "another-long-pw").stdout
    assert seva("session", "list", "--user", email).stdout.strip() == ""
    sign_in(email, "another-long-pw")
    assert seva("session", "revoke-all", "--user", email).stdout.strip() == "ended 1 sessions"

    last = seva("user", "deactivate", "--user", "owner@staffed2.example.com", check=False)
    assert last.returncode == 1 and "needs an active owner" in last.stderr
    missing = seva("user", "deactivate", "--user", "nobody@staffed2.example.com", check=False)
    assert missing.returncode == 1 and "user not found" in missing.stderr
