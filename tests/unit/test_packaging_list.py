"""Every Python package of the source tree is listed in pyproject.toml, so the wheel (and the app
package built from it) holds all of the gateway, not only what an editable install finds; a listed
folder without Python (the web UI's static files) is there for its data, which it must name."""

from __future__ import annotations

import tomllib

from tests.conftest import REPO


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    roots = {name: REPO / folder for name, folder in setuptools["package-dir"].items()}
    found = set()
    for name, folder in roots.items():
        for init in folder.rglob("__init__.py"):
            if "__pycache__" in init.parts or "cases" in init.parts:
                continue
            relative = init.parent.relative_to(folder).parts
            found.add(".".join((name, *relative)))
    listed = set(setuptools["packages"])
    assert found <= listed, f"not listed: {found - listed}"
    data_only = listed - found
    assert data_only <= set(setuptools["package-data"]), f"listed without Python or data: {data_only - found}"
    for name in data_only:
        root, *inner = name.split(".")
        assert roots[root].joinpath(*inner).is_dir(), f"{name} is no folder"
