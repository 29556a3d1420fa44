"""The start-up check reads the head revision without Alembic; it must agree with Alembic."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from storage.migrate import alembic_config, head_revision


def test_the_head_read_from_the_scripts_is_alembics_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == script.get_current_head()
