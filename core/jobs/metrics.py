"""Job metrics for Prometheus (served at ``/metrics``, see schema/metrics.py): runs by actor and
outcome, and their duration, counted by a dramatiq middleware in whichever process runs them."""

from __future__ import annotations

import threading
import time

from dramatiq import Middleware
from prometheus_client import Counter, Histogram

JOB_RUNS = Counter("seva_job_runs", "Job runs, by actor and outcome (ok or failed)", ["actor", "outcome"])
JOB_SECONDS = Histogram("seva_job_duration_seconds", "How long job runs take, by actor", ["actor"])


class JobMetrics(Middleware):
    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def before_process_message(self, broker, message) -> None:
        with self._lock:
            self._started[message.message_id] = time.perf_counter()

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        with self._lock:
            started = self._started.pop(message.message_id, None)
        JOB_RUNS.labels(message.actor_name, "failed" if exception is not None else "ok").inc()
        if started is not None:
            JOB_SECONDS.labels(message.actor_name).observe(time.perf_counter() - started)

    def after_skip_message(self, broker, message) -> None:
        with self._lock:
            self._started.pop(message.message_id, None)
