"""nbtrack sync against real MLflow servers that ask for credentials or speak TLS.

- MLflow's basic-auth app (``mlflow server --app-name basic-auth``, its own user database
  from a config file this test writes) with ``MLFLOW_TRACKING_USERNAME``/``PASSWORD``;
  its ``authorization_function`` (MLflow's documented hook) also accepts one bearer token,
  so ``MLFLOW_TRACKING_TOKEN`` is checked by the server itself.
- A TLS server (uvicorn's ``--ssl-keyfile``/``--ssl-certfile`` through ``--uvicorn-opts``)
  with a self-signed certificate made here, with and without
  ``MLFLOW_TRACKING_INSECURE_TLS``, and verified through ``MLFLOW_TRACKING_SERVER_CERT_PATH``.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import textwrap
import time
import uuid

import pytest
from click.testing import CliRunner
from mlflow_servers import read_back, start_mlflow

import nbtrack
import nbtrack.sync
from nbtrack.cli import main
from nbtrack.errors import SyncError

pytestmark = pytest.mark.slow

ADMIN = f"sync-admin-{uuid.uuid4().hex[:6]}"
PASSWORD = secrets.token_urlsafe(12)
TOKEN = secrets.token_urlsafe(16)
CREDENTIAL_VARS = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_INSECURE_TLS",
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
)

# MLflow's custom authentication hook: a bearer token (known to the server through its
# environment) logs in as the admin; anything else goes to MLflow's own basic auth.
TOKEN_AUTH = """
import os
from flask import request
from werkzeug.datastructures import Authorization
from mlflow.server.auth import authenticate_request_basic_auth, make_basic_auth_response


def authenticate():
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        if header[len("Bearer "):] == os.environ["SYNC_TEST_TOKEN"]:
            return Authorization("bearer", {"username": os.environ["SYNC_TEST_ADMIN"]})
        return make_basic_auth_response()
    return authenticate_request_basic_auth()
"""


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch):
    for var in CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-auth")
    (folder / "sync_token_auth.py").write_text(TOKEN_AUTH)
    (folder / "auth.ini").write_text(
        textwrap.dedent(
            f"""\
            [mlflow]
            default_permission = READ
            database_uri = sqlite:///{folder / "auth.db"}
            admin_username = {ADMIN}
            admin_password = {PASSWORD}
            authorization_function = sync_token_auth:authenticate
            """
        )
    )
    env = {
        "MLFLOW_AUTH_CONFIG_PATH": str(folder / "auth.ini"),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
        "PYTHONPATH": str(folder),
        "SYNC_TEST_TOKEN": TOKEN,
        "SYNC_TEST_ADMIN": ADMIN,
    }
    server = start_mlflow(
        f"sqlite:///{folder / 'mlflow.db'}", folder, args=("--app-name", "basic-auth"), env=env
    )
    yield server
    server.stop()


def self_signed(folder):
    """A key and a self-signed certificate for 127.0.0.1 (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = folder / "key.pem", folder / "cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-tls")
    key, cert = self_signed(folder)
    server = start_mlflow(
        f"sqlite:///{folder / 'mlflow.db'}",
        folder,
        args=("--uvicorn-opts", f"--ssl-keyfile {key} --ssl-certfile {cert}"),
        scheme="https",
    )
    yield server, cert
    server.stop()


def one_run(name: str) -> str:
    nbtrack.set_experiment(name)
    with nbtrack.start_run() as run:
        nbtrack.log_param("alpha", "0.5")
        for step in range(3):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
    return run.info.run_id


def store_bytes(fresh_store) -> bytes:
    nbtrack.store.close_all()
    return b"".join(p.read_bytes() for p in fresh_store.parent.glob("*.db*"))


def test_basic_auth_push_and_pull_with_mlflow_variables(
    auth_server, monkeypatch, fresh_store, tmp_path
):
    name = f"auth-{uuid.uuid4().hex[:8]}"
    run_id = one_run(name)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    result = CliRunner().invoke(
        main, ["sync", "push", "--to", auth_server.url, "--experiment", name]
    )
    assert result.exit_code == 0, result.output
    assert "1 runs created" in result.output
    outputs = [result.output]
    (remote,) = read_back(auth_server.url, name)  # MLflow's client, the same variables
    assert remote["tags"]["nbtrack.local_run_id"] == run_id
    assert len(remote["histories"]["loss"]) == 3
    pulled = tmp_path / "pulled.db"
    result = CliRunner().invoke(
        main,
        [
            "--tracking-uri",
            str(pulled),
            "sync",
            "pull",
            "--from",
            auth_server.url,
            "--experiment",
            name,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 new runs" in result.output
    outputs.append(result.output)
    assert all(PASSWORD not in out and ADMIN not in out for out in outputs)
    data = store_bytes(fresh_store) + b"".join(p.read_bytes() for p in tmp_path.glob("*.db*"))
    assert PASSWORD.encode() not in data and ADMIN.encode() not in data


def test_wrong_password_is_a_clear_error_and_sends_nothing(auth_server, monkeypatch, fresh_store):
    name = f"auth-{uuid.uuid4().hex[:8]}"
    one_run(name)
    wrong = "not-" + PASSWORD
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", wrong)
    with pytest.raises(SyncError, match="HTTP 401") as error:
        nbtrack.sync.push(auth_server.url, experiments=[name])
    message = str(error.value)
    assert "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD" in message
    assert "check them" in message and wrong not in message
    result = CliRunner().invoke(main, ["sync", "push", "--to", auth_server.url])
    assert result.exit_code == 1 and "HTTP 401" in result.output
    assert wrong not in result.output
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    with pytest.raises(SyncError, match="set MLFLOW_TRACKING_USERNAME"):
        nbtrack.sync.push(auth_server.url, experiments=[name])
    assert wrong.encode() not in store_bytes(fresh_store)
    assert read_back_as_admin(auth_server.url, name, monkeypatch) == []


def read_back_as_admin(url: str, name: str, monkeypatch) -> list[dict]:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    return read_back(url, name)


def test_bearer_token_reaches_the_server(auth_server, monkeypatch, fresh_store):
    name = f"auth-{uuid.uuid4().hex[:8]}"
    one_run(name)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "wrong-" + TOKEN)
    with pytest.raises(SyncError, match="credentials from MLFLOW_TRACKING_TOKEN"):
        nbtrack.sync.push(auth_server.url, experiments=[name])
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    report = nbtrack.sync.push(auth_server.url, experiments=[name])
    assert report.runs_created == 1
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
    assert len(read_back_as_admin(auth_server.url, name, monkeypatch)) == 1
    assert TOKEN.encode() not in store_bytes(fresh_store)


def test_tls_needs_trust_and_names_the_variable(tls_server):
    server, _ = tls_server
    name = f"tls-{uuid.uuid4().hex[:8]}"
    one_run(name)
    started = time.monotonic()
    with pytest.raises(SyncError, match="certificate") as error:
        nbtrack.sync.push(server.url, experiments=[name])
    assert time.monotonic() - started < 5  # refused at once, not retried as a dropped line
    assert "MLFLOW_TRACKING_INSECURE_TLS=true" in str(error.value)
    assert "MLFLOW_TRACKING_SERVER_CERT_PATH" in str(error.value)
    result = CliRunner().invoke(main, ["sync", "push", "--to", server.url])
    assert result.exit_code == 1 and "MLFLOW_TRACKING_INSECURE_TLS" in result.output


def test_tls_insecure_variable_and_cert_path_push(tls_server, monkeypatch):
    server, cert = tls_server
    first, second = (f"tls-{uuid.uuid4().hex[:8]}" for _ in range(2))
    one_run(first)
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    assert nbtrack.sync.push(server.url, experiments=[first]).runs_created == 1
    (remote,) = read_back(server.url, first)  # MLflow's client honours the same variable
    assert len(remote["histories"]["loss"]) == 3
    monkeypatch.delenv("MLFLOW_TRACKING_INSECURE_TLS")
    one_run(second)
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(cert))
    assert nbtrack.sync.push(server.url, experiments=[second]).runs_created == 1
    report = nbtrack.sync.pull(server.url, experiments=[first])
    assert report.runs_new == 0  # the pushed run came home, not as a copy
    (run,) = nbtrack.search_runs(experiment_names=[first], output_format="list")
    assert len(nbtrack.MlflowClient().get_metric_history(run.info.run_id, "loss")) == 3
