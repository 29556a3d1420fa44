"""Unit of work: one transaction and the repositories that share it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession

from storage import sqlite_driver
from storage.database import Database
from storage.repositories.audit import AuditRepository
from storage.repositories.callers import CallerRepository
from storage.repositories.dialog_states import DialogStateRepository
from storage.repositories.exports import ExportRepository
from storage.repositories.filings import FilingMessageRepository, FilingRepository
from storage.repositories.invitations import InvitationRepository
from storage.repositories.org_units import OrgUnitRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.processed_updates import ProcessedUpdateRepository
from storage.repositories.rectifications import RectificationRepository
from storage.repositories.reminders import ReminderRepository
from storage.repositories.reviews import ToleranceReviewRepository
from storage.repositories.selfchecks import SelfCheckRepository
from storage.repositories.settings import JurisdictionSettingRepository
from storage.repositories.stats import StatsRepository
from storage.repositories.users import LinkRepository, UserRepository
from storage.repositories.visits import ReturnVisitRepository


class UnitOfWork:
    session: AsyncSession
    users: UserRepository
    callers: CallerRepository
    links: LinkRepository
    invitations: InvitationRepository
    dialog_states: DialogStateRepository
    org_units: OrgUnitRepository
    audit: AuditRepository
    outbox: OutboxRepository
    processed_updates: ProcessedUpdateRepository
    filings: FilingRepository
    filing_messages: FilingMessageRepository
    selfchecks: SelfCheckRepository
    rectifications: RectificationRepository
    reviews: ToleranceReviewRepository
    reminders: ReminderRepository
    settings: JurisdictionSettingRepository
    visits: ReturnVisitRepository
    stats: StatsRepository
    exports: ExportRepository

    def __init__(self, database: Database) -> None:
        self._database = database

    async def __aenter__(self) -> UnitOfWork:
        if self._database.writers is not None:
            await self._database.writers.enter()
        self.session = self._database.sessions()
        self.users = UserRepository(self.session)
        self.callers = CallerRepository(self.session)
        self.links = LinkRepository(self.session)
        self.invitations = InvitationRepository(self.session)
        self.dialog_states = DialogStateRepository(self.session)
        self.org_units = OrgUnitRepository(self.session)
        self.audit = AuditRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.processed_updates = ProcessedUpdateRepository(self.session)
        self.filings = FilingRepository(self.session)
        self.filing_messages = FilingMessageRepository(self.session)
        self.selfchecks = SelfCheckRepository(self.session)
        self.rectifications = RectificationRepository(self.session)
        self.reviews = ToleranceReviewRepository(self.session)
        self.reminders = ReminderRepository(self.session)
        self.settings = JurisdictionSettingRepository(self.session)
        self.visits = ReturnVisitRepository(self.session)
        self.stats = StatsRepository(self.session)
        self.exports = ExportRepository(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed, so a half-done change never lands, and
        # (unlike rollback()) leaves loaded objects readable after the block.
        try:
            await self.session.close()
        finally:
            if self._database.writers is not None:
                self._database.writers.leave()

    async def commit(self) -> None:
        await self.session.commit()

    @contextmanager
    def long_running(self) -> Iterator[None]:
        """Statements in this block may take long (statistics, exports): on SQLite they run off the
        event loop, as they cannot be cut to let other people's replies through."""
        token = sqlite_driver.long_running.set(True)
        try:
            yield
        finally:
            sqlite_driver.long_running.reset(token)

    @property
    def database(self) -> Database:
        """For work that must outlive this transaction (an export reads in short ones of its own)."""
        return self._database
