from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class Invitation(SQLModel, table=True):
    """A one-time web sign-in link an administrator made for a named person of a unit.

    Only a hash of the link's token is stored: someone reading the database (or a backup) cannot
    use an open invitation.
    """

    __tablename__ = "invitation"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=60)
    unit_code: str = Field(max_length=32)
    role: str | None = Field(default=None, max_length=20)
    jurisdiction_code: str = Field(default="", max_length=32)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
