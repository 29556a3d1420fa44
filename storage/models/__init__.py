"""All tables; importing this package registers them on SQLModel.metadata (Alembic needs that)."""

from storage.models.audit import AuditEntry
from storage.models.dialog_state import DialogStateRow
from storage.models.filing import Filing
from storage.models.filing_message import FilingMessage
from storage.models.invitation import Invitation
from storage.models.link_code import LinkCode
from storage.models.org import OrgUnitRow
from storage.models.outbox import OutboxMessage
from storage.models.processed_update import ProcessedUpdate
from storage.models.reminder import Reminder
from storage.models.return_visit import ReturnVisit
from storage.models.review import JurisdictionSetting, RectificationItem, ToleranceReview
from storage.models.rollup import FilingReviewRollup, FilingRollup, FilingUnitRollup, RollupState
from storage.models.selfcheck import PolicySnapshot, SelfCheckResult
from storage.models.user import User, UserIdentity, UserRole

__all__ = [
    "AuditEntry",
    "DialogStateRow",
    "Filing",
    "FilingMessage",
    "FilingReviewRollup",
    "FilingRollup",
    "FilingUnitRollup",
    "Invitation",
    "JurisdictionSetting",
    "LinkCode",
    "OrgUnitRow",
    "OutboxMessage",
    "PolicySnapshot",
    "ProcessedUpdate",
    "RectificationItem",
    "Reminder",
    "ReturnVisit",
    "RollupState",
    "SelfCheckResult",
    "ToleranceReview",
    "User",
    "UserIdentity",
    "UserRole",
]
