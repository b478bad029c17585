"""CEL rules (``x-kubernetes-validations``): compiled once, evaluated on a node's value.

A :class:`Compiler` turns each rule of a CRD into a :class:`Rule`, compiling each
distinct expression once.  Transition rules (``oldSelf``), rules that do not compile and
rules that call a function :mod:`egressctl.crd.celfuncs` cannot provide are not
compiled: the compiler lists them in :attr:`Compiler.skipped`, as the CRD set reports
them.  :meth:`Rule.failure` evaluates a rule with ``self`` bound to a value and words
what the API server would answer: the rule's message (or ``messageExpression``, or the
rule text), or why the rule could not be evaluated.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

try:  # common-expression-language needs Python 3.11+; on 3.10 CEL rules are skipped
    import cel
except ImportError:  # pragma: no cover - exercised only on Python 3.10
    cel = None  # type: ignore[assignment]

from egressctl.crd.celfuncs import BY_SHORT_NAME, FUNCTIONS, NATIVE
from egressctl.crd.jsonkind import kind_of

_CEL_LOG = logging.getLogger("cel")

# Evaluation errors the bindings raise: no such key, no such overload, a function that
# failed, an integer out of range…  Each means "the rule could not be evaluated".
_CEL_ERRORS = (KeyError, TypeError, ValueError, RuntimeError, IndexError, ArithmeticError)


@dataclass(frozen=True, slots=True)
class _Program:
    """One compiled CEL expression and the Python functions it needs."""

    program: Any  # cel.Program
    functions: Mapping[str, Callable[..., Any]]

    def execute(self, value: Any) -> Any:
        if not self.functions:
            return self.program.execute({"self": value})
        context = cel.Context(variables={"self": value}, functions=dict(self.functions))
        # The bindings log a Python function's exception (logger "cel") before raising it;
        # the caller reports the exception itself, so keep the log quiet meanwhile.
        quiet, _CEL_LOG.disabled = _CEL_LOG.disabled, True
        try:
            return self.program.execute(context)
        finally:
            _CEL_LOG.disabled = quiet


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled ``x-kubernetes-validations`` rule."""

    rule: str
    message: str
    field_path: str  # the rule's fieldPath in CrdProblem form: "value", "[key]" or ""
    program: _Program
    message_program: _Program | None

    def failure(self, value: Any) -> str | None:
        """Why the rule rejects ``value`` (bound to ``self``); None when it holds."""
        try:
            result = self.program.execute(value)
        except _CEL_ERRORS as exc:
            return f"rule could not be evaluated: {_error_text(exc)}"
        if result is True:
            return None
        if result is not False:
            return f"rule did not evaluate to a bool (got {kind_of(result)})"
        return self._message(value)

    def _message(self, value: Any) -> str:
        if self.message_program is not None:
            with contextlib.suppress(*_CEL_ERRORS):
                text = self.message_program.execute(value)
                if isinstance(text, str) and text.strip():
                    return text
        return self.message or self.rule


class Compiler:
    """Compiles each distinct CEL expression once; remembers the ones it cannot run."""

    def __init__(self) -> None:
        self._cache: dict[str, _Program | str] = {}
        self.skipped: list[str] = []
        self.label = ""  # the CRD kind and version being compiled, for skipped rules

    def program(self, text: str) -> _Program | str:
        """The compiled program, or why it cannot be evaluated."""
        cached = self._cache.get(text)
        if cached is None:
            cached = self._cache[text] = _compile(text)
        return cached

    def rule(self, raw: Any, where: str) -> Rule | None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("rule"), str):
            self.skipped.append(f"{self.label} {where}: not a rule: {raw!r}")
            return None
        text = raw["rule"]
        compiled = self.program(text)
        if isinstance(compiled, str):
            self.skipped.append(f"{self.label} {where}: {compiled}: {text}")
            return None
        message_program = None
        if isinstance(raw.get("messageExpression"), str):
            candidate = self.program(raw["messageExpression"])
            message_program = candidate if isinstance(candidate, _Program) else None
        return Rule(
            rule=text,
            message=str(raw.get("message") or ""),
            field_path=_relative_path(str(raw.get("fieldPath") or "")),
            program=compiled,
            message_program=message_program,
        )


def _compile(text: str) -> _Program | str:
    if cel is None:
        return "CEL is unavailable (needs Python 3.11+ and common-expression-language)"
    try:
        program = cel.compile(text)
    except (ValueError, RuntimeError) as exc:
        return f"does not compile ({str(exc).splitlines()[0]})"
    if "oldSelf" in program.variables():
        return "transition rule (uses oldSelf)"
    used = [f for f in program.functions() if not f.startswith(("_", "@", "!_", "-_"))]
    functions: dict[str, Callable[..., Any]] = {}
    unknown: list[str] = []
    for name in used:
        full_names = BY_SHORT_NAME.get(name, [])
        if not full_names and name not in NATIVE:
            unknown.append(name)
        for full in full_names:
            functions[full] = FUNCTIONS[full]
    if unknown:
        return "uses unsupported function " + ", ".join(sorted(set(unknown)))
    return _Program(program, functions)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no such key: {exc.args[0] if exc.args else ''}"
    # Drop the bindings' plumbing and generic advice ("… Check function arguments …").
    text = str(exc).replace("Python function call failed: ", "")
    return text.split(". ", 1)[0].rstrip(".")


def _relative_path(field_path: str) -> str:
    """A rule's ``fieldPath`` (".x['key']") as a CrdProblem path suffix ("x[key]")."""
    return re.sub(r"\['([^']*)'\]", r"[\1]", field_path.strip()).lstrip(".")
