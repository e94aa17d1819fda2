"""The DATA section of an SMTP transaction read in blocks instead of line by line.

aiosmtpd's `SMTP.smtp_DATA` awaits one `readuntil(CRLF)` per line and joins the lines in Python, which
takes seconds for a 25 MB message. `BlockDataSMTP` keeps its rules and replies and reads what has
arrived in one piece, up to the end of the data and never past it (a pipelined command that follows
stays in the stream), and judges the lines with C-speed `bytes` operations:

* lines end in CRLF only: a bare LF or CR is part of a line, and only a line holding a single dot
  (`CRLF . CRLF`, or `. CRLF` first) ends the data, so the `\\n.\\n` smuggling sequences do not;
* a line longer than `line_length_limit` octets (CRLF and transparent dot included) gets `500`, more
  than `data_size_limit` octets of data get `552` — both only after the end of the data (RFC 5321
  4.2.5), whichever came first in the data, and the data is dropped as soon as it is known;
* the transparent dot that starts a line is removed (RFC 5321 4.5.2).
"""

from __future__ import annotations

import asyncio
import enum
import logging

from aiosmtpd.smtp import MISSING, SMTP, syntax

logger = logging.getLogger(__name__)

CRLF = b"\r\n"
TERMINATOR = b"\r\n.\r\n"
_DOT_LINE = len(b".\r\n")
_AFTER_CR = TERMINATOR[1:]


class DataState(enum.Enum):
    NOMINAL = "nominal"
    TOO_LONG = "too_long"  # a line over the limit: 500
    TOO_MUCH = "too_much"  # over the size limit: 552


class DataSection:
    """One DATA section, fed as it arrives in pieces split anywhere; judged exactly as aiosmtpd's line
    loop judges it. For each line (up to CRLF) in order: longer than `line_limit + 2` octets — what its
    stream reader cannot return as one line — is too long; otherwise its octets count towards
    `size_limit` (over it: too much), and then longer than `line_limit` is too long. The first of these
    decides the reply."""

    def __init__(self, *, size_limit: int | None, line_limit: int) -> None:
        self.size_limit = size_limit
        self.line_limit = line_limit
        self.state = DataState.NOMINAL
        self.done = False
        self.size = 0  # octets of the complete data lines while nominal, transparent dots included
        self._chunks: list[bytes] = []  # the data as received, while nominal
        self._line = 0  # octets of the unfinished line
        # The last octets taken (at most 4): the end of the data can start in them. At first, the CRLF
        # that ended the DATA command, so `. CRLF` at once ends the data too.
        self._tail = CRLF

    def next_read(self) -> bytes | int:
        """What to read next without reading past the end of the data: a separator to read up to (or
        what the stream reader holds before it, past its limit), or an exact number of octets when the
        end may have started in the octets already taken."""
        for started in (4, 3, 2):
            if self._tail.endswith(TERMINATOR[:started]):
                return len(TERMINATOR) - started
        return _AFTER_CR if self._tail.endswith(b"\r") else TERMINATOR

    def feed(self, chunk: bytes) -> int:
        """Take the next octets; returns how many of them belong to the data section (all of them
        unless the section ended before the end of `chunk`)."""
        if self.done:
            raise RuntimeError("the data section has ended")
        head = self._tail + chunk[: len(TERMINATOR) - 1]
        found = head.find(TERMINATOR)
        if found >= 0:
            end = found + len(TERMINATOR) - len(self._tail)
        else:
            found = chunk.find(TERMINATOR)
            end = found + len(TERMINATOR) if found >= 0 else -1
        if end < 0:
            self._take(chunk)
            self._tail = (self._tail + chunk[-4:])[-4:]
            return len(chunk)
        dot = end - _DOT_LINE  # where the final `. CRLF` starts, relative to `chunk`
        if dot >= 0:
            self._take(chunk[:dot])
        else:  # its first octets came in earlier pieces, as the unfinished line
            self._drop_last(-dot)
        self.done = True
        return end

    def content(self) -> bytes:
        """The message: the data lines, transparent dots removed."""
        if not self.done or self.state is not DataState.NOMINAL:
            raise RuntimeError("no message: the data section is unfinished or refused")
        data = b"".join(self._chunks)
        self._chunks = []
        if data.startswith(b"."):
            data = data[1:]
        return data.replace(b"\r\n.", CRLF)

    def _refuse(self, state: DataState) -> None:
        self.state = state
        self._chunks = []

    def _drop_last(self, count: int) -> None:
        self._line -= count
        while count and self._chunks:
            last = self._chunks.pop()
            if len(last) > count:
                self._chunks.append(last[:-count])
                break
            count -= len(last)

    def _take(self, data: bytes) -> None:
        if not data or self.state is not DataState.NOMINAL:
            return
        self._chunks.append(data)
        parts = data.split(CRLF)
        carried = self._line
        completed: list[int] = []  # the first line(s) this piece ends, begun in an earlier piece or not
        if carried and self._tail.endswith(b"\r") and data.startswith(b"\n"):  # a CRLF split in two
            completed.append(carried + 1)
            carried = -1  # the LF is not part of the next line
        if len(parts) > 1:
            completed.append(carried + len(parts[0]) + 2)
            middle, unfinished = parts[1:-1], len(parts[-1])
        else:
            middle, unfinished = [], carried + len(data)
        if completed:
            octets = self._line + len(data) - unfinished
            longest = max(*completed, max(map(len, middle), default=0) + 2)
            over_size = self.size_limit and self.size + octets > self.size_limit
            if longest > self.line_limit or over_size:
                self._judge([*completed, *(len(part) + 2 for part in middle)])
                if self.state is not DataState.NOMINAL:
                    return
            self.size += octets
        self._line = unfinished
        # An unfinished line already longer than a line may be is refused now rather than held.
        if self._line - data.endswith(b"\r") > self.line_limit:
            self._refuse(DataState.TOO_LONG)

    def _judge(self, lengths: list[int]) -> None:
        """Line by line, in order: the first line over a limit decides."""
        size = self.size
        for length in lengths:
            if length > self.line_limit + 2:
                self._refuse(DataState.TOO_LONG)
                return
            size += length
            if self.size_limit and size > self.size_limit:
                self._refuse(DataState.TOO_MUCH)
                return
            if length > self.line_limit:
                self._refuse(DataState.TOO_LONG)
                return


async def read_section(reader: asyncio.StreamReader, section: DataSection) -> None:
    """Read `section` from `reader` in the largest pieces the reader holds, up to its end."""
    while not section.done:
        wanted = section.next_read()
        if isinstance(wanted, int):
            chunk = await reader.readexactly(wanted)
        else:
            try:
                chunk = await reader.readuntil(wanted)
            except asyncio.LimitOverrunError as error:
                # No end of data in the first `consumed` octets: take them as they are.
                chunk = await reader.read(error.consumed)
        if section.feed(chunk) != len(chunk):
            raise RuntimeError("read past the end of the data section")


class BlockDataSMTP(SMTP):
    """aiosmtpd's server with DATA read in blocks (same checks, replies, limits and handler hook)."""

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - the command method aiosmtpd dispatches to
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        section = DataSection(size_limit=self.data_size_limit, line_limit=self.line_length_limit)
        try:
            await read_section(self._reader, section)
        except asyncio.CancelledError:
            # The connection got reset during the DATA command.
            logger.info("connection lost during DATA")
            self._writer.close()
            raise
        if section.state is not DataState.NOMINAL:
            if section.state is DataState.TOO_LONG:
                await self.push("500 Line too long (see RFC5321 4.5.3.1.6)")
            else:
                await self.push("552 Error: Too much mail data")
            self._set_post_data_state()
            return
        original_content = section.content()
        content: str | bytes = original_content
        if self._decode_data:
            if self.enable_SMTPUTF8:
                content = original_content.decode("utf-8", errors="surrogateescape")
            else:
                try:
                    content = original_content.decode("ascii", errors="strict")
                except UnicodeDecodeError:
                    await self.push("500 Error: strict ASCII mode")
                    return
        self.envelope.content = content
        self.envelope.original_content = original_content
        # Handlers implement `handle_DATA`; without one the reply is aiosmtpd's `250 OK` (its
        # deprecated `process_message` API is not called).
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)
