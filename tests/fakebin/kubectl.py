"""A recording kubectl stand-in for egressctl's tests (stdlib + PyYAML only).

Every call appends {"argv": [...], "stdin": "..."} as one JSON line to
$FAKE_KUBECTL_LOG.  Its answers come from the JSON file $FAKE_KUBECTL_STATE:

    {"context": "kind-dev",                        # config current-context
     "configmaps": {"istio-system/istio": {...}},  # get configmap NAME -o json
     "fail": [{"args": ["apply"], "stdin": "kind: ConfigMap",
               "exit": 1, "stderr": "boom"}]}      # injected failures

A failure rule matches when every word of "args" is in argv and "stdin" (if given)
is in the input.  `apply` answers the way kubectl does, one line per object.
"""

import json
import os
import sys
from pathlib import Path

import yaml


def main(argv):
    stdin = None if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    with Path(os.environ["FAKE_KUBECTL_LOG"]).open("a", encoding="utf-8") as log:
        log.write(json.dumps({"argv": argv, "stdin": stdin or None}) + "\n")
    with Path(os.environ["FAKE_KUBECTL_STATE"]).open(encoding="utf-8") as fh:
        state = json.load(fh)

    for rule in state.get("fail", []):
        if all(a in argv for a in rule.get("args", [])) and rule.get("stdin", "") in (stdin or ""):
            sys.stderr.write(rule.get("stderr", "error: injected failure") + "\n")
            return rule.get("exit", 1)

    flags, words = {}, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in (
            "--context",
            "--namespace",
            "-n",
            "--kubeconfig",
            "--output",
            "-o",
            "--filename",
            "-f",
        ):
            flags[a.lstrip("-")] = argv[i + 1]
            i += 2
            continue
        if a.startswith("--"):
            key, _, value = a[2:].partition("=")
            flags[key] = value or True
        else:
            words.append(a)
        i += 1

    if words[:2] == ["config", "current-context"]:
        if not state.get("context"):
            sys.stderr.write("error: current-context is not set\n")
            return 1
        print(state["context"])
        return 0
    namespace = flags.get("namespace") or flags.get("n") or "default"
    if words[:2] == ["get", "configmap"]:
        obj = state.get("configmaps", {}).get(f"{namespace}/{words[2]}")
        if obj is None:
            if "ignore-not-found" in flags:
                return 0
            sys.stderr.write(f'Error from server (NotFound): configmaps "{words[2]}" not found\n')
            return 1
        print(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": words[2], "namespace": namespace},
                    **obj,
                }
            )
        )
        return 0
    if words[:2] == ["get", "customresourcedefinitions"]:
        with Path(state["crds"]).open(encoding="utf-8") as fh:
            items = [d for d in yaml.safe_load_all(fh) if d]
        print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        return 0
    if words[:1] == ["apply"]:
        docs = [d for d in yaml.safe_load_all(stdin or "") if d]
        if not docs:
            sys.stderr.write("error: no objects passed to apply\n")
            return 1
        suffix = " (server dry run)" if flags.get("dry-run") == "server" else ""
        for d in docs:
            group = d["apiVersion"].split("/")[0] if "/" in d["apiVersion"] else ""
            kind = d["kind"].lower() + (f".{group}" if group else "")
            print(f"{kind}/{d['metadata']['name']} configured{suffix}")
        return 0
    sys.stderr.write(f"fake kubectl: unsupported call {argv}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
