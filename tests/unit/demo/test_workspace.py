"""The demo works on its own copy of config.yaml and scripts/: the committed files are never
written, the copy survives a restart, and a changed committed file starts a fresh copy."""

from __future__ import annotations

from pathlib import Path

from gateway.demo.workspace import demo_copy


def _checkout(folder: Path) -> Path:
    (folder / "scripts").mkdir(parents=True)
    (folder / "scripts" / "upload.py").write_text("def upload(data, api):\n    return data\n")
    config = folder / "config.yaml"
    config.write_text("gateway: {name: demo}\n")
    return config


def test_the_demo_runs_a_copy_kept_across_restarts(tmp_path: Path) -> None:
    config = _checkout(tmp_path)
    copy, said = demo_copy(config)
    assert copy == tmp_path / "state" / "demo" / "config.yaml" and "never written" in said
    assert (copy.parent / "scripts" / "upload.py").read_text() == (tmp_path / "scripts" / "upload.py").read_text()
    copy.write_text("gateway: {name: edited-in-the-ui}\n")  # what a save from the UI does
    again, said = demo_copy(config)
    assert again == copy and again.read_text() == "gateway: {name: edited-in-the-ui}\n" and "kept" in said
    assert config.read_text() == "gateway: {name: demo}\n"


def test_a_changed_committed_config_starts_a_fresh_copy_and_keeps_the_old(tmp_path: Path) -> None:
    config = _checkout(tmp_path)
    copy, _ = demo_copy(config)
    copy.write_text("gateway: {name: edited-in-the-ui}\n")
    (tmp_path / "scripts" / "upload.py").write_text("def upload(data, api):\n    return None\n")  # a pull
    fresh, said = demo_copy(config)
    assert fresh.read_text() == "gateway: {name: demo}\n" and "changed since the last copy" in said
    assert (fresh.parent / "scripts" / "upload.py").read_text().endswith("return None\n")
    previous = tmp_path / "state" / "demo-previous" / "config.yaml"
    assert previous.read_text() == "gateway: {name: edited-in-the-ui}\n"
