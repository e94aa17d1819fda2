"""Stored Slack tokens: encrypted under a key kept outside the database, readable after a key rotation."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography.fernet import Fernet

from app.core import token_crypto
from app.core.settings import Settings
from tests.conftest import Env

TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"


def test_a_token_round_trips_and_is_not_stored_in_the_clear(env: Env) -> None:
    sealed = token_crypto.encrypt(TOKEN)
    assert sealed is not None
    assert TOKEN not in sealed
    assert "pdFZKVeTuE8sk7oOcBrzbqgy" not in sealed
    assert token_crypto.decrypt(sealed) == TOKEN
    assert token_crypto.encrypt(None) is None
    assert token_crypto.decrypt(None) is None


def test_the_key_file_is_created_private_under_plinth_home(env: Env) -> None:
    token_crypto.encrypt(TOKEN)
    path = env.home.resolve() / "keys" / token_crypto.KEY_FILE_NAME
    assert path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert len(token_crypto.parse_keys(path.read_text())) == 1


def test_rotation_old_tokens_stay_readable_and_are_reencrypted_under_the_new_key(env: Env) -> None:
    sealed_old = token_crypto.encrypt(TOKEN)
    assert sealed_old is not None
    path = token_crypto.key_file()
    old_keys = token_crypto.parse_keys(path.read_text())
    new_key = Fernet.generate_key()
    token_crypto.write_key_file(path, [new_key, *old_keys])
    assert token_crypto.decrypt(sealed_old) == TOKEN  # the ring still opens what the old key sealed
    resealed = token_crypto.reencrypt(sealed_old)
    assert resealed is not None
    assert Fernet(new_key).decrypt(resealed.encode()).decode() == TOKEN
    token_crypto.write_key_file(path, [new_key])  # the old key retired
    assert token_crypto.decrypt(resealed) == TOKEN
    with pytest.raises(token_crypto.TokenDecryptionError, match="cannot be decrypted"):
        token_crypto.decrypt(sealed_old)


def test_keys_from_the_setting_newest_first(env: Env) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed_old = Fernet(old).encrypt(TOKEN.encode()).decode()
    env.set(PLINTH_SLACK_TOKEN_KEYS=f"{new.decode()},{old.decode()}")
    assert token_crypto.decrypt(sealed_old) == TOKEN
    sealed = token_crypto.encrypt(TOKEN)
    assert sealed is not None
    assert Fernet(new).decrypt(sealed.encode()).decode() == TOKEN
    assert not token_crypto.key_file().exists()  # no key file when the keys are configured


def test_a_malformed_key_is_refused_with_its_source(env: Env) -> None:
    env.set(PLINTH_SLACK_TOKEN_KEYS="not-a-key")
    with pytest.raises(token_crypto.ConfigurationError, match="PLINTH_SLACK_TOKEN_KEYS"):
        token_crypto.encrypt(TOKEN)


def test_oauth_mode_needs_client_credentials_and_no_bot_token(env: Env) -> None:
    env.set(PLINTH_SLACK_SIGNING_SECRET="s", PLINTH_SLACK_CLIENT_ID="1.2", PLINTH_SLACK_CLIENT_SECRET="c")
    slack = Settings().slack
    assert slack.oauth_enabled
    assert slack.http_enabled
    env.set(PLINTH_SLACK_BOT_TOKEN="xoxb-1")  # a bot token wins: single-workspace token mode
    slack = Settings().slack
    assert not slack.oauth_enabled
    assert slack.http_enabled
    env.unset("PLINTH_SLACK_BOT_TOKEN", "PLINTH_SLACK_CLIENT_SECRET")
    assert not Settings().slack.http_enabled
