"""daily_analytics: one day's KPIs, as the Temporal workflow ``dailyAnalyticsWorkflow``.

Runs daily; the run for logical date D starts once D is over (data interval [D, D+1) in UTC) and
analyses D. The workflow ID is ``daily-analytics-D``, the same one the CLI uses, so a day started
from either side is one workflow. A manual run with no logical date analyses ``params.date`` if
given, else lets the workflow pick the day before it started (ID ``daily-analytics-<run_id>``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from retailflow_temporal import DEFAULT_ARGS, run_per_day_workflow

WORKFLOW_TYPE = "dailyAnalyticsWorkflow"
ID_PREFIX = "daily-analytics"


@dag(
    dag_id="daily_analytics",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),  # @daily, logical date = the day analysed
    start_date=datetime(2010, 12, 1, tzinfo=timezone.utc),
    catchup=False,  # history is backfilled by Temporal's backfillWorkflow, not by Airflow catch-up
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    params={"date": Param(None, type=["null", "string"], format="date", description="manual runs: the day to analyse (YYYY-MM-DD)")},
    tags=["retailflow", "temporal", "analytics"],
    doc_md=__doc__,
)
def daily_analytics():
    @task(execution_timeout=timedelta(hours=1))
    def run_daily_analytics() -> dict:
        outcome = run_per_day_workflow(WORKFLOW_TYPE, ID_PREFIX)
        kpis = outcome["result"]["kpis"]
        return {**{k: outcome[k] for k in ("workflow_id", "run_id", "already_completed")}, "date": outcome["result"]["date"], "kpis": kpis}

    run_daily_analytics()


daily_analytics()
