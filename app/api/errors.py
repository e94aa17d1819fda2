"""The one place where application errors become HTTP responses."""

from __future__ import annotations

import logging

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.core.errors import AppError, Unavailable

logger = logging.getLogger(__name__)
# The database cannot be reached (restarting, failing over): the caller may retry, nothing was lost.
DATABASE_DOWN = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, psycopg.OperationalError)

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

    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("database unreachable during %s %s: %s", request.method, request.url.path, exc)
        response = error_response(Unavailable("the database is unreachable right now; retry shortly"))
        response.headers["Retry-After"] = "5"
        return response

    for error in DATABASE_DOWN:
        app.add_exception_handler(error, _database_down)
