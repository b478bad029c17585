"""A recording kubectl stand-in for egressctl's tests: a tiny cluster kept in a JSON file.

Every call appends {"argv": [...], "stdin": "...", "at": NS} as one JSON line to
$FAKE_KUBECTL_LOG ("at": CLOCK_MONOTONIC in ns, to order its calls among tests/fakebin/
helm.py's, which shares this cluster).
The cluster is the JSON file $FAKE_KUBECTL_STATE:

    {"context": "kind-dev",                 # config current-context
     "objects": [ {k8s object}, … ],        # what get/apply/diff/delete work on
     "crds": "/path/crd-all.gen.yaml",      # get customresourcedefinitions
     "fail": [{"args": ["apply"], "stdin": "kind: ConfigMap", "exit": 1, "stderr": "…",
               "times": 1}]}                # injected failures (times: how often; default always)

A failure rule matches when every word of "args" is in argv and "stdin" (if given) is in
the input.  Supported: config current-context; get (by kind list, name, -l selector,
-n/-A, -f -, --ignore-not-found, -o json|name|custom-columns=H:.a.b,… [--no-headers]);
apply -f - [--dry-run=server] [--server-side [--field-manager=M] [--force-conflicts]];
diff -f -;
delete KIND NAME… / KIND/NAME… [--selector, --field-selector metadata.name=];
rollout restart|status (status: NotFound unless the object exists); logs POD (the
text of state "logs": {"NS/POD": "…"}).  Resources may carry their group
(`gateways.gateway.networking.k8s.io`; a bare `gateways` is Istio's); state "missing":
[resource, …] lists CRDs the cluster lacks (kubectl's "doesn't have a resource type").
Flags take their value as `--flag=VALUE` or `--flag VALUE`;
after `--` every argument is positional, as kubectl's own parser has it.  Uses PyYAML only.

Server-side apply keeps ``metadata.managedFields`` ({"manager", "operation"} entries, no
field sets): an apply that changes an object on which another manager holds an entry
fails the way the API server refuses it ("Apply failed with 1 conflict: conflict with
"M" using v1: .spec"), unless --force-conflicts, which drops the other managers' entries.
Client-side apply leaves managedFields alone (the stand-in keeps no entries for
kubectl-client-side-apply).
"""

import datetime
import difflib
import json
import os
import sys
import time
from pathlib import Path

import yaml

KINDS = {
    "serviceentries": ("ServiceEntry", "networking.istio.io"),
    "serviceentry": ("ServiceEntry", "networking.istio.io"),
    "se": ("ServiceEntry", "networking.istio.io"),
    "virtualservices": ("VirtualService", "networking.istio.io"),
    "virtualservice": ("VirtualService", "networking.istio.io"),
    "destinationrules": ("DestinationRule", "networking.istio.io"),
    "destinationrule": ("DestinationRule", "networking.istio.io"),
    "configmaps": ("ConfigMap", ""),
    "configmap": ("ConfigMap", ""),
    "cm": ("ConfigMap", ""),
    "deployments": ("Deployment", "apps"),
    "deployment": ("Deployment", "apps"),
    "statefulsets": ("StatefulSet", "apps"),
    "statefulset": ("StatefulSet", "apps"),
    "daemonsets": ("DaemonSet", "apps"),
    "daemonset": ("DaemonSet", "apps"),
    "pods": ("Pod", ""),
    "pod": ("Pod", ""),
    "namespaces": ("Namespace", ""),
    "namespace": ("Namespace", ""),
    "secrets": ("Secret", ""),
    "secret": ("Secret", ""),
    # Istio's Gateway is the default of `gateways`; `gateways.gateway.networking.k8s.io`
    # names the Gateway API's (the group suffix decides, as kubectl's own lookup does).
    "gateways": ("Gateway", "networking.istio.io"),
    "gateway": ("Gateway", "networking.istio.io"),
    "sidecars": ("Sidecar", "networking.istio.io"),
    "sidecar": ("Sidecar", "networking.istio.io"),
    "authorizationpolicies": ("AuthorizationPolicy", "security.istio.io"),
    "networkpolicies": ("NetworkPolicy", "networking.k8s.io"),
    "httproutes": ("HTTPRoute", "gateway.networking.k8s.io"),
    "tlsroutes": ("TLSRoute", "gateway.networking.k8s.io"),
    "referencegrants": ("ReferenceGrant", "gateway.networking.k8s.io"),
}
CLUSTER_SCOPED = {"Namespace"}
VALUE_FLAGS = {
    "--context",
    "--namespace",
    "-n",
    "--kubeconfig",
    "--output",
    "-o",
    "--filename",
    "-f",
    "--selector",
    "-l",
    "--timeout",
    "--field-selector",
    "--field-manager",
}


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def kind_of(resource):
    """(kind, group) of a resource name; a group suffix (`gateways.gateway.networking.
    k8s.io`) picks the group; a CRD not installed ($state "missing": [resource]) is an
    error, as kubectl's."""
    base, _, group = resource.lower().partition(".")
    missing = {m.lower() for m in STATE.get("missing", [])}
    if base not in KINDS or resource.lower() in missing:
        raise SystemExit(f'error: the server doesn\'t have a resource type "{resource}"')
    kind, default = KINDS[base]
    return kind, group or default


STATE = {}


def group_of(obj):
    api = obj.get("apiVersion", "v1")
    return api.split("/")[0] if "/" in api else ""


def ref(obj):
    group = group_of(obj)
    kind = obj["kind"].lower() + (f".{group}" if group else "")
    return f"{kind}/{obj['metadata']['name']}"


def key(obj):
    meta = obj["metadata"]
    ns = "" if obj["kind"] in CLUSTER_SCOPED else meta.get("namespace", "")
    return (obj["kind"], group_of(obj), ns, meta["name"])


def is_kind(obj, kind_group):
    """Whether obj is of (kind, group); an object without apiVersion matches its kind."""
    kind, group = kind_group
    return obj["kind"] == kind and ("apiVersion" not in obj or group_of(obj) == group)


def matches(obj, selector):
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        k, _, v = term.partition("=")
        if labels.get(k) != v:
            return False
    return True


def comparable(obj):
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = dict(out.get("metadata", {}))
    for k in ("creationTimestamp", "uid", "resourceVersion", "generation", "managedFields"):
        meta.pop(k, None)
    out["metadata"] = meta
    return out


def print_columns(items, spec, no_headers):
    """``-o custom-columns=NAME:.metadata.name,…`` for plain dotted paths."""
    columns = [c.split(":", 1) for c in spec.split(",")]
    rows = [] if no_headers else [[h for h, _ in columns]]
    for o in items:
        row = []
        for _, path in columns:
            value = o
            for part in path.strip(".").split("."):
                value = value.get(part) if isinstance(value, dict) else None
            row.append("<none>" if value is None else str(value))
        rows.append(row)
    for row in rows:
        print("   ".join(row))


def conflict_message(obj, others):
    """What kubectl prints when the API server refuses a server-side apply."""
    first = others[0]
    who = f'"{first["manager"]}"'
    if first.get("operation") == "Update":
        who += f" using {first.get('apiVersion') or obj['apiVersion']}"
    if len(others) == 1:
        head = f"Apply failed with 1 conflict: conflict with {who}: .spec"
    else:
        lines = []
        for o in others:
            lines += [f'conflicts with "{o["manager"]}":', "- .spec"]
        head = f"Apply failed with {len(others)} conflicts: " + "\n".join(lines)
    return (
        f"error: {head}\n"
        "Please review the fields above--they currently have other managers. Here\n"
        "are the ways you can resolve this warning:\n"
        "* If you intend to manage all of these fields, please re-run the apply\n"
        "  command with the `--force-conflicts` flag."
    )


def main(argv):
    stdin = None if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    with Path(os.environ["FAKE_KUBECTL_LOG"]).open("a", encoding="utf-8") as log:
        entry = {"argv": argv, "stdin": stdin or None, "at": time.monotonic_ns()}
        log.write(json.dumps(entry) + "\n")
    state_path = Path(os.environ["FAKE_KUBECTL_STATE"])
    state = json.loads(state_path.read_text(encoding="utf-8"))
    state.setdefault("objects", [])
    STATE.update(state)

    for rule in state.get("fail", []):
        if rule.get("times", 1) == 0:
            continue
        if all(a in argv for a in rule.get("args", [])) and rule.get("stdin", "") in (stdin or ""):
            if "times" in rule:
                rule["times"] -= 1
                state_path.write_text(json.dumps(state), encoding="utf-8")
            sys.stderr.write(rule.get("stderr", "error: injected failure") + "\n")
            return rule.get("exit", 1)

    flags, words = {}, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":  # the rest are positional arguments, never flags
            words += argv[i + 1 :]
            break
        if a in VALUE_FLAGS:
            flags[a.lstrip("-")] = argv[i + 1]
            i += 2
            continue
        if a.startswith("--") or a == "-A":
            k, sep, v = a.lstrip("-").partition("=")
            flags[k] = v if sep else True
        else:
            words.append(a)
        i += 1
    namespace = flags.get("namespace") or flags.get("n") or "default"
    selector = flags.get("selector") or flags.get("l")
    output = flags.get("output") or flags.get("o")
    objects = state["objects"]

    def save():
        state_path.write_text(json.dumps(state), encoding="utf-8")

    def docs():
        found = [d for d in yaml.safe_load_all(stdin or "") if d]
        for d in found:
            if d["kind"] == "List":
                found.extend(d.get("items", []))
        return [d for d in found if d["kind"] != "List"]

    def place(obj):
        obj = json.loads(json.dumps(obj))
        if obj["kind"] not in CLUSTER_SCOPED:
            own = obj["metadata"].setdefault("namespace", namespace)
            if own != namespace:  # real kubectl refuses this (RequireNamespace)
                raise SystemExit(
                    f'error: the namespace from the provided object "{own}" does not match '
                    f'the namespace "{namespace}". You must pass --namespace={own}'
                )
        return obj

    if words[:2] == ["config", "current-context"]:
        if not state.get("context"):
            sys.stderr.write("error: current-context is not set\n")
            return 1
        print(state["context"])
        return 0

    if words[:2] == ["get", "customresourcedefinitions"]:
        with Path(state["crds"]).open(encoding="utf-8") as fh:
            items = [d for d in yaml.safe_load_all(fh) if d]
        print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        return 0

    if words[:1] == ["get"]:
        if flags.get("filename") == "-":
            wanted = {key(place(d)) for d in docs()}
            items = [o for o in objects if key(o) in wanted]
        else:
            kinds = [kind_of(r) for r in words[1].split(",")]
            names = words[2:]
            items = [
                o
                for o in objects
                if any(is_kind(o, k) for k in kinds)
                and (
                    o["kind"] in CLUSTER_SCOPED
                    or "A" in flags
                    or "all-namespaces" in flags
                    or o["metadata"].get("namespace") == namespace
                )
                and (not names or o["metadata"]["name"] in names)
                and matches(o, selector)
            ]
            if names and len(items) < len(names) and "ignore-not-found" not in flags:
                sys.stderr.write(
                    f'Error from server (NotFound): {words[1]} "{names[0]}" not found\n'
                )
                return 1
            if names and len(names) == 1 and len(kinds) == 1 and output == "json":
                if items:
                    print(json.dumps(items[0]))
                return 0
        if output == "name":
            for o in items:
                print(ref(o))
        elif isinstance(output, str) and output.startswith("custom-columns="):
            print_columns(items, output.split("=", 1)[1], "no-headers" in flags)
        else:
            print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        return 0

    if words[:1] == ["apply"]:
        new = [place(d) for d in docs()]
        if not new:
            sys.stderr.write("error: no objects passed to apply\n")
            return 1
        dry = flags.get("dry-run") == "server"
        server_side = "server-side" in flags
        manager = flags.get("field-manager") or "kubectl"
        conflicts = []
        for obj in new:
            old = next((o for o in objects if key(o) == key(obj)), None)
            fields = old["metadata"].get("managedFields", []) if old else []
            if server_side:
                others = [f for f in fields if f.get("manager") != manager]
                if old is not None and others and comparable(old) != comparable(obj):
                    if "force-conflicts" not in flags:
                        conflicts.append((obj, others))
                        continue
                    others = []
                obj["metadata"]["managedFields"] = [
                    *others,
                    {"manager": manager, "operation": "Apply", "apiVersion": obj["apiVersion"]},
                ]
            elif fields:
                obj["metadata"]["managedFields"] = fields
            if old is None:
                verb = "created"
                obj["metadata"]["creationTimestamp"] = now()
                if not dry:
                    objects.append(obj)
            elif comparable(old) == comparable(obj) and not server_side:
                verb = "unchanged"
            else:
                verb = "configured"
                obj["metadata"]["creationTimestamp"] = old["metadata"].get("creationTimestamp")
                if not dry:
                    objects[objects.index(old)] = obj
            if server_side:
                verb = "serverside-applied"
            print(f"{ref(obj)} {verb}{' (server dry run)' if dry else ''}")
        if not dry:
            save()
        for obj, others in conflicts:
            sys.stderr.write(conflict_message(obj, others) + "\n")
        return 1 if conflicts else 0

    if words[:1] == ["diff"]:
        changed = False
        for obj in (place(d) for d in docs()):
            old = next((o for o in objects if key(o) == key(obj)), None)
            a = yaml.safe_dump(comparable(old), sort_keys=True).splitlines() if old else []
            b = yaml.safe_dump(comparable(obj), sort_keys=True).splitlines()
            lines = list(
                difflib.unified_diff(a, b, f"LIVE/{ref(obj)}", f"MERGED/{ref(obj)}", lineterm="")
            )
            if lines:
                changed = True
                print("\n".join(lines))
        return 1 if changed else 0

    if words[:1] == ["delete"]:
        targets = []
        rest = words[1:]
        field = flags.get("field-selector") or ""
        if rest and "/" not in rest[0]:
            kind = kind_of(rest[0])
            names = rest[1:]
            if not names and field.startswith("metadata.name="):
                names = [field.split("=", 1)[1]]
            targets = [(kind, n) for n in names]
        else:
            targets = [(kind_of(r.split("/")[0]), r.split("/")[1]) for r in rest]
        for kind, name in targets:
            found = [
                o
                for o in objects
                if is_kind(o, kind)
                and o["metadata"]["name"] == name
                and (kind[0] in CLUSTER_SCOPED or o["metadata"].get("namespace") == namespace)
                and matches(o, selector)
            ]
            if not found and (selector or "ignore-not-found" in flags):
                continue  # nothing matched the selector: nothing is deleted
            if not found:
                sys.stderr.write(f'Error from server (NotFound): "{name}" not found\n')
                return 1
            for o in found:
                objects.remove(o)
                print(f"{ref(o)} deleted")
        save()
        return 0

    if words[:1] == ["logs"]:  # logs [--container=C] [--since=D] -- POD
        logs = state.get("logs", {})
        pod = words[1] if len(words) > 1 else ""
        if f"{namespace}/{pod}" not in logs:
            sys.stderr.write(f'Error from server (NotFound): pods "{pod}" not found\n')
            return 1
        sys.stdout.write(logs[f"{namespace}/{pod}"])
        return 0

    if words[:2] == ["rollout", "restart"]:
        for r in words[2:]:
            kind, name = kind_of(r.split("/")[0])[0], r.split("/")[1]
            for o in objects:
                if (
                    o["kind"] == kind
                    and o["metadata"]["name"] == name
                    and o["metadata"].get("namespace") == namespace
                ):
                    tmpl = o.setdefault("spec", {}).setdefault("template", {})
                    ann = tmpl.setdefault("metadata", {}).setdefault("annotations", {})
                    ann["kubectl.kubernetes.io/restartedAt"] = now()
                    print(f"{ref(o)} restarted")
        save()
        return 0

    if words[:2] == ["rollout", "status"]:
        kind, name = kind_of(words[2].split("/")[0]), words[2].split("/")[1]
        if not any(
            is_kind(o, kind)
            and o["metadata"]["name"] == name
            and o["metadata"].get("namespace") == namespace
            for o in objects
        ):
            sys.stderr.write(f'Error from server (NotFound): {words[2]} "{name}" not found\n')
            return 1
        print(f"{words[2]} successfully rolled out")
        return 0

    sys.stderr.write(f"fake kubectl: unsupported call {argv}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
