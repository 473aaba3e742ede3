"""Shared plumbing for the retailflow DAGs: start a TypeScript Temporal workflow and wait for it.

The DAGs stay thin: each one names a workflow type, an ID prefix and an input; everything about
Temporal lives here, once. Orchestration (retries of activities, backoff, progress) stays in
Temporal; Airflow only decides *when* a business workflow runs.

Nothing here connects or imports the Temporal client at import time: the DAG processor parses
these files often, and `temporalio` is imported inside the task.

Workflow IDs and policies (docs/airflow.md explains them):

- ID: ``<prefix>-<YYYY-MM-DD>`` of the run's logical date, the same business key the CLI and the
  TypeScript client use (``daily-analytics-2011-12-09``). Airflow 3 gives no logical date for
  manual or asset-triggered runs; the ID then falls back to ``<prefix>-<run_id>``.
- conflict policy USE_EXISTING: a retried or doubly triggered Airflow run whose workflow is still
  running attaches to that run instead of starting a second one.
- reuse policy ALLOW_DUPLICATE_FAILED_ONLY: a day whose workflow already *completed* is not run
  again; the start is rejected and the task accepts the finished run's result. A day whose last run
  failed, timed out, was cancelled or terminated may be started again, which is exactly what an
  Airflow retry is for. (The CLI keeps ALLOW_DUPLICATE: a human re-running a day is deliberate.)

Settings, first found wins: Airflow connection ``temporal_default`` (host:port, schema =
namespace, extra ``{"task_queue": ..., "ui_url": ...}``), Airflow variables ``temporal_address``,
``temporal_namespace``, ``temporal_task_queue``, ``temporal_ui_url``, then the environment
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, TEMPORAL_UI_URL or
TEMPORAL_UI_HOST/TEMPORAL_UI_PORT), then the local defaults of .env.example.

TLS and an API key (Temporal Cloud style) come from the same variables as the Node processes
(TEMPORAL_TLS, TEMPORAL_TLS_CA_FILE, TEMPORAL_TLS_CERT_FILE + TEMPORAL_TLS_KEY_FILE,
TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY or TEMPORAL_API_KEY_FILE), or the connection's password
as the API key. An API key implies TLS.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any, Mapping
from urllib.parse import quote

log = logging.getLogger(__name__)

CONNECTION_ID = "temporal_default"

DEFAULT_ADDRESS = "127.0.0.1:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_TASK_QUEUE = "retailflow"

# Default arguments every retailflow task shares. Business retries happen inside Temporal; an Airflow
# retry only covers the starter itself (Temporal unreachable, worker pod restarted mid-wait).
DEFAULT_ARGS: dict[str, Any] = {
    "owner": "retailflow",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
}


@dataclass(frozen=True)
class TemporalSettings:
    address: str
    namespace: str
    task_queue: str
    ui_url: str

    def workflow_link(self, workflow_id: str, run_id: str | None = None) -> str:
        base = f"{self.ui_url.rstrip('/')}/namespaces/{quote(self.namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
        return f"{base}/{run_id}/history" if run_id else base


class WorkflowRunFailed(Exception):
    """A workflow ended in failure; carries the workflow's own message."""


# --- settings -----------------------------------------------------------------------------------


def _variable(key: str) -> str | None:
    try:
        from airflow.sdk import Variable

        value = Variable.get(key, default=None)
    except Exception:  # outside a task (tests, CLI) or no metadata DB: fall through to env
        return None
    return value or None


def _connection() -> Any | None:
    try:
        from airflow.sdk import Connection

        return Connection.get(CONNECTION_ID)
    except Exception:  # not defined (the usual case) or not inside a task
        return None


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value or None


def temporal_settings() -> TemporalSettings:
    """Resolve the Temporal settings: connection, then variables, then environment, then defaults."""
    conn = _connection()
    extra: Mapping[str, Any] = {}
    conn_address = conn_namespace = None
    if conn is not None:
        extra = conn.extra_dejson or {}
        if conn.host:
            conn_address = f"{conn.host}:{conn.port or 7233}"
        conn_namespace = conn.schema or None

    ui_default = f"http://{_env('TEMPORAL_UI_HOST') or '127.0.0.1'}:{_env('TEMPORAL_UI_PORT') or '8233'}"
    return TemporalSettings(
        address=conn_address or _variable("temporal_address") or _env("TEMPORAL_ADDRESS") or DEFAULT_ADDRESS,
        namespace=conn_namespace or _variable("temporal_namespace") or _env("TEMPORAL_NAMESPACE") or DEFAULT_NAMESPACE,
        task_queue=extra.get("task_queue") or _variable("temporal_task_queue") or _env("TEMPORAL_TASK_QUEUE") or DEFAULT_TASK_QUEUE,
        ui_url=extra.get("ui_url") or _variable("temporal_ui_url") or _env("TEMPORAL_UI_URL") or ui_default,
    )


def _read_secret(variable: str) -> bytes | None:
    path = _env(variable)
    if path is None:
        return None
    with open(path, "rb") as handle:
        return handle.read()


def connect_security() -> dict[str, Any]:
    """``tls`` and ``api_key`` for Client.connect; empty (plaintext) unless something asks for TLS."""
    conn = _connection()
    key_file = _read_secret("TEMPORAL_API_KEY_FILE")
    api_key = (conn.password if conn is not None and conn.password else None) or _env("TEMPORAL_API_KEY") or (key_file.decode().strip() if key_file else None)
    ca, cert, key = _read_secret("TEMPORAL_TLS_CA_FILE"), _read_secret("TEMPORAL_TLS_CERT_FILE"), _read_secret("TEMPORAL_TLS_KEY_FILE")
    wants_tls = (_env("TEMPORAL_TLS") or "false").lower() in ("true", "1", "yes") or any(v is not None for v in (api_key, ca, cert))
    if not wants_tls:
        return {}
    from temporalio.service import TLSConfig

    tls = TLSConfig(server_root_ca_cert=ca, client_cert=cert, client_private_key=key, domain=_env("TEMPORAL_TLS_SERVER_NAME"))
    return {"tls": tls, **({"api_key": api_key} if api_key else {})}


# --- IDs ----------------------------------------------------------------------------------------


def business_date(context: Mapping[str, Any]) -> str | None:
    """The run's logical date as YYYY-MM-DD (UTC), or None when Airflow gives none (manual runs)."""
    logical_date = context.get("logical_date")
    if logical_date is None:
        return None
    if logical_date.tzinfo is not None:
        logical_date = logical_date.astimezone(timezone.utc)
    return logical_date.strftime("%Y-%m-%d")


def business_workflow_id(prefix: str, context: Mapping[str, Any], date: str | None = None) -> str:
    """``<prefix>-<date>``; without a date, ``<prefix>-<run_id>`` (Airflow 3 manual runs)."""
    day = date or business_date(context)
    if day:
        return f"{prefix}-{day}"
    run_id = context.get("run_id")
    if not run_id:
        raise ValueError("the run has neither a logical date nor a run id")
    return f"{prefix}-{run_id}"


# --- start and wait -----------------------------------------------------------------------------


def _root_message(err: BaseException) -> str:
    """The innermost cause's message: the workflow's own ApplicationFailure, not the wrapper."""
    messages = []
    current: BaseException | None = err
    while current is not None:
        text = getattr(current, "message", None) or str(current)
        if text:
            messages.append(text)
        current = current.__cause__ or getattr(current, "cause", None)
    return messages[-1] if messages else type(err).__name__


def _is_non_retryable(err: BaseException) -> bool:
    """True when Temporal says retrying cannot help: a non-retryable ApplicationFailure raised by
    the workflow, or an activity error whose type the retry policy lists as non-retryable."""
    current: BaseException | None = err
    while current is not None:
        if getattr(current, "non_retryable", False):
            return True
        retry_state = getattr(current, "retry_state", None)
        if retry_state is not None and getattr(retry_state, "name", "") == "NON_RETRYABLE_FAILURE":
            return True
        current = current.__cause__ or getattr(current, "cause", None)
    return False


async def _start_and_wait(
    settings: TemporalSettings,
    workflow_type: str,
    workflow_input: Any,
    workflow_id: str,
    execution_timeout: timedelta | None,
) -> dict[str, Any]:
    from temporalio.client import Client, WorkflowFailureError
    from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
    from temporalio.exceptions import WorkflowAlreadyStartedError

    client = await Client.connect(settings.address, namespace=settings.namespace, **connect_security())
    attached = False
    try:
        handle = await client.start_workflow(
            workflow_type,
            workflow_input,
            id=workflow_id,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            execution_timeout=execution_timeout,
        )
        run_id = handle.result_run_id or handle.first_execution_run_id
    except WorkflowAlreadyStartedError:
        # The day already completed: never start it again, take the finished run's result.
        handle = client.get_workflow_handle(workflow_id)
        run_id = (await handle.describe()).run_id
        attached = True

    log.info(
        "Temporal workflow %s (type %s, run %s) on %s, namespace %s, task queue %s%s",
        workflow_id, workflow_type, run_id, settings.address, settings.namespace, settings.task_queue,
        " [already completed: accepting its result]" if attached else "",
    )
    log.info("Temporal Web UI: %s", settings.workflow_link(workflow_id, run_id))
    try:
        result = await handle.result()
    except WorkflowFailureError as err:
        raise WorkflowRunFailed(_root_message(err)) from err
    return {"workflow_id": workflow_id, "run_id": run_id, "already_completed": attached, "result": result}


def run_workflow(
    workflow_type: str,
    workflow_input: Any,
    workflow_id: str,
    *,
    settings: TemporalSettings | None = None,
    execution_timeout: timedelta | None = None,
) -> dict[str, Any]:
    """Start (or attach to) a workflow by its type name, wait for it, and return its result.

    A failed workflow becomes a failed task with the workflow's message. When the workflow failed
    with a non-retryable error (a bad date, a day without data), the task fails without Airflow
    retries: running it again cannot help.
    """
    settings = settings or temporal_settings()
    try:
        outcome = asyncio.run(_start_and_wait(settings, workflow_type, workflow_input, workflow_id, execution_timeout))
    except WorkflowRunFailed as err:
        message = f"workflow {workflow_id} ({workflow_type}) failed: {err}"
        log.error("%s -- %s", message, settings.workflow_link(workflow_id))
        from airflow.sdk.exceptions import AirflowException, AirflowFailException

        if _is_non_retryable(err.__cause__ or err):
            raise AirflowFailException(message) from err
        raise AirflowException(message) from err
    log.info("workflow %s completed", workflow_id)
    return outcome


def run_per_day_workflow(workflow_type: str, id_prefix: str) -> dict[str, Any]:
    """The per-day pattern (one run per business day, ID ``<prefix>-<date>``) for any per-day DAG.

    Called inside the task: the day is the run's logical date, or ``params.date`` for a manual run;
    without either, the workflow picks the day before it started (ID ``<prefix>-<run_id>``).
    """
    from airflow.sdk import get_current_context

    context = get_current_context()
    date = business_date(context) or context["params"].get("date")
    workflow_id = business_workflow_id(id_prefix, context, date)
    return run_workflow(workflow_type, {"date": date} if date else {}, workflow_id)
