"""Names of the audited event types."""

from __future__ import annotations

INPUT_RECEIVED = "input.received"
INPUT_REJECTED = "input.rejected"
OUTPUT_GENERATED = "output.generated"
OUTPUT_DELIVERED = "output.delivered"
OUTPUT_FALLBACK = "output.fallback"
DOCUMENT_INGESTED = "document.ingested"
DOCUMENT_DUPLICATE = "document.duplicate"
DOCUMENT_REFUSED = "document.refused"
DOCUMENT_DELETED = "document.deleted"

SYSTEM_ACTOR = "system"
