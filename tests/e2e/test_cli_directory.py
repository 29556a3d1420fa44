"""`rongcuo directory import|template` and `rongcuo admin move|list|revoke` as an operator runs them."""

from __future__ import annotations

import io
from pathlib import Path

import yaml
from openpyxl import Workbook, load_workbook

from tests.e2e.test_cli import rongcuo

HEADER = ["code", "name", "level", "parent_code", "short_name"]


def _sheet(path: Path, rows: list[list[object]]) -> None:
    book = Workbook()
    book.active.append(HEADER)
    for row in rows:
        book.active.append(row)
    book.save(path)


def test_xlsx_dry_run_reports_bad_rows_and_applies_nothing(tmp_path: Path) -> None:
    _sheet(
        tmp_path / "bad.xlsx",
        [
            ["5301", "昆明市", "city", "", ""],  # row 2
            ["530127", "嵩明县", "county", "5301", "嵩明"],  # row 3
            ["530127001", "嵩阳街道办事处", "unit", "530127", ""],  # row 4
            ["530127001", "重复", "unit", "530127", ""],  # row 5
            ["530127002", "无上级", "unit", "", ""],  # row 6
            ["530127003", "", "unit", "530127", ""],  # row 7
        ],
    )
    result = rongcuo("directory", "import", "bad.xlsx", "--dry-run", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "bad.xlsx: 3 problems:",
        "· row 5: The code “530127001” is a duplicate of row 4.",
        "· row 6: The parent code is missing.",
        "· row 7: The name is missing.",
        "Nothing was imported.",
    ]
    # Without --dry-run a bad file is refused the same way.
    assert rongcuo("directory", "import", "bad.xlsx", cwd=tmp_path).returncode == 1
    template = rongcuo("directory", "template", "--out", "now.xlsx", cwd=tmp_path)
    assert template.returncode == 0 and "wrote 228 units" in template.stdout
    sheet = load_workbook(io.BytesIO((tmp_path / "now.xlsx").read_bytes())).worksheets[0]
    assert [c.value for c in sheet[1]] == HEADER and sheet.max_row == 229


def test_yaml_import_survives_restarts_and_admin_commands(tmp_path: Path) -> None:
    assert rongcuo("directory", "template", "--out", "dir.yaml", cwd=tmp_path).returncode == 0
    data = yaml.safe_load((tmp_path / "dir.yaml").read_text(encoding="utf-8"))
    kunming = data["cities"][0]
    kunming["counties"].append(
        {
            "code": "530199",
            "name": "滇池新区",
            "short": "新区",
            "units": [{"code": "530199001", "name": "新区管委会"}],
        }
    )
    kunming["counties"][0]["units"] = kunming["counties"][0]["units"][:2]  # 五华: 8 units down to 2
    (tmp_path / "new.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )

    assert rongcuo("admin", "list", cwd=tmp_path).returncode == 0  # a start: the shipped file is synced
    dry = rongcuo("directory", "import", "new.yaml", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[-1] == "dry run, nothing changed: would add 2, update 0, deactivate 6"
    done = rongcuo("directory", "import", "new.yaml", cwd=tmp_path)
    assert (
        done.returncode == 0 and done.stdout.splitlines()[-1] == "imported: added 2, updated 0, deactivated 6"
    )

    # Every later start (here: the admin commands) keeps the import instead of the shipped file.
    granted = rongcuo(
        "admin", "grant", "--telegram-id", "42", "--role", "officer", "--jurisdiction", "530199", cwd=tmp_path
    )
    assert granted.returncode == 0, granted.stderr
    moved = rongcuo(
        "admin", "move", "--telegram-id", "42", "--from", "530199", "--to", "530127", cwd=tmp_path
    )
    assert moved.returncode == 0 and "moved officer Telegram user 42 from 530199 to 530127" in moved.stdout
    listing = rongcuo("admin", "list", "--role", "officer", cwd=tmp_path)
    assert "officer@530127" in listing.stdout and "530199" not in listing.stdout
    wrong = rongcuo(
        "admin", "move", "--telegram-id", "42", "--from", "530199", "--to", "530181", cwd=tmp_path
    )
    assert wrong.returncode == 2 and "is not an officer of 滇池新区" in wrong.stderr
    assert rongcuo("directory", "template", "--out", "after.yaml", cwd=tmp_path).returncode == 0
    after = (tmp_path / "after.yaml").read_text(encoding="utf-8")
    assert "滇池新区" in after and "530102003" not in after


def test_the_last_administrator_cannot_be_revoked(tmp_path: Path) -> None:
    grant = ("admin", "grant", "--role", "admin", "--telegram-id")
    assert rongcuo(*grant, "7", cwd=tmp_path).returncode == 0
    refused = rongcuo("admin", "revoke", "--telegram-id", "7", "--role", "admin", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "rongcuo: The last administrator's role cannot be revoked: nobody could administer the system "
        "any more. Please make someone else an administrator first."
    )
    assert rongcuo(*grant, "8", cwd=tmp_path).returncode == 0
    assert rongcuo("admin", "revoke", "--telegram-id", "7", "--role", "admin", cwd=tmp_path).returncode == 0
