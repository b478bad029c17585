"""The files `egressctl init` writes: a team's own egress repository.

The tool is installed; the inventory lives with the team (DESIGN.md).  The repository
has egressctl's own shape: ``values/`` (the inventory, ``dev`` and ``prod``),
``schemas/`` (the example files' editor modelines point there), a ``Makefile`` that
calls the installed egressctl, a ``.gitignore`` for ``build/``, and a CI script.

The example values are not a second copy: they are egressctl's own ``values/``, shipped
inside the package (:mod:`egressctl.bundled`), so what `init` writes and the example the
repository renders (`make render ENV=dev`) are the same files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from egressctl import bundled
from egressctl.errors import UsageError
from egressctl.rules.schema import SCHEMAS, dump

INVENTORY = "egress.yaml"
ENVIRONMENTS = ("dev", "prod")
EXAMPLE_VALUES = (INVENTORY, *(f"{env}.yaml" for env in ENVIRONMENTS))


@dataclass(frozen=True, slots=True)
class TeamFile:
    """One file of the team's repository."""

    path: str  # relative to the repository, "/"-separated
    text: str
    executable: bool = False


_MAKEFILE = """\
# The mesh's egress policy: values/egress.yaml is the inventory (which external hosts
# pods may reach), values/<env>.yaml says where and how each environment is deployed.
# egressctl is installed as a tool (`pipx install egressctl`); it runs helm (on PATH, or
# `egressctl install-helm`), and kubectl for diff and deploy.
#
#   make check                 every environment; warnings count as errors (what CI runs)
#   make render ENV=dev        the manifests into build/dev/, to read
#   make diff ENV=prod         what a deploy would change (exit 1: something would)
#   make deploy ENV=prod       plan, confirm, apply (ARGS=--dry-run: the API server checks only)
#   make rollback ENV=prod     apply the previous deploy again (ARGS="--to ID", ARGS=--list)
#   make schemas               refresh schemas/ (editor support) after upgrading egressctl
EGRESSCTL ?= egressctl
ENVS ?= {envs}
ENV ?= dev
ARGS ?=

.PHONY: check render diff deploy rollback schemas

check: $(addprefix check-,$(ENVS))

check-%:
\t$(EGRESSCTL) check --strict --env $*

render:
\t$(EGRESSCTL) render --env $(ENV) $(ARGS)

diff:
\t$(EGRESSCTL) diff --env $(ENV) $(ARGS)

deploy:
\t$(EGRESSCTL) deploy --env $(ENV) $(ARGS)

rollback:
\t$(EGRESSCTL) rollback --env $(ENV) $(ARGS)

schemas:
{schemas}"""

_SCHEMA_RULE = (
    "\t$(EGRESSCTL) schema {kind} > schemas/{kind}.schema.json.tmp\n"
    "\tmv schemas/{kind}.schema.json.tmp schemas/{kind}.schema.json\n"
)

_GITIGNORE = """\
# egressctl's renders and this machine's deploy records (build/<env>/, build/<env>/history/)
/build/
"""

_CI_SCRIPT = """\
#!/bin/sh
# CI for the egress policy, on every change:
#   - every environment in ENVS must pass `egressctl check --strict` (warnings fail too);
#   - each environment in DIFF_ENVS (its kube context and credentials needed) shows what
#     a deploy would change.  `egressctl diff` exits 1 when something would change, which
#     is what a change under review does, so only exit codes above 1 fail the job.
# Needs egressctl (`pipx install egressctl`) and helm on PATH; kubectl for DIFF_ENVS.
# In GitHub Actions, for example:
#     - run: sh ci/egress-check.sh
#       env: {{DIFF_ENVS: prod}}
set -eu
cd "$(dirname "$0")/.."
EGRESSCTL="${{EGRESSCTL:-egressctl}}"
for env in ${{ENVS:-{envs}}}; do
  echo "$EGRESSCTL check --strict --env $env"
  "$EGRESSCTL" check --strict --env "$env"
done
for env in ${{DIFF_ENVS:-}}; do
  echo "$EGRESSCTL diff --env $env"
  status=0
  "$EGRESSCTL" diff --env "$env" || status=$?
  if [ "$status" -gt 1 ]; then
    exit "$status"
  fi
done
"""


def team_files(examples: Mapping[str, str]) -> tuple[TeamFile, ...]:
    """The repository's files, given the example values (file name → text), in the
    order they are written."""
    envs = " ".join(ENVIRONMENTS)
    schema_rules = "".join(_SCHEMA_RULE.format(kind=kind) for kind in SCHEMAS)
    return (
        *(TeamFile(f"values/{name}", examples[name]) for name in EXAMPLE_VALUES),
        *(TeamFile(f"schemas/{kind}.schema.json", dump(kind)) for kind in SCHEMAS),
        TeamFile("Makefile", _MAKEFILE.format(envs=envs, schemas=schema_rules)),
        TeamFile(".gitignore", _GITIGNORE),
        TeamFile("ci/egress-check.sh", _CI_SCRIPT.format(envs=envs), executable=True),
    )


def example_values() -> dict[str, str]:
    """The example values shipped with egressctl, by file name."""
    folder = bundled.folder(bundled.EXAMPLE_VALUES)
    out = {}
    for name in EXAMPLE_VALUES:
        path = folder / name
        try:
            out[name] = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"egressctl's example {path} cannot be read ({exc.strerror or exc}): "
                "reinstall egressctl"
            ) from None
    return out
