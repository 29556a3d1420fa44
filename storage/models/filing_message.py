from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class FilingMessage(SQLModel, table=True):
    """What officers and the cadre say about one filing: a return question, its answer, guidance."""

    __tablename__ = "filing_message"

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="filing.id", index=True)
    kind: str = Field(max_length=30)  # return_question | return_answer | not_accepted_reasons | ...
    author_user_id: int = Field(foreign_key="app_user.id")
    text: str
    attachments: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)
