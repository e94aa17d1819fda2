"""One error family for the whole application. The domain raises these; the HTTP layer maps codes to
status codes in one place, the CLI prints the message."""

from __future__ import annotations


class AppError(Exception):
    """An error with a stable machine code and a message a person can act on."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(AppError):
    code = "invalid_input"


class NotFound(AppError):
    code = "not_found"


class Conflict(AppError):
    code = "conflict"


class PermissionDenied(AppError):
    code = "permission_denied"


class Unauthenticated(AppError):
    code = "unauthenticated"


class ConfigurationError(AppError):
    code = "configuration_error"


class Unavailable(AppError):
    """A dependency (database, broker, model endpoint) cannot be reached."""

    code = "unavailable"


class Timeout(AppError):
    code = "timeout"
