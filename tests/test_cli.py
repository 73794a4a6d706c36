"""The ``seva`` command line: what a user sees (output, exit code, the database it changes).

The commands run in this process (tests/cli_support.py: the same entry point, each command line
on a database of its own); the entry point itself, a new instance's secret and a failing exit
code are checked once in a real ``seva`` process."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from seva_crm.schema.build import print_sdl
from tests.cli_support import SevaCli
from tests.conftest import copy_database


@pytest.fixture(scope="module")
def seva(migrated_sqlite, tmp_path_factory) -> SevaCli:
    """``seva ARGS`` on a migrated database of the module's own (a copy of ``migrated_sqlite``)."""
    data_dir = tmp_path_factory.mktemp("cli")
    copy_database(migrated_sqlite, data_dir)
    return SevaCli(data_dir)


def real_seva(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m seva_crm ARGS`` in a process of its own, with none of the tests' SEVA_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEVA_")} | {"SEVA_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "seva_crm", *args], capture_output=True, text=True, env=env, timeout=120)


def test_a_real_seva_process_migrates_keeps_a_secret_and_fails_in_one_line(migrated_sqlite, tmp_path):
    copy_database(migrated_sqlite, tmp_path)  # migrating from empty takes long; `migrated_sqlite` is `seva migrate`'s
    first = real_seva(tmp_path, "migrate")
    assert first.returncode == 0 and first.stdout == "database is up to date\n", first.stderr
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # a new instance's secret, made by migrate
    bad = real_seva(tmp_path, "user", "create", "--email", "a@example.com", "--password", "long-enough-pw")
    assert bad.returncode == 2 and bad.stderr == "error: --tenant is required (or --superuser)\n", bad.stderr


def test_migrate_creates_the_database_and_says_so_again(migrated_sqlite, seva):
    # migrated_sqlite is `seva migrate` on an empty data directory
    with sqlite3.connect(migrated_sqlite) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"tenant", "staff_user", "customer", "audit_event", "email_suppression"} <= tables  # core's and a plugin's
    assert migrated_sqlite.stat().st_mode & 0o077 == 0
    assert seva("migrate").stdout == "database is up to date\n"


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
    result = seva("migrate", check=False, env={"SEVA_DATABASE_URL": "mysql://x"})
    assert result.returncode == 1
    assert result.stderr.strip() == "error: SEVA_DATABASE_URL: must start with sqlite://, postgres:// or postgresql://"
    production_costs = dict.fromkeys(("SEVA_PASSWORD_HASH_TIME_COST", "SEVA_PASSWORD_HASH_MEMORY_KIB",
                                      "SEVA_PASSWORD_HASH_PARALLELISM"))  # unset: the production defaults
    result = seva("migrate", check=False, env={"SEVA_ENV": "production", "SEVA_SECRET_KEY": None} | production_costs)
    assert "SEVA_SECRET_KEY is required when SEVA_ENV=production" in result.stderr
    result = seva("plugins", "list", check=False, env=production_costs | {
        "SEVA_ENV": "production", "SEVA_SECRET_KEY": "k" * 32, "SEVA_WHATSAPP_BASE_URL": "http://graph.example.com"})
    assert result.returncode == 1
    assert result.stderr.strip() == "error: SEVA_WHATSAPP_BASE_URL: must start with https:// when SEVA_ENV=production"


def test_schema_print_matches_the_committed_sdl(seva):
    committed = (Path(__file__).parents[1] / "schema" / "schema.graphql").read_text()
    assert seva("schema", "print").stdout == committed == print_sdl(), \
        "schema/schema.graphql is stale: run `seva schema print > schema/schema.graphql`"


def test_plugins_list_shows_the_built_in_plugins(seva):
    out = seva("plugins", "list", env={"COLUMNS": "250"}).stdout  # one line per plugin
    for pid in ("whatsapp", "razorpay", "sms", "email"):
        assert f"seva-crm 0.1.0 (seva_crm.plugins.{pid}.hooks)" in out
    assert "seva_manifest" in out
    only = seva("plugins", "list", env={"SEVA_PLUGINS": "sms", "COLUMNS": "250"}).stdout
    assert "seva_crm.plugins.sms" in only and "seva_crm.plugins.whatsapp" not in only


def test_secrets_rotate_after_the_secret_key_changes(seva):
    from seva_crm.cli import parse_id
    from seva_crm.core.platform.plugin_settings import update_plugin_settings
    from seva_crm.core.platform.tenant_plugins import plugin_config

    old = "an-old-secret-key-0123456789-abcdefghijklmnop"
    tenant_id = parse_id(seva("tenant", "create", "--name", "Rotating", "--region", "IN", "--owner-email",
                              "owner@rotating.example.com", "--owner-password", "long-enough-pw").stdout.strip(), "Tenant")

    def save():
        return update_plugin_settings(tenant_id, "razorpay", enabled=True,
                                      settings={"keyId": "rzp_test_1", "keySecret": "ks-1", "webhookSecret": "wh-1"})

    async def read() -> str:
        config = await plugin_config(tenant_id, "razorpay")
        return config.key_secret.get_secret_value() if config else "unreadable"

    seva.run(save, env={"SEVA_SECRET_KEY": old})  # stored while SEVA_SECRET_KEY was the old key
    assert seva.run(read) == "unreadable"  # the key has changed since
    assert "ks-1" not in (seva.data_dir / "seva.sqlite3").read_bytes().decode("latin-1")

    wrong = seva("secrets", "rotate", "--old-secret-key", "x" * 40, check=False)
    assert wrong.returncode == 1 and "encrypted under an unknown key" in wrong.stderr and "ks-1" not in wrong.stderr
    assert seva("secrets", "rotate", "--old-secret-key", old).stdout.strip() == \
        "re-encrypted 2 secrets under the current key (0 already were)"
    assert seva.run(read) == "ks-1"
    assert "(2 already were)" in seva("secrets", "rotate", env={"SEVA_OLD_SECRET_KEY": old}).stdout


def test_tenant_channels_shows_and_sets_the_order_audited(seva):
    tenant_id = seva("tenant", "create", "--name", "Channel Centre", "--region", "IN",
                     "--owner-email", "owner@channel-centre.example.com", "--owner-password", "long-enough-pw").stdout.strip()
    assert seva("tenant", "channels", "--tenant", tenant_id).stdout == "order: whatsapp, sms, email\n"  # no plugin enabled yet
    refused = seva("tenant", "channels", "--tenant", tenant_id, "--order", "sms", check=False)
    assert refused.returncode == 1 and "unknown channel 'sms'" in refused.stderr

    from seva_crm.core.common.ids import from_global_id
    from seva_crm.core.models import AuditEvent
    from seva_crm.core.platform.plugin_settings import update_plugin_settings

    async def audited() -> list[tuple]:
        return [(e.actor_type, e.actor_id, e.details["after"]) for e in await AuditEvent.filter(
            tenant_id=from_global_id(tenant_id, "Tenant"), action="tenant.channel_order_updated")]

    seva.run(lambda: update_plugin_settings(from_global_id(tenant_id, "Tenant"), "email", enabled=True))  # SMTP optional
    shown = seva("tenant", "channels", "--tenant", tenant_id, "--order", "EMAIL").stdout
    assert shown == "email\tkind email\tplugin email\norder: email\n"
    assert seva.run(audited) == [("system", "cli", ["email"])]
    # this tenant's chain only: the secrets test saves settings (an audited change) under another SEVA_SECRET_KEY
    assert "audit log intact" in seva("audit", "verify", "--chain", tenant_id).stdout


def test_staff_accounts_and_sessions_from_the_command_line(seva):
    from seva_crm.core.common.ids import to_global_id
    from seva_crm.core.identity.auth import login

    def sign_in(email: str, password: str = "long-enough-pw") -> str:
        session = seva.run(lambda: login(email, password, ip="203.0.113.5", user_agent="CliTest/1.0"))
        return to_global_id("Session", session.session_id)

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
