"""Names of the audited event types."""

from __future__ import annotations

INPUT_RECEIVED = "input.received"
INPUT_REJECTED = "input.rejected"
OUTPUT_GENERATED = "output.generated"
OUTPUT_DELIVERED = "output.delivered"
OUTPUT_FALLBACK = "output.fallback"
OUTPUT_DELIVERY_FAILED = "output.delivery_failed"
FEEDBACK_RECORDED = "feedback.recorded"
CORRECTION_SUGGESTED = "correction.suggested"
CORRECTION_REVIEWED = "correction.reviewed"
ESCALATION_REQUESTED = "escalation.requested"
ESCALATION_RESOLVED = "escalation.resolved"
DOCUMENT_INGESTED = "document.ingested"
DOCUMENT_DUPLICATE = "document.duplicate"
DOCUMENT_REFUSED = "document.refused"
DOCUMENT_DELETED = "document.deleted"
AUTH_TOKEN_CREATED = "auth.token_created"  # noqa: S105 - an event name
AUTH_TOKEN_REVOKED = "auth.token_revoked"  # noqa: S105 - an event name
AUTH_FAILED = "auth.failed"
AUTH_PERMISSION_DENIED = "auth.permission_denied"
ADMIN_ROLES_CHANGED = "admin.roles_changed"
AUTH_LOGIN = "auth.login"
AUTH_LOGOUT = "auth.logout"
AUTH_IDENTITY_LINKED = "auth.identity_linked"
AUTH_LOCAL_ADMIN_SET = "auth.local_admin_set"

SYSTEM_ACTOR = "system"

# The audit log's own reads, exports and administration.
AUDIT_QUERIED = "audit.queried"
AUDIT_QUERY_REJECTED = "audit.query_rejected"
AUDIT_EXPORTED = "audit.exported"
AUDIT_BUNDLED = "audit.bundled"
AUDIT_VERIFIED = "audit.verified"
AUDIT_RETENTION_SET = "audit.retention_set"
AUDIT_HOLD_PLACED = "audit.hold_placed"
AUDIT_HOLD_RELEASED = "audit.hold_released"
AUDIT_PURGE_REQUESTED = "audit.purge_requested"
AUDIT_PURGE_APPROVED = "audit.purge_approved"
AUDIT_PAYLOADS_PURGED = "audit.payloads_purged"
JOB_DEAD_LETTERED = "job.dead_lettered"
JOB_REPLAYED = "job.replayed"

# Runtime settings changed in the console (a new version of a section), and deliveries replayed.
SETTINGS_CHANGED = "settings.changed"
OUTPUT_DELIVERY_REQUEUED = "output.delivery_requeued"
