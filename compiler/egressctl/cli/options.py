"""Options several commands share."""

from __future__ import annotations

from typing import Annotated

import typer

EnvOption = Annotated[
    str,
    typer.Option(
        "--env",
        "-e",
        help="Environment: NAME reads values/NAME.yaml under the current folder; "
        "a path reads that file.",
    ),
]

AdoptOption = Annotated[
    list[str] | None,
    typer.Option(
        "--adopt",
        metavar="KIND/NAME",
        help="Take over an existing object this environment does not own: Kind/name, or "
        "namespace/Kind/name (repeatable; Istio's Gateway is Gateway, the Gateway API's "
        "Gateway.gateway.networking.k8s.io). Another environment's object is never taken.",
    ),
]

AdoptAllOption = Annotated[
    bool,
    typer.Option(
        "--adopt-all",
        help="Take over every existing object of the render that no environment owns "
        "(or that an earlier egressctl labelled without an environment).",
    ),
]
