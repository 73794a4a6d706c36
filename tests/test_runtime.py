"""Jobs without import circles: ``core.jobs`` imports nothing above it, every module that declares
core jobs is composed by ``core.runtime``, and the worker and scheduler it feeds know every actor,
core's and plugins'."""

from __future__ import annotations

import ast
import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import dramatiq

from seva_crm.core import jobs

ROOT = Path(__file__).resolve().parent.parent
ABOVE_JOBS = ("customers", "messaging", "billing", "identity", "privacy", "runtime")


def run_python(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_jobs_import_nothing_above_them():
    """Layers, top to bottom: identity | privacy; billing; messaging; customers; jobs; platform; storage | common | models."""
    loaded = run_python("import json, sys; import seva_crm.core.jobs, seva_crm.core.jobs.schedule; "
                        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('seva_crm.'))))")
    assert "seva_crm.core.jobs.schedule" in loaded
    assert [m for m in loaded if m != "seva_crm.core" and not m.startswith("seva_crm.core.")] == []  # no plugin, no schema
    assert [m for m in loaded if m.startswith("seva_crm.core.") and m.split(".")[2] in ABOVE_JOBS] == []


def test_jobs_name_no_module_above_them_even_inside_functions():
    named = set()
    for path in (ROOT / "core" / "jobs").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                named.add(node.module)
            elif isinstance(node, ast.Import):
                named.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("seva_crm."):
                named.add(node.value)  # importlib.import_module("seva_crm....")
    ours = {m for m in named if m.startswith("seva_crm.")}
    assert "seva_crm.core.platform.plugins" in ours
    assert {m for m in ours if not m.startswith("seva_crm.core.") or m.split(".")[2] in ABOVE_JOBS} == set()


def test_the_runtime_composes_every_module_that_declares_jobs_for_worker_and_scheduler():
    """What ``seva worker`` and ``seva scheduler`` do first, in a fresh process: import the
    runtime, set up the broker with the installed plugins, and read the schedule."""
    found = run_python("""
import json, sys
from seva_crm.core import runtime
from seva_crm.core.jobs import JOBS, setup_jobs
from seva_crm.core.jobs.schedule import Scheduler
broker = setup_jobs("")
print(json.dumps({"modules": sorted(sys.modules), "jobs": sorted(JOBS), "actors": sorted(broker.get_declared_actors()),
                  "schedule": {j.name: j.actor_name for j in Scheduler().jobs}}))
""")
    declaring = sorted(
        "seva_crm.core." + ".".join(path.relative_to(ROOT / "core").with_suffix("").parts)
        for path in (ROOT / "core").rglob("*.py") if re.search(r"^@(job|periodic)\(", path.read_text(), re.MULTILINE)
    )
    assert "seva_crm.core.messaging.outbox" in declaring and "seva_crm.core.billing.periodic" in declaring
    assert [m for m in declaring if m not in found["modules"]] == []
    assert {"outbox.send", "outbox.sweep", "privacy.run_request", "billing.renewals", "ratelimit.prune"} <= set(found["jobs"])
    assert set(found["jobs"]) | {"razorpay.process_event", "razorpay.sweep"} <= set(found["actors"])  # core's and plugins'
    assert found["schedule"]["razorpay.sweep"] == "razorpay.sweep" and found["schedule"]["outbox.sweep"] == "outbox.sweep"
    assert set(found["schedule"].values()) <= set(found["actors"])


async def test_a_job_declared_after_set_up_is_declared_on_the_broker_at_once():
    ran = asyncio.Event()
    loop = asyncio.get_running_loop()
    broker = await asyncio.to_thread(jobs.setup_jobs, "")
    runner = jobs.Runner(broker, threads=1).start()
    try:
        @jobs.job("test.declared_late")
        async def late(value: str) -> None:
            assert value == "ok"
            loop.call_soon_threadsafe(ran.set)

        jobs.enqueue("test.declared_late", "ok")
        await asyncio.wait_for(ran.wait(), 10)
        assert isinstance(broker.get_actor("test.declared_late"), dramatiq.Actor)
    finally:
        await asyncio.to_thread(runner.stop)
        jobs.reset_jobs()
        jobs.JOBS.pop("test.declared_late", None)
