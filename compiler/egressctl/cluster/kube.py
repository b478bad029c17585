"""The one kubectl wrapper: every call names its context, namespace and kubeconfig.

A :class:`Kube` writes each of them as one word with its flag (``--context=VALUE``,
``--namespace=VALUE``, ``--kubeconfig=VALUE``), then the subcommand, its flags (callers
write them ``--flag=VALUE`` too), then ``--`` and the positional arguments, so no value,
whatever it holds, is read as a flag.  ``None`` leaves a flag out (kubectl's own
default: the current context, the context's namespace, ``$KUBECONFIG``); a deploy's
:class:`Kube` (:meth:`Kube.for_env`) names all three whenever one is known.

Also here: the context guard, and the shape of what ``kubectl get --output=json``
prints (:data:`KubeObject`, read through :func:`as_map` and :func:`as_list`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from egressctl.errors import ToolError, UsageError
from egressctl.inventory.model import Environment
from egressctl.runners import Result, run

#: One Kubernetes object, as ``kubectl get --output=json`` prints it or a render holds it.
KubeObject = Mapping[str, object]


def as_map(value: object) -> Mapping[str, object]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> Sequence[object]:
    """``value`` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class Kube:
    """kubectl for one cluster, context and namespace."""

    context: str | None = None
    namespace: str | None = None
    kubeconfig: str | None = None

    @classmethod
    def for_env(cls, env: Environment) -> Kube:
        """The environment's context and namespace, and its kubeconfig (else the one
        kubectl would read, when it is one file)."""
        return cls(env.context, env.namespace, env.kubeconfig or default_kubeconfig())

    def run(
        self,
        command: Sequence[str],
        *,
        step: str,
        flags: Sequence[str] = (),
        args: Sequence[str] = (),
        namespace: str | None = None,
        stdin: str | None = None,
        check: bool = True,
    ) -> Result:
        """``kubectl [--context=C] [--namespace=N] [--kubeconfig=K] COMMAND… FLAGS… [--
        ARGS…]``.  ``command``: the subcommand words (``get``, ``rollout restart``);
        ``flags``: ``--flag=VALUE`` each; ``args``: the positional arguments, after
        ``--``.  ``namespace`` overrides this Kube's for one call."""
        argv = ["kubectl"]
        ns = namespace or self.namespace
        if self.context:
            argv.append(f"--context={self.context}")
        if ns:
            argv.append(f"--namespace={ns}")
        if self.kubeconfig:
            argv.append(f"--kubeconfig={self.kubeconfig}")
        argv += [*command, *flags]
        if args:
            argv += ["--", *args]
        return run(argv, step=step, stdin=stdin, check=check)

    def get_json(
        self,
        resources: Sequence[str],
        *,
        step: str,
        flags: Sequence[str] = (),
        namespace: str | None = None,
    ) -> object:
        """``kubectl get --output=json FLAGS… -- RESOURCES…``, parsed (None: no output)."""
        res = self.run(
            ["get"], flags=["--output=json", *flags], args=resources, step=step, namespace=namespace
        )
        if not res.stdout.strip():
            return None
        try:
            doc: object = json.loads(res.stdout)
        except ValueError as exc:
            raise ToolError(
                step, res.argv, res.returncode, problem=f"it printed no JSON ({exc})"
            ) from None
        return doc

    def items(
        self,
        resources: Sequence[str],
        *,
        step: str,
        flags: Sequence[str] = (),
        namespace: str | None = None,
    ) -> list[KubeObject]:
        """The objects of a ``kubectl get`` list (anything that is not an object is
        skipped)."""
        doc = self.get_json(resources, step=step, flags=flags, namespace=namespace)
        return [i for i in as_list(as_map(doc).get("items")) if isinstance(i, dict)]

    def current_context(self) -> str:
        """The current context of this Kube's kubeconfig (no --context, no --namespace)."""
        bare = replace(self, context=None, namespace=None)
        res = bare.run(["config", "current-context"], step="read the current kube context")
        return res.stdout.strip()


def default_kubeconfig() -> str | None:
    """$KUBECONFIG when it names one file; with several (a merged config) kubectl reads
    the variable itself, so no flag is passed; else ~/.kube/config when it exists."""
    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if len(paths) == 1:
        return paths[0]
    if paths:
        return None
    home = Path.home() / ".kube" / "config"
    return str(home) if home.is_file() else None


def guard_context(kube: Kube, env: Environment) -> None:
    """Refuse (a UsageError, before anything is read or applied) when the current kube
    context is not the environment's."""
    ctx = kube.current_context()
    if ctx != env.context:
        raise UsageError(
            f"the current kube context is {ctx!r}, but environment {env.name!r} deploys to "
            f"{env.context!r} ({env.file}); nothing was applied. "
            f"Switch with `kubectl config use-context {env.context}`"
        )
