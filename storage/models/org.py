from __future__ import annotations

from sqlmodel import Field, SQLModel


class OrgUnitRow(SQLModel, table=True):
    """One node of the organisation directory (city, county/district or unit)."""

    __tablename__ = "org_unit"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=100)
    level: str = Field(max_length=10)
    parent_code: str | None = Field(default=None, foreign_key="org_unit.code", index=True, max_length=32)
    short_name: str | None = Field(default=None, max_length=20)
    sort_order: int = 0
    active: bool = True
