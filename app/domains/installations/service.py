"""Slack installations (multi-workspace OAuth mode): saved when a workspace installs the app, looked up
per request and per reply by team (or Enterprise Grid organisation), removed when Slack says the tokens
were revoked or the app uninstalled. Tokens are encrypted on the way in and decrypted on the way out;
installs and removals are audited in the caller's transaction.

Lookups follow slack_sdk's stores: an org-wide install (`is_enterprise_install`) is found by its
enterprise id alone, anything else by enterprise and team; the latest installation wins."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from app.core import token_crypto
from app.core.db import utcnow
from app.domains.installations.models import NONE, SlackInstallation, SlackOAuthState
from app.domains.installations.schemas import InstallationData, InstallationSummary
from audit import store as audit_store

SLACK_INSTALLED = "slack.installed"
SLACK_UNINSTALLED = "slack.uninstalled"
SLACK_TOKENS_REVOKED = "slack.tokens_revoked"
SLACK_TOKENS_REENCRYPTED = "slack.tokens_reencrypted"

# Fields held encrypted, each in the column `<name>_encrypted`.
SECRET_FIELDS = (
    "bot_token",
    "bot_refresh_token",
    "user_token",
    "user_refresh_token",
    "incoming_webhook_url",
)
BOT_FIELDS = ("bot_token", "bot_refresh_token", "bot_token_expires_at", "bot_id", "bot_user_id", "bot_scopes")
_PLAIN_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(InstallationData)
    if f.name not in SECRET_FIELDS and f.name not in ("enterprise_id", "team_id", "installed_at")
)


def _team_key(team_id: str | None, *, is_enterprise_install: bool | None) -> str:
    # An org-wide install belongs to the organisation, whichever workspace an event comes from.
    return NONE if is_enterprise_install or team_id is None else team_id


def _where(client_id: str, enterprise_id: str | None, team_key: str) -> list[ColumnElement[bool]]:
    return [
        SlackInstallation.client_id == client_id,
        SlackInstallation.enterprise_id == (enterprise_id or NONE),
        SlackInstallation.team_id == team_key,
    ]


def _assign(row: SlackInstallation, data: InstallationData, names: Sequence[str]) -> None:
    for name in names:
        value = getattr(data, name)
        if name in SECRET_FIELDS:
            setattr(row, f"{name}_encrypted", token_crypto.encrypt(value))
        elif name.endswith("_scopes"):
            setattr(row, name, list(value or []))
        else:
            setattr(row, name, value)


def _data(row: SlackInstallation) -> InstallationData:
    values: dict[str, object] = {name: getattr(row, name) for name in _PLAIN_FIELDS}
    values.update({name: token_crypto.decrypt(getattr(row, f"{name}_encrypted")) for name in SECRET_FIELDS})
    return InstallationData(
        **values,  # type: ignore[arg-type]
        enterprise_id=row.enterprise_id or None,
        team_id=row.team_id or None,
        installed_at=row.installed_at,
    )


def _subject(enterprise_id: str | None, team_id: str | None) -> str:
    return f"slack:{team_id or enterprise_id or '-'}"


def _describe(data: InstallationData) -> dict[str, object]:
    """The audited facts of an installation (never a token)."""
    return {
        "enterprise_id": data.enterprise_id,
        "enterprise_name": data.enterprise_name,
        "team_id": data.team_id,
        "team_name": data.team_name,
        "is_enterprise_install": data.is_enterprise_install,
        "installer": data.user_id,
        "app_id": data.app_id,
        "bot_user_id": data.bot_user_id,
        "bot_scopes": list(data.bot_scopes or []),
        "user_scopes": list(data.user_scopes or []),
    }


def save(session: Session, *, client_id: str, data: InstallationData) -> SlackInstallation:
    """Store an installation (a reinstall by the same installer replaces theirs); audited."""
    team_key = _team_key(data.team_id, is_enterprise_install=data.is_enterprise_install)
    row = session.scalar(
        select(SlackInstallation)
        .where(*_where(client_id, data.enterprise_id, team_key), SlackInstallation.user_id == data.user_id)
        .with_for_update()
    )
    reinstall = row is not None
    if row is None:
        row = SlackInstallation(
            client_id=client_id,
            enterprise_id=data.enterprise_id or NONE,
            team_id=team_key,
            user_id=data.user_id,
        )
        session.add(row)
    _assign(row, data, _PLAIN_FIELDS + SECRET_FIELDS)
    row.installed_at = data.installed_at or utcnow()
    audit_store.append(
        session,
        event_type=SLACK_INSTALLED,
        actor=f"slack:{data.user_id}",
        channel="slack",
        subject=_subject(data.enterprise_id, data.team_id),
        payload={**_describe(data), "reinstall": reinstall},
    )
    session.flush()
    return row


def save_bot(session: Session, *, client_id: str, data: InstallationData) -> int:
    """Replace the bot token of a team's installations (token rotation); returns how many changed."""
    team_key = _team_key(data.team_id, is_enterprise_install=data.is_enterprise_install)
    rows = session.scalars(
        select(SlackInstallation).where(*_where(client_id, data.enterprise_id, team_key)).with_for_update()
    ).all()
    for row in rows:
        _assign(row, data, BOT_FIELDS)
    session.flush()
    return len(rows)


def find_bot(
    session: Session,
    *,
    client_id: str,
    enterprise_id: str | None,
    team_id: str | None,
    is_enterprise_install: bool | None = False,
) -> InstallationData | None:
    """The latest installation of the team (or organisation) that has a bot token."""
    row = session.scalar(
        select(SlackInstallation)
        .where(
            *_where(
                client_id, enterprise_id, _team_key(team_id, is_enterprise_install=is_enterprise_install)
            ),
            SlackInstallation.bot_token_encrypted.is_not(None),
        )
        .order_by(SlackInstallation.installed_at.desc())
        .limit(1)
    )
    return None if row is None else _data(row)


def find_installation(
    session: Session,
    *,
    client_id: str,
    enterprise_id: str | None,
    team_id: str | None,
    user_id: str | None = None,
    is_enterprise_install: bool | None = False,
) -> InstallationData | None:
    """The latest installation of the team (that installer's, when given), carrying the team's latest
    bot token when it has none of its own or an older one."""
    query = select(SlackInstallation).where(
        *_where(client_id, enterprise_id, _team_key(team_id, is_enterprise_install=is_enterprise_install))
    )
    if user_id is not None:
        query = query.where(SlackInstallation.user_id == user_id)
    row = session.scalar(query.order_by(SlackInstallation.installed_at.desc()).limit(1))
    if row is None:
        return None
    found = _data(row)
    bot = find_bot(
        session,
        client_id=client_id,
        enterprise_id=enterprise_id,
        team_id=team_id,
        is_enterprise_install=is_enterprise_install,
    )
    if bot is not None and bot.bot_token != found.bot_token:
        for name in BOT_FIELDS:
            setattr(found, name, getattr(bot, name))
    return found


def delete_bot(session: Session, *, client_id: str, enterprise_id: str | None, team_id: str | None) -> int:
    """Forget the team's bot token (Slack revoked it); an installation left with no token goes. Audited."""
    rows = session.scalars(
        select(SlackInstallation).where(*_where(client_id, enterprise_id, team_id or NONE)).with_for_update()
    ).all()
    for row in rows:
        row.bot_token_encrypted = row.bot_refresh_token_encrypted = None
        row.bot_token_expires_at = None
        row.bot_id = row.bot_user_id = None
        row.bot_scopes = []
        if row.user_token_encrypted is None:
            session.delete(row)
    audit_store.append(
        session,
        event_type=SLACK_TOKENS_REVOKED,
        actor="slack",
        channel="slack",
        subject=_subject(enterprise_id, team_id),
        payload={
            "enterprise_id": enterprise_id,
            "team_id": team_id,
            "tokens": "bot",
            "installations": len(rows),
        },
    )
    session.flush()
    return len(rows)


def delete_installation(
    session: Session,
    *,
    client_id: str,
    enterprise_id: str | None,
    team_id: str | None,
    user_id: str | None = None,
) -> int:
    """Remove the team's installations (one installer's, when given: their token was revoked). Audited as
    an uninstall, or a revocation of that user's token."""
    statement = delete(SlackInstallation).where(*_where(client_id, enterprise_id, team_id or NONE))
    if user_id is not None:
        statement = statement.where(SlackInstallation.user_id == user_id)
    removed = session.execute(statement.returning(SlackInstallation.id)).all()
    payload: dict[str, object] = {
        "enterprise_id": enterprise_id,
        "team_id": team_id,
        "installations": len(removed),
    }
    if user_id is not None:
        payload.update(tokens="user", user_id=user_id)
    audit_store.append(
        session,
        event_type=SLACK_UNINSTALLED if user_id is None else SLACK_TOKENS_REVOKED,
        actor="slack",
        channel="slack",
        subject=_subject(enterprise_id, team_id),
        payload=payload,
    )
    session.flush()
    return len(removed)


def list_installations(session: Session) -> list[InstallationSummary]:
    rows = session.scalars(
        select(SlackInstallation).order_by(SlackInstallation.team_id, SlackInstallation.installed_at.desc())
    ).all()
    return [
        InstallationSummary(
            enterprise_id=row.enterprise_id or None,
            enterprise_name=row.enterprise_name,
            team_id=row.team_id or None,
            team_name=row.team_name,
            is_enterprise_install=row.is_enterprise_install,
            user_id=row.user_id,
            has_bot_token=row.bot_token_encrypted is not None,
            has_user_token=row.user_token_encrypted is not None,
            bot_scopes=list(row.bot_scopes or []),
            installed_at=row.installed_at,
        )
        for row in rows
    ]


def reencrypt_all(session: Session, *, by: str) -> int:
    """Encrypt every stored token again under the newest key (after adding one); audited."""
    rows = session.scalars(select(SlackInstallation).with_for_update()).all()
    for row in rows:
        for name in SECRET_FIELDS:
            column = f"{name}_encrypted"
            setattr(row, column, token_crypto.reencrypt(getattr(row, column)))
    audit_store.append(
        session,
        event_type=SLACK_TOKENS_REENCRYPTED,
        actor=by,
        channel="slack",
        subject="slack:installations",
        payload={"installations": len(rows)},
    )
    session.flush()
    return len(rows)


def issue_state(session: Session, *, ttl_s: float) -> str:
    """A fresh OAuth state for an install link, valid for `ttl_s` (expired ones are swept here)."""
    now = utcnow()
    session.execute(delete(SlackOAuthState).where(SlackOAuthState.expires_at <= now))
    state = secrets.token_urlsafe(32)
    session.add(SlackOAuthState(state=state, expires_at=now + timedelta(seconds=ttl_s), created_at=now))
    session.flush()
    return state


def consume_state(session: Session, *, state: str) -> bool:
    """Whether the state was issued and has not expired; either way it cannot be used again."""
    used = session.scalar(
        delete(SlackOAuthState).where(SlackOAuthState.state == state).returning(SlackOAuthState.expires_at)
    )
    return used is not None and used > utcnow()
