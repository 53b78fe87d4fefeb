"""A script's files stay in its own folder under data_dir, within their size caps, whatever name
the script gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.core.errors import GatewayError
from gateway.store import script_files
from gateway.store.script_files import ScriptFiles


def test_device_supervisor_paths_land_inside_the_scripts_folder(tmp_path: Path) -> None:
    files = ScriptFiles(tmp_path / "files")
    files.write("up.py", "/var/user/app/device_supervisor/test.txt", b"test3")
    files.write("up.py", "/var/user/app/device_supervisor/test.txt", b"+4", mode="a")
    assert files.read("up.py", "/var/user/app/device_supervisor/test.txt") == b"test3+4"
    assert files.read("up.py", "var/user/app/device_supervisor/test.txt", "rb", size=4) == b"test"
    assert (tmp_path / "files/up.py/var/user/app/device_supervisor/test.txt").read_bytes() == b"test3+4"
    with pytest.raises(GatewayError, match="no file"):
        files.read("other.py", "/var/user/app/device_supervisor/test.txt")  # another script's folder


@pytest.mark.parametrize("name", ["../x", "/a/../../etc/passwd", "a/\0b", "", ".", "x" * 600, "a/*b"])
def test_names_that_could_leave_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    files = ScriptFiles(tmp_path / "files")
    with pytest.raises(GatewayError):
        files.write("up.py", name, b"x")
    assert not any((tmp_path / "files").rglob("*")) if (tmp_path / "files").exists() else True


def test_inline_scripts_share_a_folder_and_no_script_name_leaves_the_root(tmp_path: Path) -> None:
    files = ScriptFiles(tmp_path / "files")
    files.write("<inline>", "a.txt", b"x")
    files.write("../../etc", "b.txt", b"y")
    assert (tmp_path / "files/_inline_/a.txt").read_bytes() == b"x"
    assert sorted(p.name for p in (tmp_path / "files").iterdir()) == ["_.._etc", "_inline_"]  # one plain folder each


def test_a_symlink_planted_in_the_folder_is_not_followed_out(tmp_path: Path) -> None:
    (tmp_path / "files/up.py").mkdir(parents=True)
    (tmp_path / "files/up.py/out").symlink_to(tmp_path)
    with pytest.raises(GatewayError, match="leaves the script's folder"):
        ScriptFiles(tmp_path / "files").write("up.py", "out/secret", b"x")


def test_sizes_are_capped_per_file_and_per_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = ScriptFiles(tmp_path / "files")
    monkeypatch.setattr(script_files, "MAX_FILE_BYTES", 10)
    monkeypatch.setattr(script_files, "MAX_FOLDER_BYTES", 15)
    files.write("up.py", "a", b"0123456789")
    with pytest.raises(GatewayError, match="at most 10 bytes"):
        files.write("up.py", "a", b"x", mode="a")
    with pytest.raises(GatewayError, match="would exceed"):
        files.write("up.py", "b", b"0123456")
    files.write("up.py", "a", b"01")  # rewriting frees what the old content held
    files.write("up.py", "b", b"0123456")
    with pytest.raises(GatewayError, match="not a read mode"):
        files.read("up.py", "a", "r+")
