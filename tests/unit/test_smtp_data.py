"""The block DATA reader (`integrations/email/smtp_data.py`) against aiosmtpd's own line-by-line
`SMTP.smtp_DATA`: whole SMTP conversations run through both servers in memory (a transport that keeps
what is written, the bytes fed in pieces split anywhere) and must get the same replies and hand the
handler the same message. Plus the cases by name: dot-unstuffing and the end of data split across
reads, over-long lines, too much data, and the bare LF / bare CR smuggling sequences."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.email.listener import has_bare_line_end
from integrations.email.smtp_data import BlockDataSMTP, DataSection, DataState

LINE_LIMIT = 24  # small limits (commands are read within the line limit too), so that data reaches them
SIZE_LIMIT = 120
HELLO = b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n"
END = b"\r\n.\r\nNOOP\r\nQUIT\r\n"  # the end of data after a line of its own
AFTER_LINES = END[2:]


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("192.0.2.1", 2525) if name == "peername" else default

    def write(self, data: Any) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class _Keep:
    def __init__(self) -> None:
        self.messages: list[tuple[object, object]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.messages.append((envelope.content, envelope.original_content))
        return "250 kept"


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def _converse(base: type[SMTP], pieces: list[bytes], *, line_limit: int, size_limit: int) -> Any:
    server_class = type("Server", (base,), {"line_length_limit": line_limit})
    handler = _Keep()
    server = server_class(
        handler, data_size_limit=size_limit, hostname="test.example", loop=asyncio.get_running_loop()
    )
    transport = _Transport()
    server.connection_made(transport)
    await _settle()
    for piece in pieces:
        server.data_received(piece)
        await _settle()
    for _ in range(200):
        if transport.closed:
            break
        await asyncio.sleep(0)
    server.connection_lost(None)
    await _settle()
    return bytes(transport.written), handler.messages


def _both(pieces: list[bytes], *, line_limit: int = LINE_LIMIT, size_limit: int = SIZE_LIMIT) -> Any:
    """The conversation as aiosmtpd has it and as the block reader has it; asserts they agree."""

    async def run() -> tuple[Any, Any]:
        expected = await _converse(SMTP, pieces, line_limit=line_limit, size_limit=size_limit)
        got = await _converse(BlockDataSMTP, pieces, line_limit=line_limit, size_limit=size_limit)
        return expected, got

    expected, got = asyncio.run(run())
    assert got == expected
    assert b"\r\n354 " in got[0]
    return got


def _split(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    return [stream[a:b] for a, b in itertools.pairwise(points)]


def _replies(transcript: bytes) -> list[bytes]:
    return [line[:3] for line in transcript.split(b"\r\n") if line[3:4] == b" "]


TOKENS = st.sampled_from(
    [b"a", b"bcd", b".", b"..", b"\r", b"\n", b"\r\n", b"\r\n.", b".\r\n", b"\n.\n", b"\r.\r", b"x" * 23]
)


@settings(max_examples=400, deadline=None)
@given(data=st.lists(TOKENS, max_size=40).map(b"".join), cuts=st.lists(st.integers(0, 10**6), max_size=8))
def test_any_conversation_gets_the_same_replies_and_message_as_from_aiosmtpd(
    data: bytes, cuts: list[int]
) -> None:
    _both(_split(HELLO + data + END, cuts))


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(st.integers(0, 40), min_size=1, max_size=20),
    cuts=st.lists(st.integers(0, 10**6), max_size=6),
)
def test_lines_around_the_length_and_size_limits_are_judged_as_by_aiosmtpd(
    lines: list[int], cuts: list[int]
) -> None:
    data = b"".join(b"." * (n % 3 == 0) + b"y" * n + b"\r\n" for n in lines)
    _both(_split(HELLO + data + AFTER_LINES, cuts))


def _outcome(pieces: list[bytes]) -> tuple[DataState, bytes | None, int]:
    section = DataSection(size_limit=SIZE_LIMIT, line_limit=LINE_LIMIT)
    used = 0
    for piece in pieces:
        taken = section.feed(piece)
        used += taken
        if section.done:
            break
        assert taken == len(piece)
    nominal = section.state is DataState.NOMINAL
    return section.state, section.content() if nominal else None, used


@settings(max_examples=400, deadline=None)
@given(data=st.lists(TOKENS, max_size=40).map(b"".join), cuts=st.lists(st.integers(0, 10**6), max_size=8))
def test_the_outcome_does_not_depend_on_how_the_data_is_split(data: bytes, cuts: list[int]) -> None:
    # With the previous test (the reader as a whole, against aiosmtpd), this covers every split.
    stream = data + END
    assert _outcome(_split(stream, cuts)) == _outcome([stream])


def test_dots_are_unstuffed_and_the_end_is_found_across_any_split() -> None:
    stream = HELLO + b"..a\r\n..\r\nb.\r\n...c\r\n.\r\nQUIT\r\n"
    for cut in range(len(HELLO), len(stream)):
        for second in (cut + 1, cut + 2, cut + 4):
            _, messages = _both(_split(stream, [cut, second]))
            assert messages == [(b".a\r\n.\r\nb.\r\n..c\r\n",) * 2]


def test_the_end_of_data_split_between_reads_ends_it_and_what_follows_is_a_command() -> None:
    stream = HELLO + b"hello\r\n.\r\nNOOP\r\nQUIT\r\n"
    end = stream.index(b"\r\n.\r\n")
    for cut in range(end, end + 6):
        transcript, messages = _both([stream[:cut], stream[cut:]])
        assert messages == [(b"hello\r\n", b"hello\r\n")]
        assert _replies(transcript)[-3:] == [b"250", b"250", b"221"]  # kept, NOOP, QUIT
    transcript, messages = _both([HELLO + b".\r\nQUIT\r\n"])  # an empty message
    assert messages == [(b"", b"")]
    transcript, messages = _both([HELLO + b"a\r\n\r\n.\r\nQUIT\r\n"])  # the dot read with the CRLF before it
    assert messages == [(b"a\r\n\r\n", b"a\r\n\r\n")]
    for pieces in ([b"a\r\n.", b"\r\n"], [b"a\r\n", b".", b"\r", b"\nQUIT"], [b"a\r", b"\n.\r", b"\nQUIT"]):
        section = DataSection(size_limit=None, line_limit=1001)
        used = [section.feed(piece) for piece in pieces]
        assert section.done
        assert used[-1] == len(pieces[-1]) - len(b"QUIT") * pieces[-1].endswith(b"QUIT")
        assert section.content() == b"a\r\n"


def test_an_overlong_line_gets_500_after_the_data_and_the_session_goes_on() -> None:
    for length in (
        LINE_LIMIT - 3,
        LINE_LIMIT - 2,
        LINE_LIMIT - 1,
        LINE_LIMIT,
        LINE_LIMIT + 1,
        LINE_LIMIT + 3,
        10_000,
    ):
        stream = HELLO + b"ok\r\n" + b"z" * length + b"\r\nmore\r\n" + END
        transcript, messages = _both(_split(stream, [len(HELLO) + 7, len(HELLO) + 500]))
        if length + 2 > LINE_LIMIT:
            assert messages == []
            assert b"500 Line too long" in transcript
        else:
            assert len(messages) == 1
        assert _replies(transcript)[-2:] == [b"250", b"221"]  # NOOP, QUIT: the session goes on


def test_too_much_data_gets_552_after_the_data() -> None:
    lines = b"0123456789\r\n" * 11  # 132 octets > SIZE_LIMIT
    transcript, messages = _both(_split(HELLO + lines + END, [len(HELLO) + 30]))
    assert messages == []
    assert b"552 Error: Too much mail data" in transcript
    transcript, messages = _both([HELLO + lines[:120] + AFTER_LINES])  # exactly at the limit
    assert len(messages) == 1


def test_the_first_limit_reached_decides_between_500_and_552() -> None:
    before = b"0123456789\r\n" * 9  # 108 octets: the next line crosses SIZE_LIMIT
    # A line one or two octets over the limit counts towards the size first (aiosmtpd's stream reader
    # still returns it as a line), so crossing the size limit with it is 552 ...
    for line in (b"y" * (LINE_LIMIT - 1) + b"\r\n", b"y" * LINE_LIMIT + b"\r\n"):
        stream = HELLO + before + line + AFTER_LINES
        cut = len(HELLO) + len(before) + len(line) - 1  # between its CR and LF
        transcript, _ = _both([stream[:cut], stream[cut:]])
        assert b"552 Error" in transcript
    # ... while a longer line is too long before it counts: 500.
    transcript, _ = _both([HELLO + before + b"y" * (LINE_LIMIT + 1) + b"\r\n" + AFTER_LINES])
    assert b"500 Line too long" in transcript
    section = DataSection(size_limit=SIZE_LIMIT, line_limit=LINE_LIMIT)
    section.feed(before + b"y" * LINE_LIMIT + b"\r")  # the CR may still end the line at its limit + 2
    section.feed(b"\n.\r\n")
    assert section.state is DataState.TOO_MUCH


def test_an_endless_line_is_refused_as_soon_as_it_is_too_long_and_not_held() -> None:
    section = DataSection(size_limit=None, line_limit=1001)
    section.feed(b"x" * 1001 + b"\r")
    assert section.state is DataState.NOMINAL
    section.feed(b"x")
    assert section.state is DataState.TOO_LONG
    for _ in range(100):
        section.feed(b"x" * 1_000_000)
    assert section.feed(b"\r\n.\r\n") == 5
    assert section.done
    assert section.state is DataState.TOO_LONG


def test_bare_lf_and_cr_never_end_the_data_and_are_kept_for_the_listener_to_refuse() -> None:
    for smuggled in (b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\n.\r", b"\r\n.\r"):
        body = b"hi" + smuggled + b"MAIL FROM:<evil@x>\r\n"
        transcript, messages = _both(_split(HELLO + body + AFTER_LINES, [len(HELLO) + 3]), line_limit=1001)
        kept = body.replace(b"\r\n.", b"\r\n")  # a line that starts with a dot loses it, as ever
        assert messages == [(kept, kept)], smuggled
        assert has_bare_line_end(kept)
        assert _replies(transcript).count(b"250") == 5  # EHLO, MAIL, RCPT, the message, NOOP


def test_a_large_message_in_odd_pieces_is_kept_byte_for_byte() -> None:
    lines = [b"." * (i % 7 == 0) + bytes([65 + i % 26]) * (i % 990) + b"\r\n" for i in range(20_000)]
    raw = b"".join(lines)
    stuffed = b"".join(b"." + line if line.startswith(b".") else line for line in lines)
    section = DataSection(size_limit=len(stuffed), line_limit=1001)
    stream = stuffed + b".\r\nQUIT\r\n"
    position = 0
    while not section.done:
        step = 1 + (position * 7919) % 300_000
        position += section.feed(stream[position : position + step])
    assert stream[position:] == b"QUIT\r\n"
    assert section.state is DataState.NOMINAL
    assert section.size == len(stuffed)
    assert section.content() == raw
    over = DataSection(size_limit=len(stuffed) - 1, line_limit=1001)
    assert over.feed(stream) == len(stuffed) + 3
    assert over.state is DataState.TOO_MUCH
