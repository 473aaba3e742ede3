"""Every DAG file imports cleanly and declares what the platform expects."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parent.parent / "dags"

EXPECTED = {
    # dag_id: (task ids, cron, catchup)
    "daily_analytics": ({"run_daily_analytics"}, "0 0 * * *", False),
    "data_quality": ({"run_data_quality"}, "0 0 * * *", False),
    "ml_training": ({"run_training"}, "0 3 * * 1", False),
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_expected_dags(dagbag):
    assert set(dagbag.dag_ids) == set(EXPECTED)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dag_shape(dagbag, dag_id):
    tasks, cron, catchup = EXPECTED[dag_id]
    dag = dagbag.dags[dag_id]  # not get_dag(): that reads the metadata DB
    assert set(dag.task_ids) == tasks
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    assert dag.timetable.expression == cron
    assert str(dag.timetable.timezone) == "UTC"
    assert dag.catchup is catchup
    for t in dag.tasks:
        assert t.retries == 2
        assert t.execution_timeout is not None


@pytest.mark.parametrize("path", sorted(DAGS.glob("*.py")), ids=lambda p: p.name)
def test_nothing_connects_at_import(path):
    """temporalio is imported only inside functions, never at module level."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("temporalio") for a in node.names), path
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("temporalio"), path
