"""A recording helm stand-in for egressctl's tests: the cluster-side verbs act on the
JSON-file cluster of tests/fakebin/kubectl.py; everything else is the real helm.

Every call appends {"argv": [...], "at": NS, "values": {PATH: TEXT}} as one JSON line to
$FAKE_HELM_LOG ("at": CLOCK_MONOTONIC in ns, comparable with the kubectl stand-in's;
"values": the text of each --values file, read before helm removes it).

* ``template``, ``show``, ``version`` (and any verb not below) exec the real helm,
  $FAKE_HELM_REAL, with the same arguments.
* ``upgrade``, ``rollback``, ``status``, ``history``, ``list`` work on $FAKE_KUBECTL_STATE:
  a release is its Secrets ``sh.helm.release.v1.<release>.v<N>`` labelled
  ``owner=helm, name=<release>, status=…, version=<N>`` (as Helm's default storage keeps
  them); ``data.release`` holds base64 JSON {"manifest", "chart", "description"} (Helm's
  own is gzipped protobuf-era JSON; only this stand-in reads it).  ``upgrade`` renders the
  chart with the real helm (``template`` with the same --namespace, --repo, --version,
  --values), refuses objects that exist without the release's ownership metadata (as
  Helm does), applies the rest into the cluster with Helm's labels, annotations and a
  ``helm`` field manager, removes what the previous revision had and this one lacks, and
  adds revision N+1.  ``rollback R`` does the same with revision R's manifest.
  ``--dry-run`` (any form) changes nothing.
* Injected failures: $FAKE_KUBECTL_STATE's "helmFail" rules, like the kubectl stand-in's
  "fail" ({"args": [...], "exit": 1, "stderr": "…", "times": N}).

Flags take their value as ``--flag=VALUE`` or ``--flag VALUE``; after ``--`` every
argument is positional, as helm's own parser (pflag) has it.  Uses PyYAML only.
"""

import base64
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CLUSTER_VERBS = {"upgrade", "rollback", "status", "history", "list"}
VALUE_FLAGS = {
    "--namespace",
    "-n",
    "--kube-context",
    "--kubeconfig",
    "--values",
    "-f",
    "--repo",
    "--version",
    "--output",
    "-o",
    "--max",
    "--timeout",
    "--set",
    "--set-string",
    "--description",
}
REPEATED = {"values", "f", "set", "set-string"}


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(argv):
    """(flags, positional words): repeated flags (--values) as lists."""
    flags, words = {}, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            words += argv[i + 1 :]
            break
        if a in VALUE_FLAGS:
            name, value = a.lstrip("-"), argv[i + 1]
            i += 2
        elif a.startswith("-") and len(a) > 1:
            name, sep, value = a.lstrip("-").partition("=")
            value = value if sep else True
            i += 1
        else:
            words.append(a)
            i += 1
            continue
        if name in REPEATED:
            flags.setdefault("values" if name == "f" else name, []).append(value)
        else:
            flags["namespace" if name == "n" else "output" if name == "o" else name] = value
    return flags, words


def log_call(argv, flags):
    texts = {}
    for path in flags.get("values", []):
        try:
            texts[path] = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            texts[path] = f"<unreadable: {exc}>"
    entry = {"argv": argv, "at": time.monotonic_ns(), "values": texts}
    with Path(os.environ["FAKE_HELM_LOG"]).open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def injected(state, state_path, argv):
    for rule in state.get("helmFail", []):
        if rule.get("times", 1) == 0:
            continue
        if all(a in argv for a in rule.get("args", [])):
            if "times" in rule:
                rule["times"] -= 1
                state_path.write_text(json.dumps(state), encoding="utf-8")
            sys.stderr.write(rule.get("stderr", "Error: injected failure") + "\n")
            return rule.get("exit", 1)
    return None


# ---------------------------------------------------------------------------
# Releases as Secrets


def secret_name(release, revision):
    return f"sh.helm.release.v1.{release}.v{revision}"


def revisions(state, release, namespace):
    """The release's Secrets, oldest first."""
    found = [
        o
        for o in state["objects"]
        if o["kind"] == "Secret"
        and o["metadata"].get("namespace") == namespace
        and (o["metadata"].get("labels") or {}).get("owner") == "helm"
        and (o["metadata"].get("labels") or {}).get("name") == release
    ]
    return sorted(found, key=lambda o: int(o["metadata"]["labels"]["version"]))


def payload(secret):
    data = (secret.get("data") or {}).get("release")
    if not data:
        return {"manifest": "", "chart": "", "description": ""}
    return json.loads(base64.b64decode(data))


def release_secret(release, namespace, revision, status, manifest, chart, description):
    body = {"manifest": manifest, "chart": chart, "description": description}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {
            "name": secret_name(release, revision),
            "namespace": namespace,
            "labels": {
                "owner": "helm",
                "name": release,
                "status": status,
                "version": str(revision),
                "modifiedAt": str(int(time.time())),
            },
        },
        "data": {"release": base64.b64encode(json.dumps(body).encode()).decode()},
    }


def history_rows(secrets):
    return [
        {
            "revision": int(s["metadata"]["labels"]["version"]),
            "updated": now(),
            "status": s["metadata"]["labels"]["status"],
            "chart": payload(s)["chart"],
            "app_version": "",
            "description": payload(s)["description"],
        }
        for s in secrets
    ]


# ---------------------------------------------------------------------------
# Objects


def docs(text):
    import yaml

    return [d for d in yaml.safe_load_all(text or "") if d]


def key(obj, namespace):
    return (obj["kind"], obj["metadata"].get("namespace") or namespace, obj["metadata"]["name"])


def ownership_problem(live, release, namespace):
    """Why Helm would refuse to take over ``live`` (None: it is this release's)."""
    meta = live["metadata"]
    labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
    problems = []
    if labels.get("app.kubernetes.io/managed-by") != "Helm":
        problems.append(
            'label validation error: missing key "app.kubernetes.io/managed-by": '
            'must be set to "Helm"'
        )
    if notes.get("meta.helm.sh/release-name") != release:
        problems.append(
            'annotation validation error: key "meta.helm.sh/release-name" must equal '
            f'"{release}": current value is "{notes.get("meta.helm.sh/release-name", "")}"'
        )
    if notes.get("meta.helm.sh/release-namespace") != namespace:
        problems.append(
            'annotation validation error: key "meta.helm.sh/release-namespace" must equal '
            f'"{namespace}"'
        )
    return "; ".join(problems) or None


def install_objects(state, manifest, previous, release, namespace):
    """Apply ``manifest`` as Helm does; None, or the error Helm would print."""
    objects = state["objects"]
    new = []
    for d in docs(manifest):
        d["metadata"].setdefault("namespace", namespace)
        meta = d["metadata"]
        meta.setdefault("labels", {})["app.kubernetes.io/managed-by"] = "Helm"
        notes = meta.setdefault("annotations", {})
        notes["meta.helm.sh/release-name"] = release
        notes["meta.helm.sh/release-namespace"] = namespace
        meta["managedFields"] = [{"manager": "helm", "operation": "Update", "apiVersion": "v1"}]
        new.append(d)
    for d in new:
        live = next((o for o in objects if key(o, "") == key(d, namespace)), None)
        if live is not None:
            problem = ownership_problem(live, release, namespace)
            if problem is not None:
                return (
                    "Error: UPGRADE FAILED: Unable to continue with update: "
                    f'{d["kind"]} "{d["metadata"]["name"]}" in namespace '
                    f'"{d["metadata"]["namespace"]}" exists and cannot be imported into the '
                    f"current release: invalid ownership metadata; {problem}"
                )
    keep = {key(d, namespace) for d in new}
    gone = {key(d, namespace) for d in docs(previous)} - keep
    state["objects"] = [o for o in objects if key(o, "") not in keep and key(o, "") not in gone] + [
        json.loads(json.dumps(d, default=str)) for d in new
    ]
    return None


def add_revision(state, release, namespace, manifest, chart, description):
    secrets = revisions(state, release, namespace)
    for s in secrets:
        if s["metadata"]["labels"]["status"] == "deployed":
            s["metadata"]["labels"]["status"] = "superseded"
    revision = int(secrets[-1]["metadata"]["labels"]["version"]) + 1 if secrets else 1
    state["objects"].append(
        release_secret(release, namespace, revision, "deployed", manifest, chart, description)
    )
    return revision


def report(release, namespace, revision, status, manifest=None):
    print(f"NAME: {release}")
    print(f"LAST DEPLOYED: {now()}")
    print(f"NAMESPACE: {namespace}")
    print(f"STATUS: {status}")
    print(f"REVISION: {revision}")
    print("TEST SUITE: None")
    if manifest is not None:
        print("HOOKS:")
        print("MANIFEST:")
        print(manifest)


# ---------------------------------------------------------------------------
# Verbs


def upgrade(state, flags, words, real):
    release, chart = words[1], words[2]
    namespace = flags.get("namespace", "default")
    secrets = revisions(state, release, namespace)
    if not secrets or secrets[-1]["metadata"]["labels"]["status"] == "uninstalled":
        sys.stderr.write(f'Error: UPGRADE FAILED: "{release}" has no deployed releases\n')
        return 1
    argv = [real, "template", "--namespace", namespace]
    for name in ("repo", "version"):
        if name in flags:
            argv += [f"--{name}", flags[name]]
    for path in flags.get("values", []):
        argv += ["--values", path]
    argv += ["--", release, chart]
    rendered = subprocess.run(argv, capture_output=True, text=True, check=False)
    if rendered.returncode != 0:
        sys.stderr.write(rendered.stderr)
        return rendered.returncode
    manifest = rendered.stdout
    if "dry-run" in flags:
        print(f'Release "{release}" has been upgraded. Happy Helming!')
        report(release, namespace, len(secrets) + 1, "pending-upgrade", manifest)
        return 0
    problem = install_objects(state, manifest, payload(secrets[-1])["manifest"], release, namespace)
    if problem is not None:
        sys.stderr.write(problem + "\n")
        return 1
    revision = add_revision(
        state, release, namespace, manifest, Path(chart).name, "Upgrade complete"
    )
    print(f'Release "{release}" has been upgraded. Happy Helming!')
    report(release, namespace, revision, "deployed")
    return None  # save the state


def rollback(state, flags, words):
    release = words[1]
    namespace = flags.get("namespace", "default")
    secrets = revisions(state, release, namespace)
    if not secrets:
        sys.stderr.write("Error: release: not found\n")
        return 1
    wanted = (
        words[2] if len(words) > 2 else str(int(secrets[-1]["metadata"]["labels"]["version"]) - 1)
    )
    target = next((s for s in secrets if s["metadata"]["labels"]["version"] == wanted), None)
    if target is None:
        sys.stderr.write(f"Error: release has no {wanted} version\n")
        return 1
    if "dry-run" in flags:
        print("Rollback was a success! Happy Helming!")
        return 0
    body = payload(target)
    problem = install_objects(
        state, body["manifest"], payload(secrets[-1])["manifest"], release, namespace
    )
    if problem is not None:
        sys.stderr.write(problem.replace("UPGRADE FAILED", "ROLLBACK FAILED") + "\n")
        return 1
    add_revision(
        state, release, namespace, body["manifest"], body["chart"], f"Rollback to {wanted}"
    )
    print("Rollback was a success! Happy Helming!")
    return None


def status(state, flags, words):
    release, namespace = words[1], flags.get("namespace", "default")
    secrets = revisions(state, release, namespace)
    if not secrets:
        sys.stderr.write("Error: release: not found\n")
        return 1
    last = secrets[-1]
    body = payload(last)
    print(
        json.dumps(
            {
                "name": release,
                "namespace": namespace,
                "version": int(last["metadata"]["labels"]["version"]),
                "info": {
                    "status": last["metadata"]["labels"]["status"],
                    "description": body["description"],
                },
                "manifest": body["manifest"],
            }
        )
    )
    return 0


def history(state, flags, words):
    release, namespace = words[1], flags.get("namespace", "default")
    secrets = revisions(state, release, namespace)
    if not secrets:
        sys.stderr.write("Error: release: not found\n")
        return 1
    rows = history_rows(secrets)[-int(flags.get("max", 256)) :]
    if flags.get("output") == "json":
        print(json.dumps(rows))
    else:
        for r in rows:
            print(f"{r['revision']}\t{r['status']}\t{r['chart']}\t{r['description']}")
    return 0


def list_releases(state, flags):
    namespace = flags.get("namespace", "default")
    names = sorted(
        {
            o["metadata"]["labels"]["name"]
            for o in state["objects"]
            if o["kind"] == "Secret"
            and o["metadata"].get("namespace") == namespace
            and (o["metadata"].get("labels") or {}).get("owner") == "helm"
        }
    )
    rows = []
    for name in names:
        last = revisions(state, name, namespace)[-1]
        labels = last["metadata"]["labels"]
        if labels["status"] == "uninstalled":
            continue
        rows.append(
            {
                "name": name,
                "namespace": namespace,
                "revision": labels["version"],
                "updated": now(),
                "status": labels["status"],
                "chart": payload(last)["chart"],
                "app_version": "",
            }
        )
    print(json.dumps(rows))
    return 0


def main(argv):
    real = os.environ["FAKE_HELM_REAL"]
    flags, words = parse(argv)
    log_call(argv, flags)
    if not words or words[0] not in CLUSTER_VERBS:
        os.execv(real, [real, *argv])  # noqa: S606 - becomes the real helm, argv as given
    state_path = Path(os.environ["FAKE_KUBECTL_STATE"])
    state = json.loads(state_path.read_text(encoding="utf-8"))
    state.setdefault("objects", [])
    failed = injected(state, state_path, argv)
    if failed is not None:
        return failed
    verb = words[0]
    if verb == "upgrade":
        code = upgrade(state, flags, words, real)
    elif verb == "rollback":
        code = rollback(state, flags, words)
    elif verb == "status":
        return status(state, flags, words)
    elif verb == "history":
        return history(state, flags, words)
    else:
        return list_releases(state, flags)
    if code is not None:
        return code
    state_path.write_text(json.dumps(state), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
