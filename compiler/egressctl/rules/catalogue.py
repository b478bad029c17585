"""The catalogue of rules: every finding egressctl reports has a stable code listed here,
with its severity and an example of what triggers it.  The README's rule table is
generated from :data:`RULES`, and a test checks that every code has a case."""

from __future__ import annotations

from dataclasses import dataclass

from egressctl.errors import Severity

ERROR, WARNING = Severity.ERROR, Severity.WARNING


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its stable code, how bad, what triggers it, and an example."""

    code: str
    severity: Severity
    summary: str
    example: str
    lenient: bool = False  # an error under REGISTRY_ONLY, a warning under ALLOW_ANY


RULES: tuple[Rule, ...] = (
    # The file itself (loader and parse)
    Rule("yaml-syntax", ERROR, "YAML that does not parse", "`services: [`"),
    Rule("yaml-tab", ERROR, "a tab used for indentation", "`services:\\n\\ta: …`"),
    Rule("duplicate-key", ERROR, "the same key twice in one mapping", "`policy: A` … `policy: B`"),
    Rule(
        "yaml-tag",
        ERROR,
        "a YAML tag that would construct an object",
        "`!!python/object/apply:os.system`",
    ),
    Rule("yaml-alias-bomb", ERROR, "aliases that expand past a bound", "nested `&a [*b, *b, …]`"),
    Rule("yaml-type", ERROR, "a date, binary or set value", "`ticket: 2024-01-01`"),
    Rule("not-utf8", ERROR, "bytes that are not UTF-8", "a Latin-1 `é`"),
    Rule("file-too-large", ERROR, "a file over 64 MiB", "a 100 MB inventory"),
    Rule(
        "file-missing",
        ERROR,
        "a file that does not exist (path as written and as looked for)",
        "`inventory: [nope.yaml]`",
    ),
    Rule("file-unreadable", ERROR, "a file that cannot be read", "no read permission"),
    Rule(
        "file-not-regular",
        ERROR,
        "a device, FIFO or socket where a file is expected",
        "`inventory: [/dev/zero]`",
    ),
    Rule("empty-file", ERROR, "an empty file", "a file with only comments"),
    Rule("wrong-type", ERROR, "a value of the wrong type", "`host: [a.com]`"),
    Rule("key-type", ERROR, "a mapping key that is not a string", "`80: http`"),
    Rule("unknown-key", ERROR, "an unknown key, with a did-you-mean suggestion", "`port: [80]`"),
    Rule("key-missing", ERROR, "a required key is missing", "a service without `host`"),
    Rule("inventory-empty", ERROR, "an environment that lists no inventory", "`inventory: []`"),
    Rule(
        "inventory-blank",
        ERROR,
        "an inventory file with neither `services` nor `policy` (unless the environment "
        "sets `allowEmptyInventory: true`)",
        "`{}`, or a file that is not an inventory",
    ),
    Rule(
        "env-name-invalid",
        ERROR,
        "an environment file whose name is not a DNS-1123 label (it becomes a label value "
        "and the folder build/NAME)",
        "`values/Prod_EU.yaml`",
    ),
    Rule(
        "namespace-invalid",
        ERROR,
        "a namespace that is not a DNS-1123 label",
        "`namespace: 'kube-system # x'`",
    ),
    Rule(
        "context-invalid",
        ERROR,
        "a kube context that is empty, holds whitespace or control characters, or starts with `-`",
        "`context: --kubeconfig=/tmp/x`",
    ),
    Rule(
        "kubeconfig-invalid",
        ERROR,
        "a kubeconfig path that is empty or holds a NUL or line break",
        '`kubeconfig: "a\\nb"`',
    ),
    Rule(
        "istio-release-invalid",
        ERROR,
        "an Istio release that is not a Helm release name (DNS-1123, at most 53)",
        "`release: --post-renderer=x.sh`",
    ),
    Rule(
        "istio-chart-invalid",
        ERROR,
        "an Istio chart that starts with `-` or holds control characters (or whitespace, "
        "for a chart name in `repo`)",
        "`chart: --set-string=a=b`",
    ),
    Rule(
        "istio-repo-invalid",
        ERROR,
        "an Istio chart repository that is not an http(s):// or oci:// URL without whitespace",
        "`repo: file:///etc`",
    ),
    Rule(
        "istio-version-invalid",
        ERROR,
        "an Istio chart version that is not a semver (range) string",
        "`version: --devel`",
    ),
    Rule(
        "istio-revision-invalid",
        ERROR,
        "an Istio revision that is not a DNS-1123 label",
        "`revision: Canary`",
    ),
    Rule(
        "istio-values-invalid",
        ERROR,
        "an Istio values file path that starts with `-` or holds control characters",
        "`values: [-f]`",
    ),
    Rule(
        "istio-version-without-repo",
        ERROR,
        "`istio.version` without `istio.repo`",
        "`istio: {chart: ./istiod, version: 1.28.0}`",
    ),
    Rule(
        "istio-install-invalid",
        ERROR,
        "an `istio.install` that is not template, helm or auto",
        "`install: kubectl`",
    ),
    Rule(
        "api-version-invalid",
        ERROR,
        "an unknown networking API version",
        "`networkingApiVersion: v2`",
    ),
    Rule(
        "override-unknown-service",
        ERROR,
        "an environment file that removes or changes a service no inventory file defines "
        "(did-you-mean); an override with `host` (or `hosts`) and `ports` adds a service",
        "`egress: {services: {strpe: null}}`",
    ),
    Rule(
        "istio-value-overridden",
        WARNING,
        "a key of the team's Istio values files that the compiled values replace "
        "(`global`/`meshConfig` `outboundTrafficPolicy.mode`, `global.proxy` "
        "`includeIPRanges`/`excludeIPRanges`), with both values",
        "`meshConfig: {outboundTrafficPolicy: {mode: ALLOW_ANY}}`",
    ),
    # Values
    Rule("policy-invalid", ERROR, "policy other than ALLOW_ANY / REGISTRY_ONLY", "`policy: BLOCK`"),
    Rule("resolution-invalid", ERROR, "an unknown resolution", "`resolution: STRICT_DNS`"),
    Rule("location-invalid", ERROR, "an unknown location", "`location: EXTERNAL`"),
    Rule("tls-mode-invalid", ERROR, "an unknown TLS origination mode", "`originate: ISTIO`"),
    Rule("port-spelling", ERROR, "a port that is not PORT/PROTOCOL or a mapping", "`https:443`"),
    Rule("port-range", ERROR, "a port number outside 1..65535", "`70000/tcp`"),
    Rule("port-protocol-missing", ERROR, "a bare port other than 80/443", "`8443`"),
    Rule("port-protocol-invalid", ERROR, "a protocol Istio does not know", "`443/htps`"),
    Rule("ports-empty", ERROR, "a service with no ports", "`ports: []`"),
    Rule("host-and-hosts", ERROR, "both `host` and `hosts`", "`host: a` and `hosts: [b]`"),
    Rule("hosts-empty", ERROR, "an empty host list", "`hosts: []`"),
    Rule("cidr-invalid", ERROR, "a CIDR that does not parse", "`10.0.0.0/33`"),
    Rule(
        "cidr-host-bits",
        WARNING,
        "a CIDR with host bits set (the network is used)",
        "`10.1.2.3/8`",
    ),
    # Istio's rules for one service
    Rule("name-invalid", ERROR, "a service name that is not a DNS-1123 label", "`Bad_Name:`"),
    Rule(
        "host-invalid",
        ERROR,
        "a host that is not a valid (wildcard) domain",
        "`a..com`, `a.*.com`, `x.123`",
    ),
    Rule(
        "host-has-scheme",
        ERROR,
        "a URL written as a host (the hint gives the host and its port)",
        "`host: https://api.stripe.com`",
    ),
    Rule(
        "host-has-port",
        ERROR,
        "`host:port` written as a host (the hint gives the host and its port)",
        "`host: api.stripe.com:443`",
    ),
    Rule("host-star", ERROR, "the bare host `*`", "`host: '*'`"),
    Rule(
        "host-partial-wildcard",
        WARNING,
        "a partial wildcard such as `*foo.com`",
        "`host: '*foo.example.com'`",
    ),
    Rule("host-repeated", ERROR, "the same host twice in one service", "`hosts: [a, a]`"),
    Rule(
        "wildcard-with-dns",
        ERROR,
        "a wildcard host with DNS resolution",
        "`*.a.com` + `resolution: DNS`",
    ),
    Rule(
        "wildcard-public-suffix",
        WARNING,
        "a wildcard as broad as a public suffix",
        "`*.com`, `*.co.uk`",
    ),
    Rule(
        "port-duplicate",
        ERROR,
        "the same port number twice in a service",
        "`[443/https, 443/tls]`",
    ),
    Rule(
        "port-name-invalid",
        ERROR,
        "a port name that is not a DNS-1123 label",
        "`{number: 80, protocol: http, name: Web_1}`",
    ),
    Rule(
        "port-name-duplicate",
        ERROR,
        "the same port name twice in a service",
        "two ports named `web`",
    ),
    Rule(
        "multi-host-non-http",
        ERROR,
        "several hosts with a non-HTTP/TLS port and resolution other than NONE",
        "`hosts: [a, b]` + `5432/tcp`",
    ),
    Rule("address-invalid", ERROR, "an address that is not an IP or CIDR", "`addresses: [db]`"),
    Rule(
        "address-cidr-resolution",
        ERROR,
        "a CIDR address with resolution other than NONE/STATIC",
        "`addresses: [10.0.0.0/8]` + `resolution: DNS`",
    ),
    Rule(
        "endpoints-with-none",
        ERROR,
        "endpoints with resolution NONE",
        "`resolution: NONE` + `endpoints: [1.2.3.4]`",
    ),
    Rule(
        "static-needs-endpoints",
        ERROR,
        "resolution STATIC without endpoints",
        "`resolution: STATIC`",
    ),
    Rule(
        "endpoint-not-ip",
        ERROR,
        "a STATIC endpoint that is not an IP",
        "`endpoints: [db.example.com]`",
    ),
    Rule(
        "endpoint-invalid",
        ERROR,
        "a DNS endpoint that is neither an IP nor an FQDN",
        "`endpoints: ['a..b']`",
    ),
    Rule(
        "dns-rr-endpoints",
        ERROR,
        "more than one endpoint with DNS_ROUND_ROBIN",
        "two endpoints + `resolution: DNS_ROUND_ROBIN`",
    ),
    Rule(
        "endpoint-port-unknown",
        ERROR,
        "an endpoint port name the service does not define",
        "`ports: {grpc: 9000}` on an http-only service",
    ),
    Rule(
        "export-to-invalid",
        ERROR,
        "an exportTo entry that is not `.`, `*`, `~` or a namespace",
        "`exportTo: [Team_A]`",
    ),
    Rule(
        "export-to-alone",
        ERROR,
        "`*` or `~` together with other exportTo entries",
        "`exportTo: ['*', team-a]`",
    ),
    Rule("export-to-duplicate", ERROR, "the same exportTo entry twice", "`[team-a, team-a]`"),
    Rule(
        "originate-on-tls",
        ERROR,
        "TLS origination on a port that is already TLS",
        "`{number: 443, protocol: https, originate: SIMPLE}`",
    ),
    Rule(
        "originate-host",
        ERROR,
        "TLS origination on a service without exactly one concrete host",
        "`hosts: [a, b]` + `originate`",
    ),
    Rule(
        "originate-mutual",
        ERROR,
        "MUTUAL origination without credentialName, workloadSelector and namespace",
        "`originate: MUTUAL`",
    ),
    Rule("port-443-plaintext", WARNING, "port 443 declared HTTP-family", "`443/http`"),
    Rule("port-80-tls", WARNING, "port 80 declared HTTPS/TLS", "`80/https`"),
    Rule(
        "annotations-too-large",
        ERROR,
        "owner, reason and ticket over the API server's 256 KiB for all annotations",
        "a 300 KB `reason`",
    ),
    # Across entries
    Rule("host-duplicate", ERROR, "the same host in two services", "`a.com` in `a` and `b`"),
    Rule(
        "protocol-conflict",
        ERROR,
        "the same host (or a covering wildcard) and port with different protocols",
        "`*.a.com 443/tls` and `x.a.com 443/http`",
    ),
    Rule(
        "tcp-port-shared",
        ERROR,
        "opaque (TCP-like) ports of hostname services sharing a number, without addresses",
        "`db1 5432/tcp` and `db2 5432/tcp`",
    ),
    Rule(
        "wildcard-covers",
        WARNING,
        "a wildcard that covers another service's host",
        "`*.a.com` and `x.a.com`",
    ),
    # Policy and capture
    Rule(
        "registry-only-empty",
        WARNING,
        "REGISTRY_ONLY with no services",
        "`policy: REGISTRY_ONLY` alone",
    ),
    Rule(
        "capture-none",
        WARNING,
        "`include: []`: sidecars capture no outbound traffic",
        "`capture: {include: []}`",
    ),
    Rule("exclude-everything", ERROR, "excluding 0.0.0.0/0 or ::/0", "`exclude: [0.0.0.0/0]`"),
    Rule(
        "capture-overlap",
        WARNING,
        "include and exclude ranges that overlap",
        "`include: [10.0.0.0/8]`, `exclude: [10.1.0.0/16]`",
    ),
    Rule(
        "capture-misses-cluster",
        ERROR,
        "an include list that leaves out a declared cluster range",
        "`include: [10.96.0.0/12]` with podCIDRs 10.244.0.0/16",
    ),
    Rule(
        "capture-cuts-cluster",
        ERROR,
        "an exclude range inside a declared cluster range",
        "`exclude: [10.244.1.0/24]` with podCIDRs 10.244.0.0/16",
    ),
    # Holes in the lockdown (the effective policy)
    Rule(
        "policy-bypassed-by-capture",
        ERROR,
        "`capture.include` does not cover 0.0.0.0/0 (and ::/0 when IPv6 is used): external "
        "traffic bypasses the sidecar and the policy (a warning under ALLOW_ANY; may be "
        "acknowledged on `capture`)",
        "`policy: REGISTRY_ONLY` + `include: [10.96.0.0/12]`",
        lenient=True,
    ),
    Rule(
        "entry-bypassed",
        WARNING,
        "an entry whose addresses all lie outside the capture (or inside `exclude`)",
        "`addresses: [192.0.2.7]` + `include: [10.0.0.0/8]`",
    ),
    Rule(
        "tcp-port-catch-all",
        WARNING,
        "a port neither HTTP nor TLS, resolution DNS (or STATIC), no `addresses`: every "
        "connection on that port goes to this host",
        "`host: github.com` + `22/tcp`",
    ),
    Rule(
        "tcp-port-open",
        ERROR,
        "a port neither HTTP nor TLS, resolution NONE, no `addresses`: any destination on "
        "that port passes (a warning under ALLOW_ANY)",
        "`host: '*.rds.amazonaws.com'` + `5432/tcp`",
        lenient=True,
    ),
    # Acknowledgements
    Rule(
        "acknowledge-unused",
        WARNING,
        "an acknowledgement of a code that is not reported for that entry",
        "`acknowledge: {wildcard-public-suffix: …}` on `host: api.example.com`",
    ),
    Rule(
        "acknowledge-error",
        ERROR,
        "an acknowledgement of an error (only `policy-bypassed-by-capture`, on `capture`, "
        "may be acknowledged)",
        "`acknowledge: {host-duplicate: …}`",
    ),
    Rule(
        "acknowledge-no-reason",
        ERROR,
        "an acknowledgement with an empty reason",
        "`acknowledge: {tcp-port-catch-all: ''}`",
    ),
    # Rendered objects (`check --crds`)
    Rule(
        "crd-schema",
        ERROR,
        "a rendered object the CRD schema rejects (or a version it does not serve)",
        "`networkingApiVersion: v1` against Istio 1.20 CRDs",
    ),
    Rule(
        "crd-rule",
        ERROR,
        "a rendered object that fails a CRD's CEL rule",
        "a rule of your Istio release that egressctl does not know yet",
    ),
)
RULE_CODES = frozenset(r.code for r in RULES)
RULES_BY_CODE = {r.code: r for r in RULES}
