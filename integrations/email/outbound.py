"""Sending mail through the configured SMTP relay (the local sink in the embedded default)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from app.core.errors import AppError
from app.core.settings.front_ends import EmailSettings


class SendFailed(AppError):
    code = "email.send_failed"

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def send(message: EmailMessage, *, settings: EmailSettings) -> None:
    """Raises SendFailed (transient for connection problems and 4xx replies, else permanent)."""
    try:
        with smtplib.SMTP(settings.relay_host, settings.relay_port, timeout=settings.relay_timeout_s) as smtp:
            if settings.relay_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.relay_username and settings.relay_password is not None:
                smtp.login(settings.relay_username, settings.relay_password.get_secret_value())
            smtp.send_message(message)
    except smtplib.SMTPResponseException as exc:
        raise SendFailed(
            f"relay refused: {exc.smtp_code} {exc.smtp_error!r}", transient=exc.smtp_code < 500
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise SendFailed(
            f"relay refused the recipient(s): {exc.recipients}", transient=all(c < 500 for c in codes)
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailed(
            f"relay {settings.relay_host}:{settings.relay_port} unreachable: {exc}", transient=True
        ) from exc
