"""A kubectl stand-in for `make bench` that answers at once: `deploy --dry-run` is timed
against it, so what is measured is egressctl, not a cluster (tests/fakebin/kubectl.py
keeps a real little cluster in a JSON file and is too slow for 10,000 objects).

Environment:
    BENCH_KUBECTL_LOG   one line per call is appended here (the bench counts them)
    BENCH_KUBECTL_LIVE  a folder: what the cluster holds (unset: an empty cluster):
                        egress.json, the List `kubectl get` prints of the egress kinds,
                        and configmaps.json, {name: ConfigMap}

Answers: `config current-context` → bench; `get --output=json` of the egress kinds → the
live List (or an empty one), of a ConfigMap → it (or nothing, with --ignore-not-found);
any other `get` (Helm's release Secrets) → nothing; `apply` → one line per object, as
kubectl prints them; anything else → nothing, exit 0.  Standard library only.
"""

import json
import os
import re
import sys

EMPTY = '{"apiVersion": "v1", "kind": "List", "items": []}'
KINDS = ("serviceentries", "virtualservices", "destinationrules")


def read(folder: str, name: str) -> str:
    with open(os.path.join(folder, name), encoding="utf-8") as fh:  # noqa: PTH118, PTH123
        return fh.read()


def main(argv: list[str]) -> int:
    log = os.environ.get("BENCH_KUBECTL_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:  # noqa: PTH123
            fh.write(json.dumps(argv) + "\n")
    words = [a for a in argv if not a.startswith("-")]
    live = os.environ.get("BENCH_KUBECTL_LIVE")
    if words[:2] == ["config", "current-context"]:
        print("bench")
    elif words[:1] == ["get"] and "--output=json" in argv:
        what = words[1:]
        if any(kind in w for w in what for kind in KINDS):
            sys.stdout.write(read(live, "egress.json") if live else EMPTY)
        elif what[:1] == ["configmap"] and len(what) > 1:
            found = json.loads(read(live, "configmaps.json")).get(what[1]) if live else None
            if found is not None:
                sys.stdout.write(json.dumps(found))
        else:
            sys.stdout.write(EMPTY)
    elif words[:1] == ["apply"]:
        text = sys.stdin.read()
        kinds = re.findall(r"^kind: *(\S+)", text, re.MULTILINE)
        dry = " (server dry run)" if "--dry-run=server" in argv else ""
        sys.stdout.write("".join(f"{k.lower()} configured{dry}\n" for k in kinds))
    else:
        sys.stdin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
