"""Which recipient addresses we accept and what each one is for (plus-addressing included)."""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr

from app.core.settings.front_ends import EmailSettings

QUESTIONS = "questions"
DOCUMENTS = "documents"
ANY = "any"  # a configured address: the message content decides


def normalise(address: str) -> str:
    """Lower-case, without a +tag in the local part (ask+finance@x → ask@x)."""
    _, addr = parseaddr(address)
    local, at, domain = (addr or address).strip().strip("<>").rpartition("@")
    if not at:
        return address.strip().lower()
    return f"{local.split('+', 1)[0]}@{domain}".lower()


@dataclass(frozen=True)
class Mailboxes:
    questions: str
    documents: str
    others: frozenset[str]

    @classmethod
    def from_settings(cls, settings: EmailSettings) -> Mailboxes:
        return cls(
            questions=normalise(settings.question_address),
            documents=normalise(settings.documents_address),
            others=frozenset(normalise(a) for a in settings.addresses),
        )

    def purpose(self, address: str) -> str | None:
        """What mail to this address is for, or None when we do not accept it."""
        key = normalise(address)
        if key == self.questions:
            return QUESTIONS
        if key == self.documents:
            return DOCUMENTS
        return ANY if key in self.others else None

    def ours(self, address: str) -> bool:
        return self.purpose(address) is not None

    def from_address(self, display_name: str = "Plinth") -> str:
        local, _, domain = self.questions.partition("@")
        return str(Address(display_name=display_name, username=local, domain=domain))
