from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class DialogStateRow(SQLModel, table=True):
    """The user's current dialog, rewritten after every step.

    `version` is an optimistic lock: two processes handling the same user at once cannot both
    commit, so no answer is silently overwritten.
    """

    __tablename__ = "dialog_state"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    dialog: str = Field(max_length=40)
    step: str = Field(max_length=40)
    data: dict[str, Any] = Field(sa_type=JSON)
    version: int = 1
    updated_at: datetime = Field(sa_type=UTCDateTime)
