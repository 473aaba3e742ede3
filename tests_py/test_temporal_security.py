"""The DAGs reach Temporal the way the Node processes do: plaintext by default, TLS with a key or a CA."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dags"))

import retailflow_temporal as rt  # noqa: E402

VARIABLES = ("TEMPORAL_TLS", "TEMPORAL_API_KEY", "TEMPORAL_API_KEY_FILE", "TEMPORAL_TLS_CA_FILE", "TEMPORAL_TLS_CERT_FILE", "TEMPORAL_TLS_KEY_FILE", "TEMPORAL_TLS_SERVER_NAME")


def clear(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_plaintext_by_default(monkeypatch):
    clear(monkeypatch)
    assert rt.connect_security() == {}


def test_api_key_implies_tls(monkeypatch):
    clear(monkeypatch)
    monkeypatch.setenv("TEMPORAL_API_KEY", "key-0123456789")
    options = rt.connect_security()
    assert options["api_key"] == "key-0123456789"
    assert type(options["tls"]).__name__ == "TLSConfig"


def test_files_are_read(monkeypatch, tmp_path):
    clear(monkeypatch)
    (tmp_path / "ca.crt").write_bytes(b"CA BYTES")
    (tmp_path / "key").write_text("from-file-key\n")
    monkeypatch.setenv("TEMPORAL_TLS_CA_FILE", str(tmp_path / "ca.crt"))
    monkeypatch.setenv("TEMPORAL_API_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "temporal.example.com")
    options = rt.connect_security()
    assert options["api_key"] == "from-file-key"
    assert options["tls"].server_root_ca_cert == b"CA BYTES"
    assert options["tls"].domain == "temporal.example.com"
