"""temporal-compose.yml: valid for Compose (Debian's docker-compose, no Docker engine needed) and
consistent with the code: required settings set, ports agreeing, build context and targets present."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "temporal-compose.yml"
ENV_EXAMPLE = ROOT / ".env.compose.example"

NODE_SERVICES = {"worker": "dist/workers/main.js", "api": "dist/api/server.js", "consumer": "dist/workers/consumer.js"}
AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor"}
ONE_SHOT = {"temporal-schema", "temporal-setup", "airflow-init"}


@pytest.fixture(scope="module")
def env_file(tmp_path_factory) -> Path:
    """The example env file, with the key file pointing at a file that exists."""
    tmp = tmp_path_factory.mktemp("compose")
    key = tmp / "gcp-key.json"
    key.write_text("{}")
    api_keys = tmp / "api-keys"
    api_keys.write_text("0123456789abcdef0123456789abcdef\n")
    text = re.sub(r"(?m)^GCP_KEY_FILE=.*$", f"GCP_KEY_FILE={key}", ENV_EXAMPLE.read_text())
    text = re.sub(r"(?m)^API_KEYS_HOST_FILE=.*$", f"API_KEYS_HOST_FILE={api_keys}", text)
    path = tmp / "env"
    path.write_text(text)
    return path


def compose_config(env_file: Path, *extra: str) -> subprocess.CompletedProcess:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose (the validator) is missing: run `npm run setup`")
    env = {"PATH": "/usr/bin:/bin", "RETAILFLOW_ENV_FILE": str(env_file)}
    return subprocess.run([exe, "--env-file", str(env_file), "-f", str(COMPOSE), "config", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def config(env_file) -> dict:
    result = compose_config(env_file)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_validates(env_file):
    result = compose_config(env_file, "-q")
    assert result.returncode == 0, result.stderr


def test_missing_secret_is_an_error(tmp_path):
    """Secrets have no defaults: without the env file's passwords, Compose refuses to start."""
    empty = tmp_path / "env"
    empty.write_text("")
    result = compose_config(empty, "-q")
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr or "GCP_KEY_FILE" in result.stderr or "AIRFLOW_DB_PASSWORD" in result.stderr


def test_no_secret_inline():
    text = COMPOSE.read_text()
    for line in text.splitlines():
        m = re.match(r"\s*([A-Z_]*(PASSWORD|PWD|SECRET|FERNET_KEY|SQL_ALCHEMY_CONN)[A-Z_]*)\s*:\s*(.+)", line)
        if m:
            assert m.group(3).strip().startswith("${"), f"inline secret: {line.strip()}"


def test_expected_services(config):
    services = config["services"]
    for name in ["postgresql", "temporal", "temporal-ui", *NODE_SERVICES, "airflow-postgres", *AIRFLOW_SERVICES, *ONE_SHOT]:
        assert name in services, name
    assert services["temporal"]["environment"]["DB"].startswith("postgres")


def test_health_checks_and_restart_policies(config):
    for name, svc in config["services"].items():
        if name in ONE_SHOT:
            assert svc.get("restart") == "no", name
            continue
        assert svc.get("restart") in ("unless-stopped", "always"), name
        assert "healthcheck" in svc, name


def test_images_are_pinned(config):
    for name, svc in config["services"].items():
        if "build" in svc:
            continue
        image = svc["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: {image}"


def test_build_context_and_targets_exist(config):
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = set(re.findall(r"(?im)^FROM\s+\S+\s+AS\s+(\S+)", dockerfile))
    for name, svc in config["services"].items():
        if "build" not in svc:
            continue
        context = Path(svc["build"]["context"])
        assert context.is_dir(), f"{name}: build context {context}"
        assert (context / svc["build"].get("dockerfile", "Dockerfile")).is_file(), name
        assert svc["build"]["target"] in stages, f"{name}: target {svc['build']['target']} not in {stages}"
    for copied in re.findall(r"(?m)^COPY\s+(?!--from)(.+)\s+\S+$", dockerfile):
        for src in copied.split():
            assert (ROOT / src).exists(), f"Dockerfile copies {src}, which does not exist"


def test_node_services_run_built_entry_points(config):
    for name, script in NODE_SERVICES.items():
        cmd = config["services"][name]["command"]
        assert cmd == ["node", script], name
        source = ROOT / script.replace("dist/", "", 1).replace(".js", ".ts")
        assert source.is_file(), f"{name}: {source} does not exist"


def code_env_names() -> set[str]:
    """Every environment variable the TypeScript code reads."""
    names: set[str] = set()
    for ts in [*ROOT.glob("lib/**/*.ts"), *ROOT.glob("workers/*.ts"), *ROOT.glob("api/**/*.ts"), *ROOT.glob("activities/*.ts")]:
        text = ts.read_text()
        names |= set(re.findall(r"\b(?:str|int|oneOf|decimal|bool|dir|optional)\('([A-Z][A-Z0-9_]+)'", text))
        names |= set(re.findall(r"\benv\.([A-Z][A-Z0-9_]+)", text))
    return names


def test_node_environment_is_complete_and_known(config):
    known = code_env_names() | {"GOOGLE_APPLICATION_CREDENTIALS", "NODE_ENV", "NODE_OPTIONS"}
    for name in NODE_SERVICES:
        env = config["services"][name]["environment"]
        # In a container, loopback defaults are wrong: these must point at the services.
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["RETAILFLOW_ENV"] == "cloud" and env["WAREHOUSE"] == "bigquery"
        for required in ("BIGQUERY_PROJECT", "BIGQUERY_DATASET", "PUBSUB_PROJECT_ID", "GOOGLE_APPLICATION_CREDENTIALS", "TEMPORAL_TASK_QUEUE"):
            assert env.get(required), f"{name}: {required} is not set"
        assert "PUBSUB_EMULATOR_HOST" not in env and "BIGQUERY_EMULATOR_HOST" not in env
        unknown = {k for k in env if k not in known and not k.startswith(("AIRFLOW", "POSTGRES", "GCP_KEY"))} - {"AIRFLOW_DB_PASSWORD", "API_KEYS_HOST_FILE"}
        assert not unknown, f"{name}: variables the code never reads (typo?): {sorted(unknown)}"
        assert env["GOOGLE_APPLICATION_CREDENTIALS"] in mounts(config["services"][name]), "the key file is not mounted"


WRITABLE_PATHS = ("DATA_DIR", "DUCKDB_PATH", "MODEL_STORE_DIR", "MODEL_INFO_PATH")


def test_node_services_write_only_to_the_data_volume(config):
    """The app image runs as node with /app owned by root: every path the code writes must be on the volume."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    for name in NODE_SERVICES:
        svc = config["services"][name]
        env = svc["environment"]
        volume_dirs = [target for target, source in mounts(svc).items() if not target.startswith("/run/secrets")]
        for key in WRITABLE_PATHS:
            assert env.get(key), f"{name}: {key} is not set (its default is under /app, not writable in the image)"
            on_volume = any(env[key] == d or env[key].startswith(d.rstrip("/") + "/") for d in volume_dirs)
            assert on_volume, f"{name}: {key}={env[key]} is not on a volume {volume_dirs}"
        for d in volume_dirs:
            assert f"chown node:node {d}" in dockerfile, f"the image does not create {d} for the node user"


def published(svc: dict) -> dict[int, str]:
    """container port -> host IP it is published on (long or short syntax, as the validator prints it)."""
    out = {}
    for p in svc.get("ports", []):
        if isinstance(p, dict):
            out[int(p["target"])] = p.get("host_ip", "")
        else:
            parts = str(p).split("/")[0].split(":")
            out[int(parts[-1])] = parts[0] if len(parts) == 3 else ""
    return out


def mounts(svc: dict) -> dict[str, str]:
    """target -> source of each volume (long or short syntax)."""
    out = {}
    for v in svc.get("volumes", []):
        if isinstance(v, dict):
            out[v["target"]] = v.get("source", "")
        else:
            source, target = str(v).split(":")[:2]
            out[target] = source
    return out


def test_ports_agree(config):
    s = config["services"]
    checks = {
        "api": ("API_PORT", "API_HOST"),
        "worker": ("WORKER_METRICS_PORT", "WORKER_METRICS_HOST"),
        "consumer": ("STREAM_METRICS_PORT", "STREAM_METRICS_HOST"),
    }
    for name, (port_var, host_var) in checks.items():
        env = s[name]["environment"]
        assert int(env[port_var]) in published(s[name]), f"{name}: {port_var}={env[port_var]} is not the published port"
        assert env[host_var] == "0.0.0.0", f"{name}: {host_var} must listen on the container network"
    # Health checks probe the ports the processes listen on.
    assert f":{s['api']['environment']['API_PORT']}/health" in " ".join(s["api"]["healthcheck"]["test"])
    assert f":{s['worker']['environment']['WORKER_HEALTH_PORT']}/health" in " ".join(s["worker"]["healthcheck"]["test"])
    assert f":{s['consumer']['environment']['STREAM_HEALTH_PORT']}/health" in " ".join(s["consumer"]["healthcheck"]["test"])
    assert 7233 in published(s["temporal"]) and 8233 in published(s["temporal-ui"])
    assert s["temporal-ui"]["environment"]["TEMPORAL_UI_PORT"] == "8233"
    for svc in s.values():  # nothing published beyond loopback
        assert all(ip == "127.0.0.1" for ip in published(svc).values())


def test_airflow_mounts_the_dags_and_reaches_temporal(config):
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        svc = config["services"][name]
        source = mounts(svc).get(svc["environment"]["AIRFLOW__CORE__DAGS_FOLDER"])
        assert source and Path(source).resolve() == (ROOT / "dags").resolve(), f"{name}: dags/ is not mounted at the DAGs folder"
        assert svc["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert svc["environment"]["TEMPORAL_TASK_QUEUE"] == config["services"]["worker"]["environment"]["TEMPORAL_TASK_QUEUE"]
        assert svc["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")


def test_secret_files_live_outside_the_repository():
    """The example points every key file outside the checkout (the processes refuse one inside it)."""
    for name in ("GCP_KEY_FILE", "API_KEYS_HOST_FILE"):
        m = re.search(rf"(?m)^{name}=(.+)$", ENV_EXAMPLE.read_text())
        assert m, name
        path = Path(m.group(1).strip())
        assert path.is_absolute() and ROOT not in path.parents, f"{name}={path}"


def test_api_requires_its_keys(config):
    """Cloud mode turns API auth on: the API gets its key file mounted where API_KEYS_FILE says."""
    api = config["services"]["api"]
    env = api["environment"]
    assert env["RETAILFLOW_ENV"] == "cloud"
    assert env["API_KEYS_FILE"] in mounts(api)
    assert "API_AUTH" not in env, "auth is on by default in cloud mode; nothing here turns it off"
