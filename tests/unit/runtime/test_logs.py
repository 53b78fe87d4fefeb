"""LogTail (the UI's live log) and ScriptLogs (each script's own log file and tail)."""

from __future__ import annotations

import logging
from pathlib import Path

from gateway.runtime.log_tail import LogTail
from gateway.runtime.script_logs import ScriptLogs, log_file_name


def test_the_tail_gives_what_came_after_a_line_at_a_level_and_forgets_the_oldest() -> None:
    tail = LogTail("info", keep=3)
    root_level = logging.getLogger().level
    tail.attach()
    log = logging.getLogger("gateway.test-tail")
    try:
        log.debug("below the gateway's level")
        log.info("one")
        log.warning("two")
        log.error("three")
        log.info("four")
    finally:
        tail.close()
        logging.getLogger().setLevel(root_level)
    log.error("after close")
    lines = tail.since()
    assert [line["message"] for line in lines] == ["two", "three", "four"]  # keeps 3; debug never came
    assert [line["message"] for line in tail.since(after=lines[0]["id"])] == ["three", "four"]
    assert [line["message"] for line in tail.since(level="error")] == ["three"]
    assert [line["message"] for line in tail.since(level="nonsense", limit=1)] == ["four"]
    assert lines[1] | {"time": 0} == {"id": lines[1]["id"], "time": 0, "level": "ERROR", "logger": "gateway.test-tail",
                                      "message": "three"}


def test_each_script_gets_its_own_file_and_tail_and_a_name_never_becomes_a_path(tmp_path: Path) -> None:
    logs = ScriptLogs(tmp_path / "scripts", max_bytes=400, backups=1)
    logs.attach()
    try:
        logging.getLogger("gateway.script.publish:upload").info("printed by the script")
        logging.getLogger("gateway.script.../../etc/passwd").warning("hostile name")
        logging.getLogger("gateway.script").error("the parent speaks for no script")
        for n in range(20):
            logging.getLogger("gateway.script.publish:upload").debug("line %d of a chatty script", n)
    finally:
        logs.close()
    files = sorted(p.name for p in (tmp_path / "scripts").iterdir())
    assert files == sorted([log_file_name("publish:upload"), log_file_name("publish:upload") + ".1",
                            log_file_name("../../etc/passwd")])
    assert log_file_name("../../etc/passwd").startswith("etc_passwd-") and "/" not in log_file_name("a/b")
    assert log_file_name("x") != log_file_name("x.")  # readable parts alike, names still apart
    tail = logs.tail("publish:upload")
    assert tail[0]["message"] == "printed by the script" and tail[-1]["message"] == "line 19 of a chatty script"
    assert [line["message"] for line in logs.tail("../../etc/passwd")] == ["hostile name"]
    assert logs.tail("never ran") == []
    assert "line 19 of a chatty script" in logs.path("publish:upload").read_text()
    assert logging.getLogger("gateway.script").level == logging.NOTSET  # closing gave the level back
