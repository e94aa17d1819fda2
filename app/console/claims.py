"""Roles from a provider's claims, by the configured rules (PLINTH_CONSOLE_ROLE_RULES)."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from app.core.settings.front_ends import RoleRule


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """The string values at a dotted claim path (`groups`, `realm_access.roles`): a string, or a list."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return []
        value = value[part]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def roles_for(claims: Mapping[str, Any], rules: Sequence[RoleRule]) -> list[str]:
    """Every role a rule grants for these claims (patterns match case-sensitively)."""
    granted = {
        rule.role
        for rule in rules
        if any(fnmatch.fnmatchcase(value, rule.value) for value in claim_values(claims, rule.claim))
    }
    return sorted(granted)
