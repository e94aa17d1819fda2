"""The email settings in force: the environment's, with the accepted addresses and allowed sender
domains taken from the runtime settings store (section `email.intake`, changed from the console,
versioned and audited; its version 0 is the environment's values)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.db import session_scope
from app.core.settings.front_ends import EmailSettings
from app.domains.runtime_config import service as runtime_config
from app.domains.runtime_config.operations import EMAIL
from integrations.email.addresses import Mailboxes


def effective(session: Session, settings: EmailSettings) -> EmailSettings:
    value = runtime_config.value_of(session, key=EMAIL).model_dump()
    return settings.model_copy(
        update={"addresses": value["addresses"], "allowed_domains": value["allowed_domains"]}
    )


def mailboxes(settings: EmailSettings) -> Mailboxes:
    """The recipients accepted now (one short read; the listener asks at each RCPT)."""
    with session_scope() as session:
        return Mailboxes.from_settings(effective(session, settings))
