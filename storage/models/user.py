from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class User(SQLModel, table=True):
    """A person, whichever channels they use; registered once name, unit and position are known."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = Field(default=None, max_length=60)
    unit_code: str | None = Field(default=None, foreign_key="org_unit.code", index=True, max_length=32)
    position: str | None = Field(default=None, max_length=60)
    locale: str = Field(default="zh_CN", max_length=10)
    registered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class UserIdentity(SQLModel, table=True):
    """How a channel knows the user: a Telegram user id, a web session id, a bridge's user key."""

    __tablename__ = "user_identity"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_identity_channel_external"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    channel: str = Field(max_length=20)
    external_id: str = Field(max_length=100)
    display_name: str | None = Field(default=None, max_length=120)
    # The command menu last installed for this chat, so it is re-sent only when roles change.
    menu_key: str | None = Field(default=None, max_length=200)
    reachable: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)


class UserRole(SQLModel, table=True):
    """A role beyond cadre. Officers carry the county code they serve; '' means no jurisdiction."""

    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role", "jurisdiction_code", name="uq_role_grant"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    role: str = Field(max_length=20)
    jurisdiction_code: str = Field(default="", max_length=32)
    granted_at: datetime = Field(sa_type=UTCDateTime)
    granted_by: str | None = Field(default=None, max_length=100)
