"""End to end: the ml_training DAG through dag.test() with parameters, against the live dev server
and the real worker; the effect is a registered (and, being the first, promoted) model version."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from test_e2e_daily_analytics import workflow_runs

ROOT = Path(__file__).resolve().parent.parent
DAY = "2011-12-05"
WORKFLOW_ID = f"model-training-{DAY}"

pytestmark = [pytest.mark.e2e]


def model_rows(duckdb_path: str) -> list[tuple]:
    import duckdb

    deadline = time.monotonic() + 30
    while True:
        try:
            with duckdb.connect(duckdb_path, read_only=True) as con:
                return con.execute("SELECT version, status, params, test_from FROM model_versions ORDER BY created_at").fetchall()
        except duckdb.IOException:  # the worker holds the file for a second after its last query
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_dag_run_registers_and_promotes_a_model(stack):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["ml_training"]
    # Small and quick: every 20th training line, 10 trees.
    dagrun = dag.test(logical_date=datetime.fromisoformat(DAY).replace(tzinfo=timezone.utc),
                      run_conf={"n_trees": 10, "train_stride": 20})
    assert dagrun.state == "success"
    rows = model_rows(stack["DUCKDB_PATH"])
    assert len(rows) == 1, rows
    version, status, params, test_from = rows[0]
    assert status == "promoted"
    assert '"nTrees":10' in params.replace(" ", "")
    assert str(test_from) == "2011-11-01"
    assert len(workflow_runs(stack["TEMPORAL_ADDRESS"], WORKFLOW_ID)) == 1
    assert (Path(stack["MODEL_STORE_DIR"]) / f"{version}.rfm").exists()
