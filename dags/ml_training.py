"""ml_training: train (and maybe promote) the revenue model, as the Temporal workflow ``trainingWorkflow``.

Weekly, Monday 03:00 UTC, for the week that just ended (logical date = its Monday); also triggered
by hand with parameters. The workflow ID is ``revenue-model-training-<logical date>``, or
``revenue-model-training-<run_id>`` for a manual run, which in Airflow 3 has no logical date.

The input contract is provisional until the training workflow exists (issue: revenue model):
``{"asOf": "YYYY-MM-DD", "trainFrom"?: ..., "trainTo"?: ..., "promote": bool}``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from retailflow_temporal import DEFAULT_ARGS, business_date, business_workflow_id, run_workflow

WORKFLOW_TYPE = "trainingWorkflow"
ID_PREFIX = "revenue-model-training"


@dag(
    dag_id="ml_training",
    schedule=CronDataIntervalTimetable("0 3 * * 1", timezone="UTC"),  # weekly, Monday 03:00 UTC
    start_date=datetime(2010, 12, 6, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # one training at a time
    default_args=DEFAULT_ARGS,
    params={
        "train_from": Param(None, type=["null", "string"], format="date", description="first day of training data (default: all)"),
        "train_to": Param(None, type=["null", "string"], format="date", description="last day of training data (default: the logical date)"),
        "promote": Param(True, type="boolean", description="promote the new version if it beats the current one"),
    },
    tags=["retailflow", "temporal", "ml"],
    doc_md=__doc__,
)
def ml_training():
    @task(execution_timeout=timedelta(hours=6))
    def run_training() -> dict:
        context = get_current_context()
        params = context["params"]
        as_of = business_date(context)
        workflow_id = business_workflow_id(ID_PREFIX, context)
        workflow_input = {"promote": bool(params.get("promote", True))}
        if as_of:
            workflow_input["asOf"] = as_of
        if params.get("train_from"):
            workflow_input["trainFrom"] = params["train_from"]
        if params.get("train_to") or as_of:
            workflow_input["trainTo"] = params.get("train_to") or as_of
        outcome = run_workflow(WORKFLOW_TYPE, workflow_input, workflow_id)
        return {k: outcome[k] for k in ("workflow_id", "run_id", "already_completed", "result")}

    run_training()


ml_training()
