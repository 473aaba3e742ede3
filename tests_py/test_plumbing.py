"""Unit tests of dags/retailflow_temporal.py: business IDs and where the settings come from."""

from __future__ import annotations

from datetime import datetime, timezone

import pendulum
import pytest

from retailflow_temporal import business_date, business_workflow_id, temporal_settings


def test_id_from_the_logical_date_in_utc():
    ctx = {"logical_date": pendulum.datetime(2011, 12, 9, 23, 30, tz="America/New_York"), "run_id": "scheduled__x"}
    assert business_date(ctx) == "2011-12-10"  # 04:30 UTC the next day
    assert business_workflow_id("daily-analytics", {"logical_date": datetime(2011, 12, 9, tzinfo=timezone.utc)}) == "daily-analytics-2011-12-09"


def test_manual_run_without_logical_date_falls_back_to_the_run_id():
    ctx = {"logical_date": None, "run_id": "manual__2026-11-24T20:00:00+00:00"}
    assert business_date(ctx) is None
    assert business_workflow_id("model-training", ctx) == "model-training-manual__2026-11-24T20:00:00+00:00"
    # ...unless the DAG was given a date as a parameter.
    assert business_workflow_id("daily-analytics", ctx, "2011-12-09") == "daily-analytics-2011-12-09"
    with pytest.raises(ValueError):
        business_workflow_id("x", {"logical_date": None})


def test_settings_variables_override_the_environment(monkeypatch):
    for key in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "TEMPORAL_UI_URL", "TEMPORAL_UI_PORT",
                "AIRFLOW_VAR_TEMPORAL_ADDRESS", "AIRFLOW_VAR_TEMPORAL_TASK_QUEUE", "AIRFLOW_CONN_TEMPORAL_DEFAULT"):
        monkeypatch.delenv(key, raising=False)
    s = temporal_settings()
    assert (s.address, s.namespace, s.task_queue, s.ui_url) == ("127.0.0.1:7233", "default", "retailflow", "http://127.0.0.1:8233")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "analytics")
    monkeypatch.setenv("TEMPORAL_UI_URL", "https://temporal.example.internal")
    monkeypatch.setenv("AIRFLOW_VAR_TEMPORAL_TASK_QUEUE", "from-variable")
    s = temporal_settings()
    assert (s.address, s.namespace, s.task_queue) == ("temporal:7233", "analytics", "from-variable")
    assert s.workflow_link("daily-analytics-2011-12-09", "r1") == (
        "https://temporal.example.internal/namespaces/analytics/workflows/daily-analytics-2011-12-09/r1/history")
