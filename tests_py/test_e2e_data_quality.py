"""End to end: the data_quality DAG through dag.test() against the live dev server and the real
worker; the effect is the day's dq_results rows. Skipped (and not counted by test/python.test.ts)
while the TypeScript side does not export dataQualityWorkflow."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from test_e2e_daily_analytics import run_dag, workflow_runs

ROOT = Path(__file__).resolve().parent.parent
DAY = "2011-12-09"
WORKFLOW_ID = f"data-quality-{DAY}"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif("dataQualityWorkflow" not in (ROOT / "workflows" / "index.ts").read_text(),
                       reason="dataQualityWorkflow is not exported by workflows/index.ts yet"),
]


def dq_rows(duckdb_path: str, day: str) -> list[tuple]:
    import duckdb

    deadline = time.monotonic() + 30
    while True:
        try:
            with duckdb.connect(duckdb_path, read_only=True) as con:
                return con.execute(
                    "SELECT check_name, source, severity, workflow_id FROM dq_results WHERE check_date = ? ORDER BY source, check_name",
                    [day]).fetchall()
        except duckdb.IOException:  # the worker holds the file for a second after its last query
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_dag_run_stores_the_days_checks(stack):
    dagrun = run_dag("data_quality", DAY)
    assert dagrun.state == "success"
    rows = dq_rows(stack["DUCKDB_PATH"], DAY)
    assert len(rows) >= 10, rows
    assert {r[3] for r in rows} == {WORKFLOW_ID}
    assert {r[2] for r in rows} <= {"pass", "warn", "fail"}
    assert "completeness.missing_customer_id" in {r[0] for r in rows}


def test_same_day_twice_leaves_one_workflow_run(stack):
    before = dq_rows(stack["DUCKDB_PATH"], DAY)
    assert run_dag("data_quality", DAY).state == "success"
    runs = workflow_runs(stack["TEMPORAL_ADDRESS"], WORKFLOW_ID)
    assert len(runs) == 1, f"expected one run of {WORKFLOW_ID}, found {runs}"
    assert dq_rows(stack["DUCKDB_PATH"], DAY) == before
