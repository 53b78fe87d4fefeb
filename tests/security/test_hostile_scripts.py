"""Hostile scripts, each meeting a specific defense; after each, the gateway still runs other scripts.

``compile``: refused before anything runs, naming the line. ``call``: the call fails with the
reason (the script runs in the worker, with its CPU budget, memory cap and wall-clock watchdog).
"""

from __future__ import annotations

import json
import re

import pytest

from gateway.core.errors import ScriptCompileError
from gateway.core.messages import CallContext
from gateway.scripting import ScriptRunner

CONTEXT = CallContext("rule", "default", "out/topic", 1)
DATA = {"timestamp": 1.0, "group_name": "g", "values": {"PLC1": {"T": {"raw_data": 1, "timestamp": 1, "status": 1}}}}
GOOD = "def main(data, api):\n    return {'still': 'working'}\n"


def body(code: str) -> str:
    """Wrap statements as the body of a publish function."""
    return "def main(data, api):\n" + "".join(f"    {line}\n" for line in code.splitlines())


COMPILE_REFUSED = [
    ("import os", "import os\n" + body("pass"), "line 1: import of 'os' is not allowed"),
    ("import sys", "import sys\n" + body("pass"), "line 1: import of 'sys'"),
    ("import subprocess", "import subprocess\n" + body("pass"), "line 1: import of 'subprocess'"),
    ("import socket", "import socket\n" + body("pass"), "line 1: import of 'socket'"),
    ("import requests", "import requests\n" + body("pass"), "line 1: import of 'requests' is not allowed (scripts "
     "cannot make HTTP requests"),
    ("import ctypes", "import ctypes\n" + body("pass"), "line 1: import of 'ctypes'"),
    ("import importlib", "import importlib\n" + body("pass"), "line 1: import of 'importlib'"),
    ("from os import path", "from os import path\n" + body("pass"), "line 1: import of 'os'"),
    ("import os.path", "import json.decoder\n" + body("pass"), "line 1: import of 'json.decoder'"),
    ("import threading", "import threading\n" + body("pass"), "line 1: import of 'threading'"),
    ("import signal", "import signal\n" + body("pass"), "line 1: import of 'signal'"),
    ("import string", "import string\n" + body("pass"), "line 1: import of 'string'"),
    ("fullwidth look-alike import", "import \uff4f\uff53\n" + body("pass"), "line 1: import of 'os'"),
    ("import in the function", body("import os"), "line 2: import of 'os'"),
    ("__import__", body("m = __import__('os')"), "line 2:"),
    ("exec", body("exec('x = 1')"), "line 2: Exec calls are not allowed"),
    ("generator frame walk", body("def g():\n    yield 1\ngen = g()\nreturn gen.gi_frame"),
     "line 5: \"gi_frame\" is a restricted name"),
    ("frame globals walk", body("return api.awsiot_publish.f_globals"), "\"f_globals\" is a restricted name"),
    ("dunder attribute", body("return data.__class__"), "line 2: \"__class__\" is an invalid attribute name"),
    ("dunder on wizard_api", body("return api.__dict__"), "line 2:"),
    ("private attribute", body("return api._send_now"), "line 2:"),
    ("f-string walk", body("return f'{api.__class__.__init__.__globals__}'"), "line 2:"),
    ("positional-only guard shadowing", "def main(data, api, _write_=None, /):\n    pass\n", "line 1:"),
    ("step budget shadowing", "def main(data, api, _tick_=None, /):\n    pass\n", "line 1:"),
    ("step budget rebinding", body("_tick_ = lambda: True\nwhile True:\n    pass"), "line 2: \"_tick_\" is an invalid"),
    ("except*", body("try:\n    pass\nexcept* ValueError:\n    pass"), "line 2: TryStar"),
    ("class look-alike string", "class F(str):\n    pass\n" + body("return F('x')"),
     "line 1: class definitions are not allowed"),
    ("generator", body("def g():\n    yield 1\nreturn list(g())"), "line 3: generators (yield) are not allowed"),
    ("augmented write to an attribute", body("api.x += 1"), "Augmented assignment of attributes"),
    ("deeply nested expression", body("return " + "(" * 300 + "1" + ")" * 300), "line 2: syntax error"),
    ("megabytes of source", "x = 1\n" * 200_000 + body("pass"), "larger than 256 KiB"),
    ("syntax error", body("return ("), "syntax error"),
]


@pytest.mark.parametrize(("source", "reason"), [(s, r) for _, s, r in COMPILE_REFUSED],
                         ids=[name for name, _, _ in COMPILE_REFUSED])
def test_refused_before_it_runs(source: str, reason: str) -> None:
    runner = ScriptRunner(send_now=lambda *_: False)
    with pytest.raises(ScriptCompileError, match=re.escape(reason)):
        runner.load("hostile", source, "hostile.py", "main")


CALL_FAILS = [
    ("open a file", body("return open('/etc/passwd').read()"), "NameError: name 'open' is not defined"),
    ("eval of code", body("return eval(\"__import__('os').system('id')\")"), "ValueError: malformed node"),
    ("compile", body("return compile('1', 'x', 'eval')"), "NameError: name 'compile' is not defined"),
    ("getattr walk", body("return getattr(api, '__globals__')"), "NameError: name 'getattr' is not defined"),
    ("type() up the mro to object, then to type", body("return type(type(1).mro()[-1])"),
     "type() of a type is not available in scripts"),
    ("vars()", body("return vars(api)"), "NameError: name 'vars' is not defined"),
    ("str.format walk", body("return '{0.__class__}'.format(api)"), "format"),
    ("module submodule walk", "import json\n" + body("return json.codecs"), "has no attribute 'codecs'"),
    ("logging's os", "import logging\n" + body("return logging.os"), "has no attribute 'os'"),
    ("re's internals", "import re\n" + body("return re.enum"), "has no attribute 'enum'"),
    ("raise SystemExit", body("raise SystemExit(1)"), "NameError: name 'SystemExit' is not defined"),
    ("BaseException", body("raise BaseException('x')"), "NameError: name 'BaseException' is not defined"),
    ("setattr", body("setattr(api, 'x', 1)"), "NameError: name 'setattr' is not defined"),
    ("deep recursion", body("def f(n):\n    return f(n + 1)\nreturn f(0)"), "RecursionError"),
    ("huge string", body("return len('x' * (10 ** 10))"), "MemoryError"),
    ("huge list", body("return len([0] * (10 ** 9))"), "MemoryError"),
    ("endless loop", body("while True:\n    pass"), "line 3: ran more than 1,000,000 loop and function steps"),
    ("endless loop swallowing the budget", body("while True:\n    try:\n        while True:\n            pass\n"
                                                "    except Exception:\n        pass"), "loop and function steps"),
    ("endless loop swallowing the budget with a bare except", body(
        "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass"),
     "loop and function steps"),
    ("a class made from type's three arguments", body("return type('C', (), {})"), "takes 1 positional"),
    ("type of a type, to make classes at run time", body("meta = type(type(1))\nreturn meta('C', (), {})"),
     "type() of a type is not available in scripts"),
    ("a CPU-heavy call caught by a bare except", body("try:\n    return 10 ** 10 ** 8\nexcept:\n    return 'caught'"),
     "used more than 0.5 s of CPU"),
    ("endless comprehension", body("return [x for x in range(10 ** 12)]"), "line 2: ran more than 1,000,000"),
    ("recursive lambda bomb", body("f = lambda n: f(n - 1) + f(n - 1) if n else 1\nreturn f(60)"),
     "line 2: ran more than 1,000,000"),
    ("recursion caught and retried", body("def f():\n    try:\n        f()\n    except Exception:\n        f()\n"
                                          "return f()"), "used more than 0.5 s of CPU"),
    ("loop inside C code (no ticks, no signal checks)", body("return sum(range(10 ** 13))"), "timed out after 4 s"),
    ("sleep for days", "import time\n" + body("time.sleep(10 ** 6)"), "timed out after 4 s"),
    ("big number", body("return 10 ** 10 ** 8"), "used more than 0.5 s of CPU"),
    ("publish to a wildcard", body("api.awsiot_publish('a/#', 'x', 1)"), "wildcards"),
]


@pytest.mark.parametrize(("source", "reason"), [(s, r) for _, s, r in CALL_FAILS],
                         ids=[name for name, _, _ in CALL_FAILS])
async def test_fails_alone_and_the_next_script_works(source: str, reason: str) -> None:
    # the wall-clock timeout is well above the CPU budget, so a loaded machine still shows each defense
    runner = ScriptRunner(send_now=lambda *_: False, timeout=4.0, cpu_seconds=0.5, steps=1_000_000)
    runner.load("hostile", source, "hostile.py", "main")
    runner.load("good", GOOD, "good.py", "main")
    try:
        hostile = await runner.call_publish("hostile", DATA, CONTEXT)
        good = await runner.call_publish("good", DATA, CONTEXT)
    finally:
        await runner.close()
    assert hostile.error is not None and reason in hostile.error, hostile.error
    assert hostile.messages == []
    assert good.error is None and [json.loads(m.payload) for m in good.messages] == [{"still": "working"}]


async def test_a_script_cannot_change_what_another_script_sees() -> None:
    runner = ScriptRunner(send_now=lambda *_: False)
    runner.load("mutate", body("data['values'].clear()\ndata['group_name'] = 'hacked'"), "m.py", "main")
    runner.load("reader", body("return data"), "r.py", "main")
    try:
        await runner.call_publish("mutate", DATA, CONTEXT)
        seen = await runner.call_publish("reader", DATA, CONTEXT)
    finally:
        await runner.close()
    assert json.loads(seen.messages[0].payload) == DATA


async def test_huge_prints_are_cut_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    runner = ScriptRunner(send_now=lambda *_: False)
    runner.load("loud", body("print('x' * (5 * 1024 * 1024))\nreturn 1"), "l.py", "main")
    try:
        outcome = await runner.call_publish("loud", DATA, CONTEXT)
    finally:
        await runner.close()
    assert outcome.error is None
    assert max((len(r.getMessage()) for r in caplog.records), default=0) <= 10_000
