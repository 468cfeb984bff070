"""A small client for MLflow's documented REST API 2.0, as ``mlflow server`` serves it.

Authentication follows MLflow's environment variables: ``MLFLOW_TRACKING_TOKEN`` (a bearer
token), ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` (basic auth), and
``MLFLOW_TRACKING_INSECURE_TLS=true`` (no certificate check) and
``MLFLOW_TRACKING_SERVER_CERT_PATH`` (a CA bundle to verify the server with). Credentials in the URL
(``https://user:pass@host``) work too; they are taken out of the URL, so the server's name
as recorded in the store and printed in messages never carries them.

Artifacts go through the server's artifact proxy (``mlflow server --serve-artifacts``):
``/api/2.0/mlflow-artifacts/artifacts/<path>``.
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from nbtrack.errors import InvalidParameter, SyncError, missing

API = "/api/2.0/mlflow"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
RETRIES = 5  # for dropped connections and busy servers (see _transient)
# An overloaded MLflow server answers some requests with these, its database untouched
_BUSY_MESSAGES = ("QueuePool limit", "database is locked", "deadlock detected")
TIMEOUT_S = 120.0

# MLflow's own limits on one log-batch request (mlflow/utils/validation.py)
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
SEARCH_PAGE = 1000
HISTORY_PAGE = 25000


def server_url(url: str) -> tuple[str, tuple[str, str] | None]:
    """The server's base URL without credentials, and the credentials it carried."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidParameter(
            f"the MLflow server must be an http:// or https:// URL such as "
            f"http://127.0.0.1:5000 (found {url!r})",
            argument="url",
        )
    parts = urlsplit(url)
    auth = (parts.username or "", parts.password or "") if parts.username else None
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", "")), auth


class RestClient:
    """Calls one MLflow tracking server; thread-safe (one connection pool shared).

    Parameters
    ----------
    url
        The server, e.g. ``http://127.0.0.1:5000``.
    """

    def __init__(self, url: str):
        try:
            import httpx
        except ImportError:
            raise missing("httpx", "sync", "syncing with an MLflow server") from None
        self.url, url_auth = server_url(url)
        headers = {"User-Agent": "nbtrack-sync"}
        auth: Any = None
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")
        user = os.environ.get("MLFLOW_TRACKING_USERNAME")
        # where the credentials came from, for a refusal's message (never their values)
        self.credentials = ""
        if token:
            headers["Authorization"] = f"Bearer {token}"
            self.credentials = "MLFLOW_TRACKING_TOKEN"
        elif user:
            auth = (user, os.environ.get("MLFLOW_TRACKING_PASSWORD", ""))
            self.credentials = "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD"
        elif url_auth:
            auth = url_auth
            self.credentials = "the user and password in the URL"
        self._httpx = httpx
        self._http = httpx.Client(
            headers=headers, auth=auth, verify=_tls_verify(), timeout=TIMEOUT_S
        )

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    # -- transport --------------------------------------------------------------------

    def _send(self, method: str, path: str, idempotent: bool = True, **kwargs: Any) -> Any:
        """One request, retried while the server is busy or (when ``idempotent``) unreachable.

        A creating request is not resent after a dropped connection: the server may have
        done it. The push then stops, and the next one finds the created run by its tag.
        """
        httpx = self._httpx
        for attempt in range(RETRIES + 1):
            try:
                response = self._http.request(method, self.url + path, **kwargs)
            except httpx.TransportError as exc:
                reason = _certificate_error(exc)
                if reason:
                    raise SyncError(
                        f"the MLflow server {self.url} has a TLS certificate this machine "
                        f"does not trust ({reason}); give its CA bundle in "
                        "MLFLOW_TRACKING_SERVER_CERT_PATH, or, if you trust the server (a "
                        "self-signed certificate), set MLFLOW_TRACKING_INSECURE_TLS=true",
                        url=self.url,
                    ) from None
                if attempt == RETRIES or not idempotent:
                    raise SyncError(
                        f"cannot reach the MLflow server {self.url} ({exc}); check that it "
                        "runs and the URL is right",
                        url=self.url,
                    ) from None
            else:
                if not _transient(response) or attempt == RETRIES:
                    return response
            time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def call(
        self,
        method: str,
        endpoint: str,
        body: dict | None = None,
        idempotent: bool = True,
        **params: Any,
    ) -> dict[str, Any]:
        """One JSON call to ``/api/2.0/mlflow/<endpoint>``; an error naming what failed."""
        kwargs: dict[str, Any] = {"idempotent": idempotent}
        if method == "GET":
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        else:
            kwargs["json"] = body or {}
        response = self._send(method, f"{API}/{endpoint}", **kwargs)
        if response.status_code != 200:
            raise _error(self.url, endpoint, response, self.credentials)
        return response.json() if response.content else {}

    def error_code(self, exc: SyncError) -> str:
        """MLflow's error code of a failed call (``RESOURCE_DOES_NOT_EXIST``…)."""
        return getattr(exc, "error_code_remote", "")

    def check(self) -> None:
        """Fail early, with a clear error, when the URL is not a reachable MLflow server."""
        self.call("GET", "experiments/search", max_results=1)

    # -- tracking ---------------------------------------------------------------------

    def experiment_by_name(self, name: str) -> dict[str, Any] | None:
        """The experiment with this name, or None."""
        try:
            return self.call("GET", "experiments/get-by-name", experiment_name=name)["experiment"]
        except SyncError as exc:
            if self.error_code(exc) == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise

    def create_experiment(self, name: str, tags: dict[str, str]) -> str:
        """Create an experiment; its id."""
        body = {"name": name, "tags": [{"key": k, "value": v} for k, v in tags.items()]}
        return str(self.call("POST", "experiments/create", body)["experiment_id"])

    def search_runs(
        self, experiment_id: str, filter_string: str = "", view: str = "ACTIVE_ONLY"
    ) -> Iterator[dict]:
        """Every active run of an experiment (``view="DELETED_ONLY"``: every deleted one)."""
        token = None
        while True:
            body: dict[str, Any] = {
                "experiment_ids": [experiment_id],
                "filter": filter_string,
                "max_results": SEARCH_PAGE,
                "run_view_type": view,
            }
            if token:
                body["page_token"] = token
            page = self.call("POST", "runs/search", body)
            yield from page.get("runs", [])
            token = page.get("next_page_token")
            if not token:
                return

    def deleted_run_ids(self, experiment_id: str) -> list[str]:
        """The ids of an experiment's deleted runs."""
        runs = self.search_runs(experiment_id, view="DELETED_ONLY")
        return [run["info"]["run_id"] for run in runs]

    def metric_history(self, run_id: str, key: str) -> list[dict]:
        """Every point of one metric history."""
        points: list[dict] = []
        token = None
        while True:
            page = self.call(
                "GET",
                "metrics/get-history",
                run_id=run_id,
                metric_key=key,
                max_results=HISTORY_PAGE,
                page_token=token,
            )
            points += page.get("metrics", [])
            token = page.get("next_page_token")
            if not token:
                return points

    # -- artifacts --------------------------------------------------------------------

    def upload(self, remote_path: str, local_file: Path) -> None:
        """Send one file to the artifact proxy at ``remote_path``."""
        with local_file.open("rb") as f:
            response = self._send("PUT", f"{ARTIFACTS_API}/{quote(remote_path)}", content=f.read())
        if response.status_code != 200:
            raise _error(self.url, f"artifact upload of {remote_path}", response, self.credentials)

    def download(self, remote_path: str, dest: Path) -> None:
        """Fetch one file from the artifact proxy into ``dest`` (written whole, then moved)."""
        response = self._send("GET", f"{ARTIFACTS_API}/{quote(remote_path)}")
        if response.status_code != 200:
            raise _error(
                self.url, f"artifact download of {remote_path}", response, self.credentials
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".nbtrack-partial")
        partial.write_bytes(response.content)
        partial.replace(dest)

    def list_artifacts(self, run_id: str, path: str = "") -> list[dict]:
        """The files and folders directly under ``path`` in a run's artifacts."""
        page = self.call("GET", "artifacts/list", run_id=run_id, path=path or None)
        return page.get("files", [])

    def call_artifacts_list(self, path: str) -> list[dict]:
        """The entries directly under ``path`` of the artifact proxy's root."""
        response = self._send("GET", ARTIFACTS_API, params={"path": path})
        if response.status_code != 200:
            raise _error(self.url, f"artifact listing of {path}", response, self.credentials)
        return response.json().get("files", [])


def artifact_path(artifact_uri: str) -> str:
    """The proxy path of a run's ``mlflow-artifacts:`` artifact URI."""
    if not artifact_uri.startswith("mlflow-artifacts:"):
        raise SyncError(
            f"the server stores artifacts at {artifact_uri!r}, which nbtrack cannot reach "
            "through the server; start it with `mlflow server --serve-artifacts` so "
            "artifacts go through its proxy",
            path=artifact_uri,
        )
    rest = artifact_uri[len("mlflow-artifacts:") :]
    if rest.startswith("//"):
        rest = rest[2:].split("/", 1)[1] if "/" in rest[2:] else ""
    return rest.strip("/")


def _tls_verify() -> ssl.SSLContext | bool:
    """How to check the server's certificate, from MLflow's environment variables."""
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() in ("1", "true"):
        return False
    bundle = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH")
    if bundle:
        try:
            return ssl.create_default_context(cafile=bundle)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidParameter(
                f"MLFLOW_TRACKING_SERVER_CERT_PATH names {bundle!r}, which is not a readable "
                f"CA bundle ({exc}); point it at the server's certificate or CA in PEM form",
                argument="MLFLOW_TRACKING_SERVER_CERT_PATH",
            ) from None
    return True


def _certificate_error(exc: BaseException) -> str:
    """The reason when a connection failed on the server's TLS certificate, else ``""``."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause.verify_message or str(cause)
        cause = cause.__cause__ or cause.__context__
    return "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in str(exc) else ""


def _transient(response: Any) -> bool:
    """Whether an answer means "busy, try again" (every request sync retries is idempotent)."""
    if response.status_code in (429, 502, 503, 504):
        return True
    if response.status_code in (400, 500):
        text = response.text[:2000]
        return any(message in text for message in _BUSY_MESSAGES)
    return False


def _error(url: str, what: str, response: Any, credentials: str = "") -> SyncError:
    code, message = "", response.text[:500]
    try:
        payload = response.json()
        code, message = payload.get("error_code", ""), payload.get("message", message)
    except ValueError:
        pass
    hint = {
        401: f"; the server did not accept the credentials from {credentials}: check them"
        if credentials
        else "; set MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN",
        403: "; the credentials lack permission for this",
        404: "; is this an MLflow tracking server (and started with --serve-artifacts)?",
    }.get(response.status_code, "")
    error = SyncError(
        f"the MLflow server {url} refused {what} (HTTP {response.status_code}"
        f"{', ' + code if code else ''}): {message}{hint}",
        url=url,
        status_code=response.status_code,
    )
    error.error_code_remote = code  # type: ignore[attr-defined]
    return error
