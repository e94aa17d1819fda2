"""MIME parsing, quote stripping, archives and sender checks on real and crafted mail (no I/O)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from app.core.settings.front_ends import EmailSettings
from integrations.email import archives, checks
from integrations.email.addresses import Mailboxes, normalise
from integrations.email.htmltext import html_to_text
from integrations.email.listener import has_bare_line_end
from integrations.email.parsing import MailRefused, parse
from integrations.email.quoting import split_forwards, strip_reply
from tests.support.email import zip_bytes

LIMITS = EmailSettings()


def _eml(shared_data: Path, name: str) -> bytes:
    return (shared_data / "emails" / name).read_bytes()


def test_every_real_message_parses_or_is_refused_for_a_limit(shared_data: Path) -> None:
    files = sorted((shared_data / "emails").glob("*.eml"))
    assert len(files) > 100
    refused = []
    for path in files:
        try:
            mail = parse(path.read_bytes(), limits=LIMITS)
        except MailRefused as exc:
            refused.append((path.name, exc.reason))
            continue
        assert isinstance(mail.text, str), path.name
        assert isinstance(mail.subject, str), path.name
    assert all(reason.startswith("mime.") for _, reason in refused), refused


def test_attached_message_is_a_forward_with_its_own_text(shared_data: Path) -> None:
    mail = parse(
        _eml(shared_data, "rubymail__attachment_emails_attachment_message_rfc822.eml"), limits=LIMITS
    )
    assert mail.forwarded, "the message/rfc822 part is a forwarded message"


def test_inline_gmail_forward_is_split_from_the_senders_note(shared_data: Path) -> None:
    mail = parse(_eml(shared_data, "discourse__forwarded_email_4_gmail_style.eml"), limits=LIMITS)
    assert mail.forwarded
    assert mail.forwarded[0].text
    assert "Forwarded message" not in mail.text


def test_french_forward_header_block_is_read(shared_data: Path) -> None:
    mail = parse(_eml(shared_data, "discourse__forwarded_email_3_french.eml"), limits=LIMITS)
    assert mail.forwarded, mail.text


def test_html_only_mail_becomes_text(shared_data: Path) -> None:
    mail = parse(_eml(shared_data, "discourse__html_only.eml"), limits=LIMITS)
    assert mail.text
    assert "</" not in mail.text
    assert "<p" not in mail.text


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("discourse__hebrew_base64.eml", "\u05d0"),  # some Hebrew letter range below
        ("rubymail__multi_charset_japanese_shift_jis.eml", ""),
        ("unstructured__fake-email-utf-16-le.eml", ""),
    ],
)
def test_any_charset_decodes_to_text(shared_data: Path, name: str, needle: str) -> None:
    mail = parse(_eml(shared_data, name), limits=LIMITS)
    assert mail.text.strip() or mail.subject.strip()
    assert "\ufffd" not in mail.subject


def test_attachments_at_depth_are_found(shared_data: Path) -> None:
    mail = parse(_eml(shared_data, "flanker__attached-pdf.eml"), limits=LIMITS)
    assert any(a.data.startswith(b"%PDF") for a in mail.attachments)


def test_dsn_is_recognised_as_a_bounce(shared_data: Path) -> None:
    for name in (
        "discourse__bounced_email.eml",
        "flanker__bounce_office365.eml",
        "mimekit__delivery-status2.eml",
    ):
        mail = parse(_eml(shared_data, name), limits=LIMITS)
        assert checks.report_kind(mail, envelope_from="") == "bounce", name


def test_auto_reply_and_mailing_list_are_never_answered(shared_data: Path) -> None:
    boxes = Mailboxes.from_settings(LIMITS)
    auto = parse(_eml(shared_data, "discourse__auto_reply.eml"), limits=LIMITS)
    assert checks.no_reply_reason(auto, envelope_from="x@y.z", mailboxes=boxes) is not None
    listed = parse(_eml(shared_data, "discourse__mailman_1.eml"), limits=LIMITS)
    assert checks.no_reply_reason(listed, envelope_from="x@y.z", mailboxes=boxes) is not None


def _with_results(*values: str) -> bytes:
    message = EmailMessage()
    for value in values:
        message["Authentication-Results"] = value
    message["From"] = "alice@example.com"
    message["Subject"] = "hi"
    message.set_content("What is the leave policy?")
    return bytes(message)


def test_authentication_results_only_from_the_pinned_authserv_id() -> None:
    limits = EmailSettings(trusted_authserv_id="mx.example.com")
    forged = parse(_with_results("evil.example; dmarc=pass header.from=example.com"), limits=limits)
    verdict = checks.authentication(forged, limits)
    assert not verdict.trusted
    assert not verdict.passed
    assert verdict.ignored == 1
    failed = parse(
        _with_results("mx.example.com; dmarc=fail header.from=example.com", "evil.example; dmarc=pass"),
        limits=limits,
    )
    verdict = checks.authentication(failed, limits)
    assert verdict.trusted
    assert verdict.dmarc_failed
    assert verdict.ignored == 1
    # Without a pinned id nothing is trusted, whatever the headers claim.
    assert not checks.authentication(failed, EmailSettings()).trusted


def test_deep_nesting_is_refused_with_a_reason() -> None:
    inner = "Content-Type: text/plain\r\n\r\nbottom\r\n"
    for level in range(40):
        boundary = f"b{level}"
        head = f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        inner = f"{head}--{boundary}\r\n{inner}\r\n--{boundary}--\r\n"
    raw = f"From: a@example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n{inner}".encode()
    with pytest.raises(MailRefused) as refused:
        parse(raw, limits=LIMITS)
    assert refused.value.reason == "mime.too_deep"


def test_zip_bomb_is_refused_from_its_directory() -> None:
    bomb = zip_bytes({"zeros.txt": b"\0" * (60 * 1024 * 1024)})
    assert len(bomb) < 200_000
    expanded = archives.expand("bomb.zip", bomb, LIMITS)
    assert not expanded.files
    assert expanded.refused[0].reason in ("archive.too_large", "archive.ratio")


def test_small_archives_are_opened_including_one_nested_level() -> None:
    inner = zip_bytes({"b.txt": b"inner text " * 10})
    expanded = archives.expand("a.zip", zip_bytes({"a.txt": b"outer text " * 10, "inner.zip": inner}), LIMITS)
    assert sorted(n for n, _ in expanded.files) == ["a.zip/a.txt", "a.zip/inner.zip/b.txt"]


def test_quoted_reply_and_signature_are_stripped() -> None:
    text = (
        "Thanks, and what about travel?\n\n-- \nAlice\n\n"
        "On Mon, 1 Dec 2026 at 10:00, Plinth <ask@plinth.local> wrote:\n> old"
    )
    assert strip_reply(text) == "Thanks, and what about travel?"
    own, forwarded = split_forwards(
        "see below\n\n---------- Forwarded message ---------\n"
        "From: Bob <b@x.org>\nSubject: Policy\n\nBody text",
        subject="Fwd: Policy",
    )
    assert own.strip() == "see below"
    assert forwarded[0].subject == "Policy"
    assert forwarded[0].text == "Body text"


def test_html_to_text_escapes_nothing_and_drops_quotes() -> None:
    text = html_to_text(
        "<p>Hello <b>there</b></p><blockquote>old</blockquote><script>x()</script>", drop_quotes=True
    )
    assert text == "Hello there"


def test_plus_addressing_reaches_the_same_mailbox() -> None:
    boxes = Mailboxes.from_settings(LIMITS)
    assert normalise("ASK+finance@Plinth.local") == "ask@plinth.local"
    assert boxes.purpose("ask+x@plinth.local") == "questions"
    assert boxes.purpose("docs@plinth.local") == "documents"
    assert boxes.purpose("nobody@plinth.local") is None


def test_bare_line_ends_are_found_in_any_position() -> None:
    assert not has_bare_line_end(b"a\r\nb\r\n.\r\n")
    assert has_bare_line_end(b"a\r\nb\n.\nMAIL FROM:<x>\r\n")
    assert has_bare_line_end(b"a\r\nb\r.\r\n")
    assert has_bare_line_end(b"a\n")
