"""What happens to a stored inbound message: parse, de-duplicate, recognise reports, refuse loops,
authenticate and map the sender, rate-limit, classify (document forward, question, both, feedback on
an answer), then act — all in the caller's transaction. Nothing raised by a message's content escapes:
each message ends processed, quarantined or refused with a reason."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from app.core.blobs import default_blob_store
from app.core.errors import AppError
from app.core.settings import get_settings
from app.core.settings.front_ends import EmailSettings
from app.domains.conversations import escalations, feedback
from app.domains.conversations import service as conversations
from app.domains.inbox import service as inbox
from app.domains.inbox.models import InboundMail
from app.domains.principals import service as principals
from integrations.email import checks, config, documents
from integrations.email.addresses import DOCUMENTS, QUESTIONS, Mailboxes
from integrations.email.parsing import MailRefused, ParsedMail, parse
from integrations.email.quoting import FORWARD_SUBJECT, clean_subject
from integrations.email.rendering import FileOutcome

logger = logging.getLogger(__name__)

_RATINGS = {"helpful": 1, "+1": 1, "👍": 1, "yes": 1, "not helpful": -1, "unhelpful": -1, "-1": -1, "👎": -1}
_CONTENT_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, LookupError)
_HUMAN = {"human", "ask a human", "person", "escalate", "agent"}


@dataclass
class Outcome:
    """What the task does after the commit."""

    answer_message_id: uuid.UUID | None = None
    receipt_due: bool = False
    facts: dict[str, object] = field(default_factory=dict)


def answer_message_id_header(message_id: uuid.UUID, settings: EmailSettings) -> str:
    return f"<answer.{message_id}@{settings.hostname}>"


def receipt_message_id_header(inbound_id: uuid.UUID, settings: EmailSettings) -> str:
    return f"<receipt.{inbound_id}@{settings.hostname}>"


def process(session: Session, *, inbound_id: uuid.UUID) -> Outcome:
    mail = inbox.claim(session, inbound_id=inbound_id)
    if mail is None:
        return Outcome()
    settings = config.effective(session, get_settings().email)
    with default_blob_store().open(mail.blob_key) as stream:
        raw = stream.read()
    try:
        parsed = parse(raw, limits=settings)
    except MailRefused as exc:
        inbox.conclude(session, mail=mail, status="refused", kind=None, reason=exc.reason, detail=exc.message)
        return Outcome()
    except Exception as exc:  # the stdlib parser is lenient; anything it still raises is recorded, not fatal
        logger.exception("inbound mail %s could not be parsed", inbound_id)
        inbox.conclude(
            session,
            mail=mail,
            status="refused",
            kind=None,
            reason="parse.failed",
            detail=f"unreadable: {exc!r}"[:500],
        )
        return Outcome()
    mail.message_id, mail.sender, mail.subject = parsed.message_id, parsed.sender, parsed.subject[:500]
    try:
        with session.begin_nested():
            return _decide(session, mail=mail, parsed=parsed, raw=raw, settings=settings)
    except AppError as exc:
        reason, detail = exc.code, exc.message
    except _CONTENT_ERRORS as exc:  # odd content the checks did not expect: recorded, never retried
        logger.exception("inbound mail %s could not be processed", inbound_id)
        reason, detail = "processing.failed", repr(exc)[:500]
    inbox.conclude(session, mail=mail, status="refused", kind=None, reason=reason, detail=detail)
    return Outcome()


Verdict = tuple[str, str, str, dict[str, object]]  # status, reason, detail, facts


def _screen(
    session: Session, *, mail: InboundMail, parsed: ParsedMail, mailboxes: Mailboxes
) -> Verdict | None:
    """Duplicates, machine reports, loops and ambiguous senders: decided before anyone is trusted."""
    first = inbox.first_with_message_id(session, mail=mail)
    if first is not None:
        return "refused", "duplicate", f"Message-ID {parsed.message_id} was already handled as {first.id}", {}
    report = checks.report_kind(parsed, envelope_from=mail.envelope_from)
    if report is not None:
        return (
            "processed",
            f"report.{report}",
            f"{report} recorded, not answered",
            {"reports": parsed.reports[:50]},
        )
    loop = checks.no_reply_reason(parsed, envelope_from=mail.envelope_from, mailboxes=mailboxes)
    if loop is not None:
        return "refused", loop, "automatic or bulk mail is never answered (no reply sent)", {}
    if parsed.from_count != 1 or parsed.sender is None:
        return (
            "quarantined",
            "sender.ambiguous",
            f"{parsed.from_count} From addresses; exactly one is needed",
            {},
        )
    return None


def _authenticate(parsed: ParsedMail, *, raw: bytes, settings: EmailSettings) -> Verdict | None:
    auth = checks.authentication(parsed, settings)
    facts: dict[str, object] = {
        "authentication": {"trusted": auth.trusted, "results": auth.results, "ignored_headers": auth.ignored}
    }
    if auth.dmarc_failed:
        return "quarantined", "auth.dmarc_fail", "DMARC failed at the trusted MTA", facts
    if settings.verify_dkim and not checks.verify_dkim(raw):
        return "quarantined", "auth.dkim_fail", "no valid DKIM signature", facts
    if settings.require_authentication and not auth.passed:
        ignored = f" ({auth.ignored} untrusted Authentication-Results ignored)" if auth.ignored else ""
        return (
            "quarantined",
            "auth.unauthenticated",
            f"no passing verdict from the trusted MTA{ignored}",
            facts,
        )
    return None


def _sender(
    session: Session, *, sender: str, settings: EmailSettings, released: bool
) -> tuple[uuid.UUID | None, Verdict | None]:
    """The sender's principal (a known employee, or anyone at an allowed domain), or why not."""
    principal = principals.find_by_email(session, email=sender)
    domain = sender.rpartition("@")[2]
    if principal is None and (released or domain in {d.lower() for d in settings.allowed_domains}):
        principal = principals.ensure_local(session, handle=sender)
    if principal is None:
        return None, (
            "quarantined",
            "sender.unknown",
            f"{sender} is not a known employee or allowed domain",
            {},
        )
    if not principal.is_active:
        return None, ("quarantined", "sender.inactive", f"{sender} is deactivated", {})
    recent = inbox.count_from_sender(session, sender=sender, within=timedelta(hours=1))
    if recent >= settings.messages_per_sender_per_hour:
        return principal.id, (
            "refused",
            "rate_limited",
            f"{recent} messages from {sender} in the last hour",
            {},
        )
    return principal.id, None


def _decide(
    session: Session, *, mail: InboundMail, parsed: ParsedMail, raw: bytes, settings: EmailSettings
) -> Outcome:
    mailboxes = Mailboxes.from_settings(settings)
    released = bool((mail.facts or {}).get("released"))
    verdict = _screen(session, mail=mail, parsed=parsed, mailboxes=mailboxes)
    if verdict is None and not released:
        verdict = _authenticate(parsed, raw=raw, settings=settings)
    principal_id = None
    if verdict is None and parsed.sender is not None:
        principal_id, verdict = _sender(session, sender=parsed.sender, settings=settings, released=released)
    if verdict is None and parsed.encrypted and not parsed.text.strip():
        verdict = "refused", "encrypted", "encrypted mail cannot be read", {}
    if verdict is not None:
        status, reason, detail, facts = verdict
        kind = reason.removeprefix("report.") if reason.startswith("report.") else None
        inbox.conclude(
            session,
            mail=mail,
            status=status,
            kind=kind,
            reason=reason,
            detail=detail,
            facts=facts,
            principal_id=principal_id,
        )
        return Outcome()
    assert principal_id is not None
    return _act(
        session, mail=mail, parsed=parsed, principal_id=principal_id, settings=settings, mailboxes=mailboxes
    )


def _feedback(
    session: Session, *, parsed: ParsedMail, principal_id: uuid.UUID, settings: EmailSettings
) -> str | None:
    """Handle a reply to one of our answers that is only a keyword; returns what was done, or None."""
    keyword = " ".join(parsed.text.strip().lower().strip(".!").split()[:3])
    if keyword not in _RATINGS and keyword not in _HUMAN:
        return None
    pattern = re.compile(rf"^<answer\.([0-9a-f-]{{36}})@{re.escape(settings.hostname)}>$")
    for ref in [parsed.in_reply_to or "", *reversed(parsed.references)]:
        found = pattern.match(ref)
        if found is None:
            continue
        message_id = uuid.UUID(found.group(1))
        answer = conversations.find_answer(session, message_id=message_id)
        if (
            answer is None
            or conversations.get_message(session, message_id=message_id).principal_id != principal_id
        ):
            return None
        if keyword in _RATINGS:
            feedback.record(
                session,
                answer_id=answer.id,
                principal_id=principal_id,
                rating=_RATINGS[keyword],
                reason=None,
                channel="email",
            )
            return "feedback"
        escalations.request(
            session, message_id=message_id, principal_id=principal_id, channel="email", reason=None
        )
        return "escalation"
    return None


def _question_text(parsed: ParsedMail, *, purpose: set[str], has_files: bool) -> str:
    text = parsed.text.strip()
    subject = clean_subject(parsed.subject)
    if not text and subject and not has_files and not FORWARD_SUBJECT.match(parsed.subject):
        text = subject
    if QUESTIONS not in purpose and (has_files or DOCUMENTS in purpose) and "?" not in text:
        return ""  # a note that comes with documents is not a question unless it asks one
    return text


def _act(
    session: Session,
    *,
    mail: InboundMail,
    parsed: ParsedMail,
    principal_id: uuid.UUID,
    settings: EmailSettings,
    mailboxes: Mailboxes,
) -> Outcome:
    done = _feedback(session, parsed=parsed, principal_id=principal_id, settings=settings)
    if done is not None:
        inbox.conclude(
            session,
            mail=mail,
            status="processed",
            kind=done,
            reason=done,
            detail=f"{done} recorded",
            principal_id=principal_id,
        )
        return Outcome()
    purpose = {p for a in mail.envelope_to if (p := mailboxes.purpose(a))}
    files, pre_refused = documents.candidates(parsed, settings)
    question = _question_text(parsed, purpose=purpose, has_files=bool(files or pre_refused))
    kind = (
        "both"
        if files and question
        else "forward"
        if files or pre_refused
        else "question"
        if question
        else None
    )
    if kind is None:
        inbox.conclude(
            session,
            mail=mail,
            status="refused",
            kind=None,
            reason="empty",
            detail="no question and no documents found",
            principal_id=principal_id,
        )
        return Outcome()
    outcome = Outcome()
    facts: dict[str, object] = {"attachments": len(parsed.attachments), "forwarded": len(parsed.forwarded)}
    if files or pre_refused:
        results: list[FileOutcome] = (
            documents.ingest_all(session, files=files, principal_id=principal_id, sender=parsed.sender or "")
            + pre_refused
        )
        facts["files"] = [{"name": r.name, "accepted": r.accepted, "detail": r.detail} for r in results]
        mail.receipt_status, outcome.receipt_due = "pending", True
    message_uuid = None
    if question:
        try:
            receipt = conversations.record_inbound(
                session,
                channel="email",
                principal_id=principal_id,
                text=question,
                external_id=parsed.message_id or f"inbound:{mail.id}",
                conversation_key=(parsed.references[0] if parsed.references else parsed.in_reply_to)
                or parsed.message_id
                or str(mail.id),
                reply_to={
                    "to": parsed.sender,
                    "subject": parsed.subject or "(no subject)",
                    "message_id": parsed.message_id,
                    "references": parsed.references[-10:],
                    "inbound_id": str(mail.id),
                },
            )
        except AppError as exc:
            if not (files or pre_refused):
                inbox.conclude(
                    session,
                    mail=mail,
                    status="refused",
                    kind="question",
                    reason=exc.code,
                    detail=exc.message,
                    principal_id=principal_id,
                )
                return Outcome()
            facts["question_refused"] = exc.message
        else:
            message_uuid = receipt.message_id
            if not receipt.duplicate:
                outcome.answer_message_id = receipt.message_id
    inbox.conclude(
        session,
        mail=mail,
        status="processed",
        kind=kind,
        reason=kind,
        detail=f"{kind}: {len(files)} file(s), question {'recorded' if message_uuid else 'none'}",
        facts=facts,
        principal_id=principal_id,
        conversation_message_id=message_uuid,
    )
    return outcome
