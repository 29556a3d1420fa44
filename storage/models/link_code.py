from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class LinkCode(SQLModel, table=True):
    """A one-time code that joins another channel's identity to an existing user."""

    __tablename__ = "link_code"

    code: str = Field(primary_key=True, max_length=12)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
