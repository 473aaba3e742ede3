"""data_quality: the day's data quality checks, as the Temporal workflow ``dataQualityWorkflow``.

Runs daily for logical date D once D is over; ID ``data-quality-D``. A manual run with no logical
date checks ``params.date`` (ID ``data-quality-<run_id>`` when neither is given).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from retailflow_temporal import DEFAULT_ARGS, run_per_day_workflow

WORKFLOW_TYPE = "dataQualityWorkflow"
ID_PREFIX = "data-quality"


@dag(
    dag_id="data_quality",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),  # @daily
    start_date=datetime(2010, 12, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    params={"date": Param(None, type=["null", "string"], format="date", description="manual runs: the day to check (YYYY-MM-DD)")},
    tags=["retailflow", "temporal", "data-quality"],
    doc_md=__doc__,
)
def data_quality():
    @task(execution_timeout=timedelta(hours=1))
    def run_data_quality() -> dict:
        outcome = run_per_day_workflow(WORKFLOW_TYPE, ID_PREFIX)
        return {k: outcome[k] for k in ("workflow_id", "run_id", "already_completed", "result")}

    run_data_quality()


data_quality()
