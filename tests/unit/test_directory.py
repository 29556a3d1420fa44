from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.directory import read_directory_file
from dialogs.directory import DirectoryError


def test_the_shipped_directory_has_the_seed_path() -> None:
    directory = read_directory_file(None)
    yangqiao = next(u for u in directory if u.name == "杨桥街道办事处")
    assert [u.name for u in directory.path(yangqiao.code)] == ["昆明市", "嵩明县", "杨桥街道办事处"]
    jurisdiction = directory.jurisdiction_of(yangqiao.code)
    assert jurisdiction is not None and jurisdiction.short_name == "嵩明"


def test_a_replacement_file_is_used(tmp_path: Path) -> None:
    path = tmp_path / "dir.yaml"
    path.write_text(
        "cities:\n- code: '1'\n  name: 甲市\n  counties:\n  - code: '11'\n    name: 乙县\n"
        "    units:\n    - code: '111'\n      name: 丙局\n",
        encoding="utf-8",
    )
    directory = read_directory_file(path)
    assert [u.name for u in directory.children(None)] == ["甲市"]
    assert directory.full_name("111") == "甲市 / 乙县 / 丙局"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("cities: [", "not valid YAML"),
        ("units: []", "'cities'"),
        ("cities:\n- name: 甲市\n  counties: []\n", "cities[0]: 'code' and 'name' are required"),
        ("cities:\n- code: '1'\n  name: 甲市\n  counties: []\n", "cities[0].counties"),
    ],
)
def test_a_malformed_file_names_the_file_and_the_entry(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DirectoryError) as caught:
        read_directory_file(path)
    assert str(path) in str(caught.value)
    assert fragment in str(caught.value)
