"""A new user's first hour, as real processes: the README's API examples give the answers the
README shows on the demo data; CLI errors name flags; a busy port says so; Ctrl+C on
``python3 dev.py run`` shuts the server down gracefully, without a traceback."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.server_support import ROOT, seva, seva_env

README = (ROOT / "README.md").read_text()


def readme_api_block() -> str:
    section = README[README.index("## The API"):]
    return section[section.index("```sh\n") + 6:section.index("\n```", section.index("```sh\n"))]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's examples use curl")
def test_the_readme_examples_answer_what_the_readme_shows(demo_server):
    block = readme_api_block()
    expected = [json.loads(line[2:]) for line in block.splitlines() if line.startswith("# {")]
    assert len(expected) == 2
    # run verbatim but for the port; each shown answer becomes an `echo` ending the line before it
    script = re.sub(r"(?m)^# \{.*$", "echo", block).replace("localhost:8000", f"127.0.0.1:{demo_server.port}")
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(answers) == 2
    answers[1]["data"]["customers"]["pageInfo"]["endCursor"] = "..."  # opaque, as the README says
    assert answers == expected


# Runs each command line through seva's own entry point in one subprocess (a process per case
# would spend most of its time importing): each case's exit code and its stderr, as JSON.
CASES_SCRIPT = """
import contextlib, io, json, sys
from seva_crm.cli import main
results = []
for args in json.loads(sys.argv[1]):
    sys.argv = ["seva", *args]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main()
        except SystemExit as exc:
            code = exc.code
    results.append([code, err.getvalue()])
print(json.dumps(results))
"""


def test_cli_errors_name_the_flag(demo_server):
    cases = {
        ("tenant", "create", "--name", "X", "--region", "IN", "--owner-email", "not-an-email", "--owner-password", "long-enough-pw"):
            "error: --owner-email: ",
        ("tenant", "create", "--name", "X", "--region", "IN", "--owner-email", "o@example.com", "--owner-password", "short"):
            "error: --owner-password: must be",
        ("user", "create", "--tenant", "nope", "--email", "a@example.com", "--password", "long-enough-pw", "--role", "boss"):
            "error: --role: 'boss' is not one of 'viewer', 'agent', 'admin', 'owner'.",
        ("apikey", "create", "--tenant", "nope", "--name", "k"): "error: --tenant: not a Tenant id: nope",
        ("user", "set-role", "--user", "nobody@example.com", "--role", "admin"): "error: --user: user not found",
    }
    result = subprocess.run([sys.executable, "-c", CASES_SCRIPT, json.dumps([list(c) for c in cases])], cwd=ROOT,
                            env=seva_env(demo_server.data_dir), capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    for (code, stderr), start in zip(json.loads(result.stdout), cases.values(), strict=True):
        assert code != 0
        line = stderr.strip()
        assert line.startswith(start), line
        assert "\n" not in line and "Value error" not in line and "ownerEmail" not in line and "ownerPassword" not in line

    helped = seva(seva_env(demo_server.data_dir), "tenant", "create", "--help").stdout
    assert re.search(r"--owner-password\s+<str>\s+\[prompted for if left off\]", helped)
    assert "[required]" not in helped.split("--owner-password", 1)[1].splitlines()[0]


def test_a_busy_port_gets_a_clear_message_and_a_hint(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = seva(seva_env(tmp_path), "serve", "--port", str(port), check=False)
    assert result.returncode != 0
    assert result.stderr.strip() == (f"error: --port: port {port} on 127.0.0.1 is already in use (another `seva serve`?): "
                                     f"stop that server, or choose another port, e.g. --port {port + 1}")


def test_ctrl_c_on_dev_py_run_shuts_down_gracefully(demo_server):
    env = seva_env(demo_server.data_dir)  # migrated, with the demo: dev.py run finds them
    port = demo_server.port + 1 if demo_server.port < 65535 else 1024
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            pytest.skip("the port after the demo server's is taken")
    # in a session of its own, as a terminal runs it: Ctrl+C signals the whole foreground group
    run = subprocess.Popen([sys.executable, "dev.py", "run", "--port", str(port)], cwd=ROOT, env=env, start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert run.poll() is None, run.stdout.read()
            time.sleep(0.1)
        os.killpg(run.pid, signal.SIGINT)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    assert "Application shutdown complete" in output and "Worker has been shut down" in output
    assert run.returncode == 0
