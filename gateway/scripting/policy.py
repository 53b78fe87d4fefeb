"""The gateway's sandbox policy: RestrictedPython's rules, tightened where escapes came from,
and loosened where Device Supervisor scripts need it and it can be done safely.

Refused (with the line): class definitions, generators (``yield``; their frames are a classic way
out). Allowed: augmented assignment to an item, ``d['k'] += 1``, rewritten so the container and
key are evaluated once and go through the same read and write guards as ``d['k'] = d['k'] + 1``;
a bare ``except:``, ordinary in Device Supervisor scripts, compiled as ``except Exception:`` so
that it never catches the step budget or the CPU timer (both derive from BaseException).

Every loop body, function body, lambda and comprehension starts with a call of ``_tick_()``, the
step budget (:class:`gateway.scripting.budget.StepBudget`): a pure-Python runaway loop ends inside
the worker after a fixed number of steps, without signals and whatever the script catches.
"""

from __future__ import annotations

import ast
from typing import Any

from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer, copy_locations

INJECTED_NAMES = ("__topic__", "__qos__")  # Device Supervisor 2.x gives publish functions their rule's
TICK = "_tick_"  # a guard name: check_name refuses '_' names in scripts, so they cannot rebind it


class GatewayPolicy(RestrictingNodeTransformer):
    """RestrictedPython's transformer with the gateway's changes."""

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        if name in INJECTED_NAMES:
            return
        super().check_name(node, name, allow_magic_methods)

    def visit_Call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Name) and node.func.id == "eval":
            node.func = ast.Name("literal_eval", ast.Load())  # scripts' eval takes literals only
            copy_locations(node.func, node)
        return super().visit_Call(node)

    def visit_For(self, node: ast.For) -> Any:
        return _tick_first(super().visit_For(node))

    def visit_While(self, node: ast.While) -> Any:
        return _tick_first(super().visit_While(node))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        return _tick_first(super().visit_FunctionDef(node))

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        result = super().visit_Lambda(node)
        if isinstance(result, ast.Lambda):  # lambda x: body  ->  lambda x: _tick_() and body
            guarded = ast.BoolOp(ast.And(), [_tick_call(result.body), result.body])
            copy_locations(guarded, result.body)
            result.body = guarded
        return result

    def visit_comprehension(self, node: ast.comprehension) -> Any:
        result = super().visit_comprehension(node)
        if isinstance(result, ast.comprehension):  # [x for x in it if _tick_() ...]
            result.ifs = [_tick_call(result.target), *result.ifs]
        return result

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        self.error(node, "class definitions are not allowed in scripts")
        return node

    def visit_Yield(self, node: ast.Yield) -> Any:
        self.error(node, "generators (yield) are not allowed in scripts")
        return node

    def visit_YieldFrom(self, node: ast.YieldFrom) -> Any:
        self.error(node, "generators (yield from) are not allowed in scripts")
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        if node.type is None:  # except:  ->  except Exception:
            node.type = ast.Name("Exception", ast.Load())
            copy_locations(node.type, node)
        return super().visit_ExceptHandler(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        if not isinstance(node.target, ast.Subscript):
            return super().visit_AugAssign(node)
        target = node.target
        container = self.visit(target.value)
        key = self.visit(target.slice)
        value = self.visit(node.value)
        container_name, key_name = self.gen_tmp_name(), self.gen_tmp_name()

        def load(name: str) -> ast.Name:
            return ast.Name(name, ast.Load())

        statements: list[ast.stmt] = [
            ast.Assign(targets=[ast.Name(container_name, ast.Store())], value=container),
            ast.Assign(targets=[ast.Name(key_name, ast.Store())], value=key),
            ast.Assign(
                targets=[ast.Subscript(
                    value=ast.Call(func=load("_write_"), args=[load(container_name)], keywords=[]),
                    slice=load(key_name), ctx=ast.Store())],
                value=ast.Call(func=load("_inplacevar_"), keywords=[], args=[
                    ast.Constant(IOPERATOR_TO_STR[type(node.op)]),
                    ast.Call(func=load("_getitem_"), args=[load(container_name), load(key_name)], keywords=[]),
                    value,
                ]),
            ),
        ]
        for statement in statements:
            copy_locations(statement, node)
            ast.fix_missing_locations(statement)
        return statements


def _tick_call(where: ast.expr | ast.stmt) -> ast.Call:
    call = ast.Call(func=ast.Name(TICK, ast.Load()), args=[], keywords=[])
    copy_locations(call, where)
    ast.fix_missing_locations(call)
    return call


def _tick_first(node: Any) -> Any:
    """Put ``_tick_()`` first in a loop's or function's body (a refused node comes back unchanged)."""
    if isinstance(node, ast.For | ast.While | ast.FunctionDef) and node.body:
        statement = ast.Expr(_tick_call(node.body[0]))
        copy_locations(statement, node.body[0])
        node.body.insert(0, statement)
    return node
