"""pytest setup for the Airflow DAGs.

Airflow reads its configuration at import, so the environment is set here, before any test module
imports it: a throw-away AIRFLOW_HOME with a SQLite metadata DB, no example DAGs, and dags/ as the
DAGs folder. The end-to-end fixtures start the real services on free loopback ports (Temporal dev
server, Pub/Sub emulator, the TypeScript worker) and stop them afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

sys.dont_write_bytecode = True  # no __pycache__ in dags/ or tests_py/

ROOT = Path(__file__).resolve().parent.parent
DAGS = ROOT / "dags"
VENV_BIN = Path(sys.executable).parent
TMP = Path(tempfile.mkdtemp(prefix="retailflow-pytest-"))

os.environ["AIRFLOW_HOME"] = str(TMP / "airflow")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{TMP / 'airflow' / 'airflow.db'}"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "INFO"
os.environ["METADATA_SERVER_DETECTION"] = "none"
sys.path.insert(0, str(DAGS))  # as Airflow does for the DAGs folder


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001
    shutil.rmtree(TMP, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, what: str, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode} before it was ready:\n{tail}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout}s")


def tcp_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as r:
        return r.status == 200


class Services:
    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.logs = TMP / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
        log = self.logs / f"{name}.log"
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc))
        return proc, log

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=50)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """The metadata DB that dag.test() needs, migrated once per session."""
    subprocess.run([str(VENV_BIN / "airflow"), "db", "migrate"], check=True, env=os.environ.copy(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)


@pytest.fixture(scope="session")
def stack(airflow_db):  # noqa: ARG001
    """Temporal dev server + Pub/Sub emulator + the real TypeScript worker, with the data set loaded."""
    for tool in ("temporal", "pubsub-emulator"):
        if not (ROOT / ".tools" / "bin" / tool).exists():
            pytest.fail(f".tools/bin/{tool} is missing: run `npm run setup`")
    if not (ROOT / "dist" / "workers" / "main.js").exists():
        pytest.fail("dist/ is missing: run `npm run build`")

    services = Services()
    temporal_port, pubsub_port, metrics_port, health_port = free_port(), free_port(), free_port(), free_port()
    data_dir = TMP / "data"
    data_dir.mkdir()
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "TEMPORAL_NAMESPACE": "default",
        "TEMPORAL_TASK_QUEUE": "retailflow-airflow-test",
        "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{pubsub_port}",
        "PUBSUB_PROJECT_ID": "retailflow-test",
        "DUCKDB_PATH": str(data_dir / "warehouse.duckdb"),
        "DATA_DIR": str(data_dir),
        "MODEL_STORE_DIR": str(data_dir / "models"),
        "MODEL_INFO_PATH": str(data_dir / "model_info.md"),
        "WAREHOUSE": "duckdb",
        "RETAILFLOW_ENV": "local",
        "WORKER_METRICS_PORT": str(metrics_port),
        "WORKER_HEALTH_PORT": str(health_port),
        "LOG_LEVEL": "warn",
    }
    try:
        temporal, tlog = services.start("temporal", [
            str(ROOT / ".tools" / "bin" / "temporal"), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(temporal_port),
            "--headless", "--db-filename", str(TMP / "temporal.db"),
            "--search-attribute", "AnalyticsDate=Datetime", "--search-attribute", "PipelineStage=Keyword",
            "--log-level", "error",
        ], env)
        pubsub, plog = services.start("pubsub-emulator", [
            str(ROOT / ".tools" / "bin" / "pubsub-emulator"), "--host", "127.0.0.1", "--port", str(pubsub_port)], env)
        # Load the data set while the servers come up (the CLI opens the DuckDB file, then releases it).
        subprocess.run(["node", str(ROOT / "dist" / "tools" / "cli.js"), "ingest"], cwd=ROOT, env=env, check=True,
                       stdout=(services.logs / "ingest.log").open("wb"), stderr=subprocess.STDOUT, timeout=300)
        wait_until(lambda: tcp_open(temporal_port), "temporal", 60, temporal, tlog)
        wait_until(lambda: "pubsub-emulator listening on" in plog.read_text(), "pubsub-emulator", 30, pubsub, plog)
        worker, wlog = services.start("worker", ["node", "--enable-source-maps", str(ROOT / "dist" / "workers" / "main.js")], env)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{health_port}/health"), "worker", 180, worker, wlog)
        # The DAGs read these (environment defaults; AIRFLOW_VAR_* exercise the Airflow-variable path).
        os.environ["AIRFLOW_VAR_TEMPORAL_ADDRESS"] = env["TEMPORAL_ADDRESS"]
        os.environ["AIRFLOW_VAR_TEMPORAL_TASK_QUEUE"] = env["TEMPORAL_TASK_QUEUE"]
        os.environ["TEMPORAL_NAMESPACE"] = "default"
        yield {**env, "logs": services.logs}
    finally:
        services.stop()
