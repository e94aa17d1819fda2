"""`/ask` (a private answer with "Share in channel") and the message shortcut "Ask Plinth about this"."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from app.core.settings import get_settings
from integrations.slack import blocks, intake

SHORTCUT_ASK = "ask_plinth"
USAGE = "Ask a question after the command, e.g. `/ask How many days of leave do I get?`"


def on_ask(ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    text = (command.get("text") or "").strip()
    if not text:
        ack(text=USAGE, response_type="ephemeral")
        return
    question = intake.Question(
        team_id=str(command.get("team_id") or context.team_id),
        user_id=str(command["user_id"]),
        text=text,
        external_id=f"command:{command['trigger_id']}",
        channel_id=str(command["channel_id"]),
        is_dm=True,  # a private answer: the asker's own access applies
        mentioned=True,
        thread_ts=None,
        reply={"response_url": command["response_url"], "ephemeral": True},
        **intake.grid_of(context),
    )
    outcome = intake.accept(client, question)
    ack(**_ack_content(outcome))


def on_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    message = shortcut.get("message") or {}
    text = intake.strip_mentions(message.get("text") or "", context.bot_user_id)
    if not text:
        ack()
        client.chat_postEphemeral(
            channel=shortcut["channel"]["id"],
            user=shortcut["user"]["id"],
            text="That message has no text to ask about.",
        )
        return
    question = intake.Question(
        team_id=str(shortcut.get("team", {}).get("id") or context.team_id),
        user_id=str(shortcut["user"]["id"]),
        text=text,
        external_id=f"shortcut:{shortcut['trigger_id']}",
        channel_id=str(shortcut["channel"]["id"]),
        is_dm=True,
        mentioned=True,
        thread_ts=None,
        reply={"response_url": shortcut["response_url"], "ephemeral": True, "replace": False},
        **intake.grid_of(context),
    )
    outcome = intake.accept(client, question)
    ack()
    note = outcome.refusal or get_settings().slack.placeholder_text
    client.chat_postEphemeral(
        channel=question.channel_id, user=question.user_id, text=blocks.safe_mrkdwn(note)
    )


def _ack_content(outcome: intake.Outcome) -> dict[str, Any]:
    text = outcome.refusal or get_settings().slack.placeholder_text
    return {"text": blocks.safe_mrkdwn(text), "response_type": "ephemeral"}


def register(app: App) -> None:
    app.command("/ask")(on_ask)
    app.message_shortcut(SHORTCUT_ASK)(on_shortcut)
