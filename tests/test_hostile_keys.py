"""Hostile input in the keys of issues #13 to #15 (`gateways`, `defaults`, `via`, `namespaces`,
`expires`, `istio.gateways`, `istio.charts`, `dataplane`, `ambient`, `explain --from`).

Every value read from a file is untrusted: a bad one is a located error
(`file:line:col: key.path: message [code]`, exit 3, nothing written), never a traceback,
never an invalid or colliding object name, label or helm argument.  Rows assert on the
findings of `check --output json` (code, file, line, column, key path), on the compiled
values, or on the real entry point in a subprocess."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.inventory.names import is_dns1123_label
from egressctl.rules.catalogue import RULES_BY_CODE
from tests.conftest import REPO, entry_point, invalid_input_report, write

ZTUNNEL = REPO / "tests" / "charts" / "ztunnel"
GATEWAY_CHART = REPO / "tests" / "charts" / "gateway"
MINI_ISTIO = REPO / "tests" / "charts" / "istiod"

INVENTORY = """\
policy: REGISTRY_ONLY
gateways:
  egress: {namespace: istio-egress}
services:
  google:
    host: www.google.com
    ports: [443/https]
    via: egress
  httpbin:
    host: httpbin.org
    ports: [80/http]
    via: egress
namespaces:
  shop:
    allow: [google]
    networkPolicy: true
    workloads:
      exp: {selector: {app: exp}, allow: [httpbin]}
"""

ENV = """\
inventory: [egress.yaml]
context: kind-dev
cluster: {podCIDRs: [10.244.0.0/16], serviceCIDRs: [10.96.0.0/12]}
"""


def _project(project: Path, inventory: str = INVENTORY, env: str = ENV) -> Path:
    write(project / "values" / "egress.yaml", inventory)
    write(project / "values" / "dev.yaml", env)
    return project


def _check(cli: Any, project: Path, inventory: str = INVENTORY, env: str = ENV) -> Any:
    _project(project, inventory, env)
    return cli("check", "--env", "dev", "--output", "json")


def _errors(res: Any) -> list[tuple[str, str, str, int, int]]:
    """(code, key path, file, line, column) of every error finding."""
    doc = json.loads(res.stdout)
    return [
        (f["code"], f["path"], f["file"], f["line"], f["column"])
        for f in doc["findings"]
        if f["severity"] == "error"
    ]


def _codes(res: Any) -> list[str]:
    return [e[0] for e in _errors(res)]


def _compiled(cli: Any, project: Path, inventory: str, env: str = ENV) -> dict[str, Any]:
    _project(project, inventory, env)
    res = cli("compile", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    values = yaml.safe_load(res.stdout)
    assert isinstance(values, dict)
    return values


# The codes this review added, each with a case below (tests/test_rules.py counts them).
OUR_CODES = frozenset(
    {
        "workload-selector-invalid",
        "allow-star-mixed",
        "gateway-subsets-name-taken",
        "namespace-reserved",
    }
)


def test_every_new_code_is_in_the_catalogue() -> None:
    for code in (*OUR_CODES, "dataplane-chart-duplicate"):
        assert code in RULES_BY_CODE, code


# ---------------------------------------------------------------------------
# `namespaces.*.workloads.*.selector`: label keys and values (they reach a Sidecar's
# workloadSelector and a NetworkPolicy's podSelector)

SELECTORS = [
    pytest.param('{"app\\nkind: ConfigMap": exp}', "app\nkind: ConfigMap", id="key-newline"),
    pytest.param('{"a b": exp}', "a b", id="key-space"),
    pytest.param('{"-app": exp}', "-app", id="key-dash"),
    pytest.param('{"Example.com/app": exp}', "Example.com/app", id="key-prefix-uppercase"),
    pytest.param('{app: "{{ .Release.Name }}"}', "app", id="value-template"),
    pytest.param('{app: "x\\ny: z"}', "app", id="value-newline"),
    pytest.param('{app: "it\'s"}', "app", id="value-quote"),
    pytest.param("{app: %s}" % ("v" * 64), "app", id="value-too-long"),
    pytest.param("{%s: v}" % ("k" * 64), "k" * 64, id="key-too-long"),
]


@pytest.mark.parametrize(("selector", "key"), SELECTORS)
def test_workload_selector_must_be_labels(cli: Any, project: Path, selector: str, key: str) -> None:
    inv = INVENTORY.replace("selector: {app: exp}", f"selector: {selector}")
    res = _check(cli, project, inv)
    assert res.exit_code == 3, res.stdout
    errors = _errors(res)
    assert [e[:3] for e in errors] == [
        (
            "workload-selector-invalid",
            f"namespaces.shop.workloads.exp.selector.{key}",
            "values/egress.yaml",
        )
    ], errors
    assert errors[0][3] == 18, errors


def test_valid_workload_selectors_still_pass(cli: Any, project: Path) -> None:
    selector = '{app.kubernetes.io/name: exp, "example.com/tier": "", version: 1.5}'
    values = _compiled(
        cli, project, INVENTORY.replace("selector: {app: exp}", f"selector: {selector}")
    )
    sidecar = values["sidecars"]["shop.exp"]
    assert sidecar["workloadSelector"] == {
        "app.kubernetes.io/name": "exp",
        "example.com/tier": "",
        "version": "1.5",
    }


def test_a_boolean_in_a_workload_selector_is_one_error(cli: Any, project: Path) -> None:
    res = _check(cli, project, INVENTORY.replace("selector: {app: exp}", "selector: {app: true}"))
    assert res.exit_code == 3
    assert [e[:2] for e in _errors(res)] == [
        ("wrong-type", "namespaces.shop.workloads.exp.selector.app")
    ]


# ---------------------------------------------------------------------------
# `allow: ["*", name]`: the name was dropped silently


def test_star_with_names_is_an_error(cli: Any, project: Path) -> None:
    res = _check(cli, project, INVENTORY.replace("allow: [google]", 'allow: ["*", nonexist]'))
    assert res.exit_code == 3
    assert [e[:4] for e in _errors(res)] == [
        ("allow-star-mixed", "namespaces.shop.allow[1]", "values/egress.yaml", 15)
    ]


def test_star_alone_allows_every_service(cli: Any, project: Path) -> None:
    res = _check(cli, project, INVENTORY.replace("allow: [google]", 'allow: ["*"]'))
    assert res.exit_code == 0, res.stdout


def test_many_unknown_names_get_a_bounded_number_of_suggestions(
    cli: Any, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """did-you-mean is a fuzzy scan of every service (or gateway): once per unknown name,
    a huge allowlist or many unknown `via` made a run quadratic (3,000 by 3,000: ~18 s),
    and each `via-unknown-gateway` message listed every gateway."""
    from egressctl.rules import gateways as gateway_rules
    from egressctl.rules import namespaces as namespace_rules

    calls: list[str] = []

    def counting(word: str, choices: Any) -> str:
        calls.append(word)
        return ""

    monkeypatch.setattr(namespace_rules, "did_you_mean", counting)
    monkeypatch.setattr(gateway_rules, "did_you_mean", counting)
    n = 300
    gateways = "".join(f"  g{i}: {{namespace: istio-egress}}\n" for i in range(n))
    services = "".join(
        f"  s{i}: {{host: h{i}.example.com, ports: [443/https], via: x{i}}}\n" for i in range(n)
    )
    allow = ", ".join(f"x{i}" for i in range(n))
    inv = (
        f"policy: REGISTRY_ONLY\ngateways:\n{gateways}services:\n{services}"
        f"namespaces:\n  shop:\n    allow: [{allow}]\n"
    )
    res = _check(cli, project, inv, "inventory: [egress.yaml]\ncontext: kind-dev\n")
    assert res.exit_code == 3
    codes = _codes(res)
    assert (codes.count("allow-unknown-service"), codes.count("via-unknown-gateway")) == (n, n)
    assert len(calls) <= 20, len(calls)
    doc = json.loads(res.stdout)
    via = next(f["message"] for f in doc["findings"] if f["code"] == "via-unknown-gateway")
    assert via.endswith(f"… {n - 20} more)"), via


# ---------------------------------------------------------------------------
# Object names built from gateway and service names never collide


def test_long_gateway_names_get_distinct_subset_rules(cli: Any, project: Path) -> None:
    g1, g2 = "g" * 55 + "x", "g" * 55 + "y"
    inv = (
        INVENTORY.replace(
            "  egress: {namespace: istio-egress}",
            f"  {g1}: {{namespace: istio-egress}}\n  {g2}: {{namespace: istio-egress}}",
        )
        .replace("via: egress\n  httpbin", f"via: {g1}\n  httpbin")
        .replace("via: egress", f"via: {g2}")
    )
    values = _compiled(cli, project, inv)
    names = [e["name"] for e in values["gatewaySubsets"].values()]
    assert len(names) == 2 and len(set(names)) == 2, names
    assert all(is_dns1123_label(n) for n in names), names


def test_short_gateway_subset_rule_name_is_unchanged(cli: Any, project: Path) -> None:
    values = _compiled(cli, project, INVENTORY)
    assert values["gatewaySubsets"]["egress"]["name"] == "egress-subsets"


def test_a_service_named_like_a_gateway_subset_rule_is_refused(cli: Any, project: Path) -> None:
    inv = INVENTORY.replace("  egress: {namespace: istio-egress}", "  egress: {}").replace(
        "  httpbin:\n",
        "  egress-subsets:\n"
        "    host: a.example\n"
        "    ports: [{number: 80, protocol: http, originate: SIMPLE}]\n"
        "  httpbin:\n",
    )
    res = _check(cli, project, inv)
    assert res.exit_code == 3
    assert [e[:4] for e in _errors(res)] == [
        ("gateway-subsets-name-taken", "services.egress-subsets", "values/egress.yaml", 9)
    ]


# ---------------------------------------------------------------------------
# Kubernetes' own namespaces: egressctl does not lock down, run gateways or prune there


RESERVED_CASES = [
    pytest.param(
        INVENTORY.replace("  shop:\n", "  kube-system:\n"),
        ENV,
        ("namespace-reserved", "namespaces.kube-system", "values/egress.yaml", 14, 3),
        id="listed-namespace",
    ),
    pytest.param(
        INVENTORY.replace("namespace: istio-egress", "namespace: kube-public"),
        ENV,
        ("namespace-reserved", "gateways.egress.namespace", "values/egress.yaml", 3, 23),
        id="gateway-namespace",
    ),
    pytest.param(
        INVENTORY,
        ENV + "dataplane: ambient\nambient: {namespace: kube-system}\n",
        ("namespace-reserved", "ambient.namespace", "values/dev.yaml", 5, 22),
        id="ambient-namespace",
    ),
    pytest.param(
        INVENTORY,
        ENV + "dataplane: ambient\nambient: {enrolled: [kube-node-lease]}\n",
        ("namespace-reserved", "ambient.enrolled[0]", "values/dev.yaml", 5, 22),
        id="ambient-enrolled",
    ),
]


@pytest.mark.parametrize(("inventory", "env", "expected"), RESERVED_CASES)
def test_kubernetes_system_namespaces_are_refused(
    cli: Any, project: Path, inventory: str, env: str, expected: tuple[str, str, str, int, int]
) -> None:
    res = _check(cli, project, inventory, env)
    assert res.exit_code == 3
    assert expected in _errors(res), _errors(res)


def test_ambient_does_not_enroll_the_environments_own_namespace(cli: Any, project: Path) -> None:
    """istio-system (istiod) enrolled would get a lockdown NetworkPolicy: istiod cut off."""
    env = ENV + "dataplane: ambient\nambient: {enrolled: [shop2, istio-system]}\n"
    res = _check(cli, project, INVENTORY, env)
    assert res.exit_code == 3
    assert ("namespace-reserved", "ambient.enrolled", "values/dev.yaml", 5, 21) in _errors(res)


def test_gateway_chart_in_a_system_namespace_is_refused(cli: Any, project: Path) -> None:
    env = ENV + (
        f"istio:\n  chart: {MINI_ISTIO}\n  release: istiod\n  gateways:\n"
        f"    - {{chart: {GATEWAY_CHART}, release: istio-egressgateway, namespace: kube-system}}\n"
    )
    res = _check(cli, project, INVENTORY, env)
    assert res.exit_code == 3
    found = [e for e in _errors(res) if e[1] == "istio.gateways[0].namespace"]
    assert [e[0] for e in found] == ["namespace-reserved"], _errors(res)


def test_the_default_namespace_is_allowed(cli: Any, project: Path) -> None:
    """`default` runs applications in many clusters: it may be listed."""
    res = _check(cli, project, INVENTORY.replace("  shop:\n", "  default:\n"))
    assert res.exit_code == 0, res.stdout


# ---------------------------------------------------------------------------
# `istio.charts`: the release derived from the chart's name, and releases shared with
# the Istio chart or a gateway chart


def _dataplane_env(project: Path, folder: str, extra: str = "") -> str:
    shutil.copytree(ZTUNNEL, project / "values" / "charts" / folder)
    return ENV + (
        f"istio:\n  chart: {MINI_ISTIO}\n  release: istiod\n"
        f"  charts:\n    - {{chart: 'charts/{folder}'}}\n{extra}"
    )


@pytest.mark.parametrize(
    "folder", ["-x", "Zt_unnel.v2", "z" * 70], ids=["dash", "invalid", "too-long"]
)
def test_a_derived_release_name_is_checked(cli: Any, project: Path, folder: str) -> None:
    res = _check(cli, project, INVENTORY, _dataplane_env(project, folder))
    assert res.exit_code == 3
    assert ("dataplane-chart-invalid", "istio.charts[0].chart", "values/dev.yaml", 8) in [
        e[:4] for e in _errors(res)
    ], _errors(res)


def test_a_dataplane_release_that_is_istios_is_refused(cli: Any, project: Path) -> None:
    res = _check(cli, project, INVENTORY, _dataplane_env(project, "istiod"))
    assert res.exit_code == 3
    assert ("dataplane-chart-duplicate", "istio.charts[0]", "values/dev.yaml", 8) in [
        e[:4] for e in _errors(res)
    ], _errors(res)


def test_a_dataplane_release_that_is_a_gateway_charts_is_refused(cli: Any, project: Path) -> None:
    extra = (
        f"  gateways:\n    - {{chart: {GATEWAY_CHART}, release: istio-egressgateway, "
        "namespace: istio-system}\n"
    )
    env = _dataplane_env(project, "istio-egressgateway", extra)
    res = _check(cli, project, INVENTORY, env)
    assert res.exit_code == 3
    assert ("dataplane-chart-duplicate", "istio.charts[0]", "values/dev.yaml", 8) in [
        e[:4] for e in _errors(res)
    ], _errors(res)


LONG = "y" * 300
LONG_PATHS = [
    pytest.param(f"istio:\n  chart: {LONG}\n  release: istiod\n", "istio.chart", id="istio"),
    pytest.param(
        f"istio:\n  chart: {MINI_ISTIO}\n  release: istiod\n  gateways:\n"
        f"    - {{chart: {LONG}, namespace: istio-egress}}\n",
        "istio.gateways[0].chart",
        id="gateway-chart",
    ),
    pytest.param(
        f"istio:\n  chart: {MINI_ISTIO}\n  release: istiod\n  charts:\n"
        f"    - {{chart: {LONG}, release: ztunnel}}\n",
        "istio.charts[0].chart",
        id="dataplane-chart",
    ),
    pytest.param(
        f"istio:\n  chart: {MINI_ISTIO}\n  release: istiod\n  gateways:\n"
        f"    - {{chart: {GATEWAY_CHART}, namespace: istio-egress, values: [{LONG}]}}\n",
        "istio.gateways[0].values[0]",
        id="gateway-values",
    ),
]


@pytest.mark.parametrize(("block", "path"), LONG_PATHS)
def test_a_path_too_long_for_the_os_is_located(project: Path, block: str, path: str) -> None:
    """`Path.exists()` raised OSError (ENAMETOOLONG): a traceback."""
    _project(project, INVENTORY, ENV + block)
    proc = entry_point(project, "check", "--env", "dev", "--output", "json")
    assert proc.returncode == 3, proc.stderr
    doc = json.loads(proc.stdout)
    found = [(f["file"], f["line"]) for f in doc["findings"] if f["path"] == path]
    assert found and found[0][0] == "values/dev.yaml", doc["findings"]


# ---------------------------------------------------------------------------
# Chart repositories with credentials: they would be printed with every helm command


REPOS = [
    pytest.param("  repo: 'https://user:s3cret@charts.example/istio'\n", "istio.repo", id="istio"),
    pytest.param(
        "  gateways:\n    - {chart: gateway, repo: 'https://user:s3cret@charts.example/x', "
        "release: istio-egressgateway, namespace: istio-egress}\n",
        "istio.gateways[0].repo",
        id="gateway-chart",
    ),
    pytest.param(
        "  charts:\n    - {chart: ztunnel, repo: 'oci://user:s3cret@charts.example/x'}\n",
        "istio.charts[0].repo",
        id="dataplane-chart",
    ),
]


@pytest.mark.parametrize(("block", "path"), REPOS)
def test_repository_urls_with_credentials_are_refused(
    cli: Any, project: Path, block: str, path: str
) -> None:
    chart = "istiod" if path == "istio.repo" else str(MINI_ISTIO)
    env = ENV + f"istio:\n  chart: {chart}\n  release: istiod\n" + block
    res = _check(cli, project, INVENTORY, env)
    assert res.exit_code == 3
    found = [e for e in _errors(res) if e[1] == path]
    assert len(found) == 1, _errors(res)
    doc = json.loads(res.stdout)
    message = next(f["message"] for f in doc["findings"] if f["path"] == path)
    assert "user:***@charts.example" in message, message


def test_repository_url_without_password_still_passes(cli: Any, project: Path) -> None:
    env = ENV + (
        f"istio:\n  chart: {MINI_ISTIO}\n  release: istiod\n  gateways:\n"
        "    - {chart: gateway, repo: 'https://charts.example/x', release: istio-egressgateway,"
        " namespace: istio-egress}\n"
    )
    res = _check(cli, project, INVENTORY, env)
    assert not [e for e in _errors(res) if e[1].startswith("istio.")], _errors(res)


# ---------------------------------------------------------------------------
# The worst cases through the real entry point: exit 3, a located report, nothing written

WORST = [
    pytest.param(
        INVENTORY.replace("egress: {namespace: istio-egress}", "egress: null")
        .replace("allow: [google]", "allow: null")
        .replace("exp: {selector: {app: exp}, allow: [httpbin]}", "exp: null")
        + "defaults: {via: null, exportTo: null}\nnamespaces2: null\n",
        ENV,
        id="nulls",
    ),
    pytest.param(
        INVENTORY.replace("egress: {namespace: istio-egress}", "egress: [istio-egress]")
        .replace("allow: [google]", "allow: {google: true}")
        .replace("networkPolicy: true", "networkPolicy: 'yes'")
        .replace("via: egress\n  httpbin", "via: 7\n  httpbin")
        + "defaults: [via]\n",
        ENV + "dataplane: [ambient]\nambient: 5\nistio: {gateways: {a: 1}, charts: 7}\n",
        id="wrong-types",
    ),
    pytest.param(
        INVENTORY.replace(
            "gateways:\n  egress: {namespace: istio-egress}",
            "gateways:\n  base: &gw {namespace: istio-egress, selector: {'{{ lookup }}': x}}\n"
            "  egress: {<<: *gw, mtls: 'yes', api: [istio]}",
        ).replace("selector: {app: exp}", 'selector: {<<: {app: "{{ .Release.Namespace }}"}}'),
        ENV,
        id="anchors-and-templates",
    ),
    pytest.param(
        INVENTORY.replace("  shop:\n", "  123:\n").replace(
            "    via: egress\n  httpbin", "    expires: [1]\n    via: egress\n  httpbin"
        ),
        ENV + "ambient: {namespace: '-x', waypoint: 'A B', enrolled: {a: b}}\n",
        id="numbers-as-names",
    ),
]


@pytest.mark.parametrize(("inventory", "env"), WORST)
def test_worst_cases_are_a_located_report_through_the_entry_point(
    project: Path, inventory: str, env: str
) -> None:
    _project(project, inventory, env)
    proc = entry_point(project, "compile", "--env", "dev", "--out", "out.yaml")
    assert proc.returncode == 3, proc.stderr
    findings = invalid_input_report(proc.stderr)
    errors = [line for line in findings if "warning: " not in line]
    assert errors and all(line.startswith("values/") for line in errors), proc.stderr
    assert not (project / "out.yaml").exists()


@pytest.mark.parametrize(
    "source",
    ["-shop", "shop/app=exp,tier", "a" * 64, "shop/=x", "Shop"],
    ids=["flag", "no-value", "too-long", "empty-key", "uppercase"],
)
def test_explain_from_refuses_bad_sources_in_one_line(project: Path, source: str) -> None:
    _project(project)
    proc = entry_point(project, "explain", "www.google.com", "--env", "dev", "--from", source)
    assert proc.returncode not in (0, 1), proc.stderr
    last = [line for line in proc.stderr.splitlines() if line.strip()][-1]
    assert last.startswith("--from "), proc.stderr


def test_explain_from_with_odd_labels_answers(project: Path) -> None:
    """Labels no pod can carry match no workload allowlist: the namespace's applies."""
    _project(project)
    proc = entry_point(
        project, "explain", "www.google.com", "--env", "dev", "--from", "shop/app={{x}},$(id)=1"
    )
    assert proc.returncode == 0, proc.stderr


def test_positions_of_a_mapping_merged_in_place() -> None:
    """`<<: {…}` (no alias): locating a problem in such a file raised AttributeError."""
    from egressctl.errors import Anchor
    from egressctl.inventory.positions import Positions

    pos = Positions("a:\n  <<: {x: 1}\n  y: 2\n", "f.yaml")
    assert (pos.find(("a", "x"), Anchor.VALUE).line, pos.find(("a", "y"), Anchor.KEY).line) == (
        2,
        3,
    )


# ---------------------------------------------------------------------------
# Values are data: template text in a free-text field stays literal in every object the
# new keys render (chart/ uses no `tpl`)

TEMPLATE = '{{ .Release.Name }} {{ lookup "v1" "Secret" "" "" }}'


def test_template_text_reaches_the_new_objects_literally(
    cli: Any, project: Path, helm4: str
) -> None:
    inv = INVENTORY.replace(
        "    via: egress\n  httpbin", f"    via: egress\n    reason: '{TEMPLATE}'\n  httpbin"
    )
    _project(project, inv)
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    docs = [
        d for d in yaml.safe_load_all((project / "build" / "dev" / "egress.yaml").read_text()) if d
    ]
    google = {
        d["kind"]: d["metadata"]["annotations"]["egressctl.io/reason"]
        for d in docs
        if d["metadata"]["name"] == "google"
    }
    assert google == {"ServiceEntry": TEMPLATE, "VirtualService": TEMPLATE}


# ---------------------------------------------------------------------------
# A gateway chart's render is read like a file: a Service whose `ports` is no list


@pytest.mark.parametrize("ports", ["5", "[]", "{a: 1}"], ids=["number", "empty", "mapping"])
def test_a_gateway_service_without_a_ports_list_is_located(
    project: Path, helm4: str, ports: str
) -> None:
    """`ports: 5` in the render raised TypeError; no ports at all was skipped silently."""
    write(project / "values" / "gw.yaml", f"service: {{type: ClusterIP, ports: {ports}}}\n")
    env = ENV + (
        f"istio:\n  chart: {MINI_ISTIO}\n  release: istiod\n  gateways:\n"
        f"    - {{chart: {GATEWAY_CHART}, release: istio-egressgateway, "
        "namespace: istio-egress, values: [gw.yaml]}\n"
    )
    _project(project, INVENTORY, env)
    proc = entry_point(project, "render", "--env", "dev")
    assert proc.returncode == 3, proc.stderr
    findings = invalid_input_report(proc.stderr)
    assert any(
        line.startswith("values/dev.yaml:8:7: istio.gateways[0]: ")
        and line.endswith("[gateway-chart-service-ports]")
        for line in findings
    ), proc.stderr


def test_a_gateway_named_direct_is_refused(cli: Any, project: Path) -> None:
    """`via: direct` means no gateway: a gateway `direct` was silently never used."""
    inv = INVENTORY.replace("  egress: {namespace", "  direct: {namespace").replace(
        "via: egress", "via: direct"
    )
    res = _check(cli, project, inv.replace("networkPolicy: true", "networkPolicy: false"))
    assert res.exit_code == 3
    assert [e[:4] for e in _errors(res)] == [
        ("gateway-name-invalid", "gateways.direct", "values/egress.yaml", 3)
    ]
