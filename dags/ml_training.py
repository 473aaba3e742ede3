"""ml_training: train (and maybe promote) the revenue model, as the Temporal workflow ``trainingWorkflow``.

Weekly, Monday 03:00 UTC; also triggered by hand with parameters. The workflow ID is
``model-training-<logical date>``, or ``model-training-<run_id>`` for a manual run, which in
Airflow 3 has no logical date. Input (workflows/training.ts ``TrainingInput``):
``{"boundary"?: "YYYY-MM-DD", "params"?: {"nTrees": ..., ...}, "tolerance"?: float, "trainStride"?: int}``.
The promotion gate is the workflow's: Airflow only reports its verdict.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from retailflow_temporal import DEFAULT_ARGS, business_workflow_id, run_workflow

WORKFLOW_TYPE = "trainingWorkflow"
ID_PREFIX = "model-training"


@dag(
    dag_id="ml_training",
    schedule=CronDataIntervalTimetable("0 3 * * 1", timezone="UTC"),  # weekly, Monday 03:00 UTC
    start_date=datetime(2010, 12, 6, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # one training at a time
    default_args=DEFAULT_ARGS,
    params={
        "boundary": Param("2011-11-01", type="string", format="date", description="first day of the holdout split"),
        "n_trees": Param(100, type="integer", minimum=1, maximum=500, description="trees in the forest"),
        "tolerance": Param(None, type=["null", "number"], minimum=0, description="gate: promote if holdout MAE <= current x (1 + this); default from the worker"),
        "train_stride": Param(1, type="integer", minimum=1, description="keep every n-th training row (quick trials)"),
    },
    tags=["retailflow", "temporal", "ml"],
    doc_md=__doc__,
)
def ml_training():
    @task(execution_timeout=timedelta(hours=6))
    def run_training() -> dict:
        context = get_current_context()
        params = context["params"]
        workflow_id = business_workflow_id(ID_PREFIX, context)
        workflow_input = {
            "boundary": params["boundary"],
            "params": {"nTrees": int(params["n_trees"])},
            "trainStride": int(params["train_stride"]),
        }
        if params.get("tolerance") is not None:
            workflow_input["tolerance"] = float(params["tolerance"])
        outcome = run_workflow(WORKFLOW_TYPE, workflow_input, workflow_id)
        return {k: outcome[k] for k in ("workflow_id", "run_id", "already_completed", "result")}

    run_training()


ml_training()
