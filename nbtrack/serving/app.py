"""The ASGI application of ``nbtrack models serve``: MLflow's scoring routes on Starlette.

=========================  ==========================================================
``GET /ping``, ``/health``  200 once the model is loaded (MLflow's health check)
``GET /version``            the nbtrack version serving
``POST /invocations``       predictions for a JSON, CSV or Parquet body (MLflow's protocol)
=========================  ==========================================================

Every error is MLflow's JSON body ``{"error_code": ..., "message": ...}`` with a 4xx status
(5xx only for a request that exceeds the time limit or a server fault), and the server keeps
serving. Bodies over the size limit get 413 before they are parsed.

Parsing and predicting run in one worker thread per process, one request after another:
the event loop stays free for ``/ping`` and for reading the next requests, and a request
that waits or works longer than the time limit is answered 504. One thread, not a pool,
because the GIL lets one prediction run at a time anyway and every hand-over between
threads costs (measured: about 1.5× the throughput of asyncio's default pool on 2 cores);
``--workers`` adds processes to use more cores.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import traceback
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nbtrack.errors import InvalidInput, NbtrackError
from nbtrack.serving.config import DEFAULT_MAX_BODY_SIZE, DEFAULT_TIMEOUT_S
from nbtrack.serving.follow import AliasFollower, ModelSlot, ServedModel
from nbtrack.serving.payloads import parse_request, predictions_json

JSON = "application/json"
# A body over the limit is still read (not kept) up to this many times the limit, so that
# the client gets its 413 instead of a reset connection; beyond that the connection is cut.
_DRAIN_FACTOR = 8
_STATUS = {
    "BAD_REQUEST": 400,
    "INVALID_PARAMETER_VALUE": 400,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "DEADLINE_EXCEEDED": 504,
}


def create_app(
    slot: ModelSlot,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    follower: AliasFollower | None = None,
) -> Starlette:
    """The scoring server's ASGI app for the model in ``slot``.

    Parameters
    ----------
    slot
        Holds the model to serve (swapped by ``follower`` when its alias moves).
    timeout
        Seconds a request may take before it is answered 504.
    max_body_size
        Largest request body in bytes; a larger one is answered 413.
    follower
        Follows the alias the model was loaded by, while the app runs.
    """
    from nbtrack.version import __version__

    async def ping(request: Request) -> Response:
        return Response("\n", 200, media_type=JSON)

    async def version(request: Request) -> Response:
        return Response(__version__, 200, media_type=JSON)

    async def invocations(request: Request) -> Response:
        try:
            body = await read_body(request, max_body_size)
        except InvalidInput as error:
            return error_response(error.error_code, error.message, error.status)
        served = slot.current  # the model this request is answered by, even if swapped
        content_type = request.headers.get("content-type")
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(predictor, score, served, body, content_type)
        try:
            return await asyncio.wait_for(work, timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return error_response(
                "DEADLINE_EXCEEDED",
                f"Request processing time exceeded limit ({timeout:g} s); send fewer rows per "
                "request or start the server with a larger --timeout",
            )

    predictor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="nbtrack-predict")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(follower.run()) if follower is not None else None
        try:
            yield
        finally:
            predictor.shutdown(wait=False, cancel_futures=True)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    routes = [
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )


def score(served: ServedModel, body: bytes, content_type: str | None) -> Response:
    """Parse a request body, predict, and build the response (runs in a worker thread)."""
    try:
        data, params = parse_request(body, content_type, served.schema)
    except NbtrackError as error:
        return error_response(error.error_code, error.message, getattr(error, "status", None))
    try:
        predictions = served.model.predict(data, params=params)
    except NbtrackError as error:
        return error_response(
            error.error_code, f"Failed to predict data '{data}'. \nError: {error.message}"
        )
    except Exception:
        return error_response(
            "BAD_REQUEST",
            "Encountered an unexpected error while evaluating the model. Verify that the "
            "serialized input Dataframe is compatible with the model for inference.",
            stack_trace=traceback.format_exc(),
        )
    return Response(predictions_json(predictions), 200, media_type=JSON)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or InvalidInput (413) once it is larger than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        if int(declared) <= limit * _DRAIN_FACTOR:
            async for _ in request.stream():
                pass
        raise _too_large(int(declared), limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            if size > limit * _DRAIN_FACTOR:
                break
            continue
        chunks.append(chunk)
    if size > limit:
        raise _too_large(size, limit)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> InvalidInput:
    return InvalidInput(
        f"The request body is {size} bytes, over the server's limit of {limit} bytes; send "
        "fewer rows per request or start the server with a larger --max-body-size",
        status=413,
    )


def error_response(
    error_code: str, message: str, status: int | None = None, **extra: Any
) -> Response:
    """MLflow's JSON error body with the HTTP status of its error code."""
    body = json.dumps({"error_code": error_code, "message": message, **extra})
    return Response(body, status or _STATUS.get(error_code, 500), media_type=JSON)


async def _http_error(request: Request, error: Exception) -> Response:
    """Unknown routes and methods answer in MLflow's JSON error form too."""
    status = getattr(error, "status_code", 500)
    if status == 404:
        return error_response(
            "ENDPOINT_NOT_FOUND",
            f"No endpoint {request.url.path}; the "
            "scoring server has /invocations, /ping, /health and /version",
            404,
        )
    if status == 405:
        allowed = getattr(error, "headers", None) or {}
        return error_response(
            "BAD_REQUEST",
            f"{request.method} is not allowed on "
            f"{request.url.path} (allowed: {allowed.get('Allow', '')})",
            405,
        )
    return error_response("BAD_REQUEST", str(getattr(error, "detail", error)), status)


async def _server_error(request: Request, error: Exception) -> Response:
    return error_response("INTERNAL_ERROR", f"{type(error).__name__}: {error}", 500)
