"""End to end: the daily_analytics DAG through dag.test() against the live Temporal dev server and
the real TypeScript worker; the effect is checked in the warehouse (DuckDB file)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DAY = "2011-12-09"
WORKFLOW_ID = f"daily-analytics-{DAY}"
# Stable columns of a daily_metrics row (computed_at changes on every run by design).
COLUMNS = ("report_date", "orders", "gross_revenue", "refunds", "net_revenue", "cancelled_orders",
           "unique_customers", "items_sold", "avg_order_value", "sale_lines", "refund_lines", "total_lines", "workflow_id")

pytestmark = pytest.mark.e2e


def metrics_row(duckdb_path: str, day: str) -> dict | None:
    import duckdb

    deadline = time.monotonic() + 30
    while True:
        try:
            # The worker releases the file a second after its last query; until then the lock is held.
            with duckdb.connect(duckdb_path, read_only=True) as con:
                row = con.execute(f"SELECT {', '.join(COLUMNS)} FROM daily_metrics WHERE report_date = ?", [day]).fetchone()
            return None if row is None else {c: (str(v) if v is not None else None) for c, v in zip(COLUMNS, row, strict=True)}
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def workflow_runs(address: str, workflow_id: str) -> list[str]:
    async def runs() -> list[str]:
        from temporalio.client import Client

        client = await Client.connect(address)
        return [w.run_id async for w in client.list_workflows(f'WorkflowId = "{workflow_id}"')]

    deadline = time.monotonic() + 10
    while True:  # visibility is eventually consistent
        found = asyncio.run(runs())
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def run_dag(dag_id: str, day: str):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags[dag_id]
    return dag.test(logical_date=datetime.fromisoformat(day).replace(tzinfo=timezone.utc))


def task_result(dagrun, task_id: str) -> dict:
    ti = dagrun.get_task_instance(task_id)
    assert ti is not None and ti.state == "success", f"{task_id} ended {getattr(ti, 'state', None)}"
    return ti.xcom_pull(task_ids=task_id) if hasattr(ti, "xcom_pull") else None


def test_dag_run_writes_the_days_metrics(stack):
    dagrun = run_dag("daily_analytics", DAY)
    assert dagrun.state == "success"
    row = metrics_row(stack["DUCKDB_PATH"], DAY)
    assert row is not None, "no daily_metrics row for the day"
    assert row["workflow_id"] == WORKFLOW_ID
    assert int(row["orders"]) > 0
    assert workflow_runs(stack["TEMPORAL_ADDRESS"], WORKFLOW_ID) != []


def test_same_day_twice_leaves_one_workflow_run(stack):
    before = metrics_row(stack["DUCKDB_PATH"], DAY)
    dagrun = run_dag("daily_analytics", DAY)  # a retried or re-triggered run of the same day
    assert dagrun.state == "success"
    runs = workflow_runs(stack["TEMPORAL_ADDRESS"], WORKFLOW_ID)
    assert len(runs) == 1, f"expected one run of {WORKFLOW_ID}, found {runs}"
    assert metrics_row(stack["DUCKDB_PATH"], DAY) == before


def test_dag_row_equals_cli_row(stack):
    """The DAG and `retailflow analytics run` produce the same daily_metrics row for the day."""
    from_dag = metrics_row(stack["DUCKDB_PATH"], DAY)
    cli = subprocess.run(["node", str(ROOT / "dist" / "tools" / "cli.js"), "analytics", "run", "--date", DAY, "--json"],
                         cwd=ROOT, env={k: v for k, v in stack.items() if isinstance(v, str)}, capture_output=True, text=True, timeout=180)
    assert cli.returncode == 0, cli.stderr
    result = json.loads(cli.stdout)
    from_cli = metrics_row(stack["DUCKDB_PATH"], DAY)
    assert from_cli == from_dag
    assert result["kpis"]["orders"] == int(from_dag["orders"])
    # The CLI re-runs a finished day on purpose (reuse ALLOW_DUPLICATE): now two runs, same row.
    assert len(workflow_runs(stack["TEMPORAL_ADDRESS"], WORKFLOW_ID)) == 2


def test_failed_workflow_fails_the_task_with_its_message(stack, caplog):
    """A day without data: the workflow fails non-retryably, so the task fails at once, with the reason."""
    from airflow.sdk.exceptions import AirflowFailException

    from retailflow_temporal import run_workflow, temporal_settings

    settings = temporal_settings()
    assert settings.address == stack["TEMPORAL_ADDRESS"]  # from AIRFLOW_VAR_TEMPORAL_ADDRESS
    with pytest.raises(AirflowFailException, match=r"daily-analytics-2011-12-25 \(dailyAnalyticsWorkflow\) failed: .*2011-12-25"):
        run_workflow("dailyAnalyticsWorkflow", {"date": "2011-12-25"}, "daily-analytics-2011-12-25", settings=settings)
    assert "Temporal Web UI: http://" in caplog.text


def test_failed_day_fails_the_dag_run(stack):
    dagrun = run_dag("daily_analytics", "2011-12-25")
    assert dagrun.state == "failed"


def test_two_simultaneous_triggers_share_one_run(stack):
    """A doubly triggered day: both starters attach to the same workflow run (conflict USE_EXISTING)."""
    from concurrent.futures import ThreadPoolExecutor

    from retailflow_temporal import run_workflow

    day = "2011-12-08"
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: run_workflow("dailyAnalyticsWorkflow", {"date": day}, f"daily-analytics-{day}"), range(2)))
    assert outcomes[0]["run_id"] == outcomes[1]["run_id"]
    assert outcomes[0]["result"] == outcomes[1]["result"]
    assert len(workflow_runs(stack["TEMPORAL_ADDRESS"], f"daily-analytics-{day}")) == 1
