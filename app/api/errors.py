"""The one place where application errors become HTTP responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.core.errors import AppError

STATUS_BY_CODE = {
    "invalid_input": 422,
    "not_found": 404,
    "conflict": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "configuration_error": 500,
    "unavailable": 503,
    "llm_unavailable": 503,
    "timeout": 504,
}


def status_for(error: AppError) -> int:
    if error.code.startswith("refused."):
        return 422
    return STATUS_BY_CODE.get(error.code, 500)


def error_response(exc: AppError) -> JSONResponse:
    return JSONResponse(
        status_code=status_for(exc), content={"error": {"code": exc.code, "message": exc.message}}
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return error_response(exc)
