"""The one-time setup code is accepted as an operator types it: any case, with or without dashes."""

from __future__ import annotations

from pathlib import Path

from gateway.runtime.passwords import PasswordStore


def test_the_setup_code_in_any_case_with_or_without_dashes(tmp_path: Path) -> None:
    store = PasswordStore(tmp_path)
    code = store.setup_code()
    assert code is not None and code.count("-") == 2
    for typed in (code, code.lower(), code.replace("-", ""), f"  {code.lower().replace('-', ' ')} "):
        assert store.check_setup_code(typed), typed
    for wrong in ("", code[:-1], code[:-1] + ("0" if code[-1] != "0" else "1"), "-".join([code, "A"])):
        assert not store.check_setup_code(wrong), wrong
