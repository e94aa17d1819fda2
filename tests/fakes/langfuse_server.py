"""A local server speaking what the Langfuse SDK (v5) sends: OTLP/HTTP traces at
/api/public/otel/v1/traces (protobuf or JSON) and scores as JSON lists at
/api/public/scores. It keeps the raw bodies, so a
test can check that masked values never arrived, and can be made slow or failing."""

from __future__ import annotations

import asyncio
import gzip
import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from google.protobuf.json_format import MessageToDict, Parse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.support.background_server import BackgroundServer


@dataclass
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]


@dataclass
class LangfuseState:
    spans: list[ReceivedSpan] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    fail_status: int | None = None
    delay_s: float = 0.0


def _value(value: dict[str, Any]) -> Any:
    for kind in ("stringValue", "boolValue", "doubleValue"):
        if kind in value:
            return value[kind]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [_value(v) for v in value["arrayValue"].get("values", [])]
    return value


def _spans(request: ExportTraceServiceRequest) -> list[ReceivedSpan]:
    found = []
    for resource in request.resource_spans:
        for scope in resource.scope_spans:
            for span in scope.spans:
                attributes = {a["key"]: _value(a["value"]) for a in MessageToDict(span).get("attributes", [])}
                found.append(
                    ReceivedSpan(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        attributes=attributes,
                    )
                )
    return found


def create_app(state: LangfuseState) -> FastAPI:
    app = FastAPI()

    async def _gate() -> Response | None:
        if state.delay_s:
            await asyncio.sleep(state.delay_s)
        if state.fail_status is not None:
            return Response(status_code=state.fail_status)
        return None

    @app.post("/api/public/otel/v1/traces")
    async def traces(request: Request) -> Response:
        body = await request.body()
        state.paths.append(request.url.path)
        if (failed := await _gate()) is not None:
            return failed
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        state.raw.append(body)
        message = ExportTraceServiceRequest()
        if request.headers.get("content-type", "").startswith("application/json"):
            Parse(body.decode(), message)
        else:
            message.ParseFromString(body)
        state.spans.extend(_spans(message))
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")

    @app.post("/api/public/scores")
    async def scores(request: Request) -> Response:
        body = await request.body()
        state.paths.append(request.url.path)
        if (failed := await _gate()) is not None:
            return failed
        state.raw.append(body)
        batch = json.loads(body)
        state.scores.extend(batch)
        return Response(
            json.dumps({"accepted": len(batch), "rejected": 0, "errors": []}),
            status_code=207,
            media_type="application/json",
        )

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH"])
    async def other(path: str, request: Request) -> Response:
        state.paths.append("/" + path)
        state.raw.append(await request.body())
        return Response(json.dumps({}), media_type="application/json")

    return app


class LangfuseServer(BackgroundServer):
    def __init__(self) -> None:
        self.state = LangfuseState()
        super().__init__(create_app(self.state), what="Langfuse stub")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        self.state.spans.clear()
        self.state.scores.clear()
        self.state.raw.clear()
        self.state.paths.clear()
        self.state.fail_status, self.state.delay_s = None, 0.0
