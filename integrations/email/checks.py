"""Who sent a message and whether we may answer it: sender authentication from the trusted MTA's
Authentication-Results only (forged ones are ignored), optional DKIM, loop and auto-reply detection
(RFC 3834), and recognition of delivery-status notifications and other reports."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.settings.front_ends import EmailSettings
from integrations.email.addresses import Mailboxes
from integrations.email.parsing import ParsedMail

_METHOD_RESULT = re.compile(r"\b(dmarc|dkim|spf|arc)\s*=\s*([a-z]+)", re.IGNORECASE)
_SYSTEM_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "bounce", "bounces")
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|failure notice|returned mail|delivery fail|non[- ]?delivery|"
    r"mail delivery failed|delivery has failed|delayed mail|warning: could not send",
    re.IGNORECASE,
)
REPORT_KINDS = {
    "delivery-status": "bounce",
    "disposition-notification": "receipt",
    "feedback-report": "abuse_report",
}


@dataclass(frozen=True)
class Authentication:
    trusted: bool  # a header from the pinned authserv-id was found
    results: dict[str, str]  # method → result, from that header only
    ignored: int  # Authentication-Results headers from anyone else

    @property
    def dmarc_failed(self) -> bool:
        return self.results.get("dmarc") in ("fail", "reject", "quarantine")

    @property
    def passed(self) -> bool:
        return self.results.get("dmarc") == "pass" or (
            "dmarc" not in self.results and self.results.get("dkim") == "pass"
        )


def authentication(mail: ParsedMail, settings: EmailSettings) -> Authentication:
    """The verdict of the topmost Authentication-Results header whose authserv-id is the pinned one
    (the MTA prepends its own and, per RFC 8601 5, removes forged ones carrying its id)."""
    values = mail.headers.get("authentication-results", [])
    pinned = (settings.trusted_authserv_id or "").strip().lower()
    for value in values:
        authserv_id = value.split(";", 1)[0].strip().split()[0].lower() if value.strip() else ""
        if pinned and authserv_id == pinned:
            results: dict[str, str] = {}
            for method, result in _METHOD_RESULT.findall(value.split(";", 1)[-1]):
                results.setdefault(method.lower(), result.lower())
            return Authentication(trusted=True, results=results, ignored=len(values) - 1)
    return Authentication(trusted=False, results={}, ignored=len(values))


def report_kind(mail: ParsedMail, *, envelope_from: str) -> str | None:
    """bounce | receipt | abuse_report when the message is a machine report about other mail."""
    if mail.report_type in REPORT_KINDS:
        return REPORT_KINDS[mail.report_type]
    local = (mail.sender or "").partition("@")[0]
    from_system = envelope_from == "" or local in _SYSTEM_SENDERS
    if from_system and (_BOUNCE_SUBJECT.search(mail.subject) or mail.reports):
        return "bounce"
    return None


def no_reply_reason(mail: ParsedMail, *, envelope_from: str, mailboxes: Mailboxes) -> str | None:
    """Why this message must never be answered automatically (a loop or bulk mail), or None."""
    local = (mail.sender or "").partition("@")[0]
    suppress = (mail.header("x-auto-response-suppress") or "").lower()
    rules = (
        (
            "loop.auto_submitted",
            (mail.header("auto-submitted") or "no").split(";")[0].strip().lower() != "no",
        ),
        ("loop.precedence", (mail.header("precedence") or "").strip().lower() in ("bulk", "list", "junk")),
        ("loop.mailing_list", any(mail.header(h) for h in ("list-id", "list-unsubscribe", "list-post"))),
        ("loop.auto_reply", bool(mail.header("x-autoreply") or mail.header("x-autorespond"))),
        ("loop.auto_response_suppressed", "all" in suppress or "autoreply" in suppress),
        ("loop.system_sender", envelope_from == "" or local in _SYSTEM_SENDERS),
        ("loop.own_address", bool(mail.sender and mailboxes.ours(mail.sender))),
        ("loop.x_loop", any(mailboxes.questions in v.lower() for v in mail.headers.get("x-loop", []))),
    )
    return next((reason for reason, applies in rules if applies), None)


def verify_dkim(raw: bytes) -> bool:
    """Whether the message carries a valid DKIM signature (dkimpy; key lookup through DNS)."""
    import dkim

    try:
        return bool(dkim.verify(raw))
    except Exception:  # dkimpy raises many kinds of error for malformed signatures
        return False
