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
    Rule(
        "yaml-line-break",
        ERROR,
        "a line break other than LF or CRLF (CR alone, NEL, U+2028, U+2029): YAML starts a"
        " line there, editors and diffs may show none",
        "`# ok<U+2028>evil: {host: x.net}`",
    ),
    Rule("duplicate-key", ERROR, "the same key twice in one mapping", "`policy: A` … `policy: B`"),
    Rule(
        "yaml-tag",
        ERROR,
        "a YAML tag that would construct an object",
        "`!!python/object/apply:os.system`",
    ),
    Rule("yaml-alias-bomb", ERROR, "aliases that expand past a bound", "nested `&a [*b, *b, …]`"),
    Rule(
        "yaml-type",
        ERROR,
        "a date (except `expires`), binary or set value",
        "`ticket: 2024-01-01`",
    ),
    Rule("expires-invalid", ERROR, "`expires` that is not a YYYY-MM-DD date", "`expires: soon`"),
    Rule(
        "service-expired",
        WARNING,
        "a service whose `expires` date has passed (first in `report`)",
        "`expires: 2025-01-31`",
    ),
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
    # Egress gateways (issue #13)
    Rule(
        "gateway-name-invalid",
        ERROR,
        "a gateway name that is not a DNS-1123 label (it names the Gateway), or `direct`",
        "`gateways: {Egress_GW: …}`",
    ),
    Rule(
        "gateway-service-invalid",
        ERROR,
        "a gateway `service` that is not a DNS-1123 label",
        "`service: istio.egress`",
    ),
    Rule(
        "gateway-selector-invalid",
        ERROR,
        "a gateway selector that is empty or holds an invalid label key or value",
        "`selector: {istio: ''}`",
    ),
    Rule("gateway-api-invalid", ERROR, "an `api` other than istio / gateway-api", "`api: k8s`"),
    Rule("via-invalid", ERROR, "a `via` neither `direct` nor a DNS label", "`via: Egress GW`"),
    Rule(
        "via-unknown-gateway",
        ERROR,
        "a `via` (or `defaults.via`) naming no gateway under `gateways:`",
        "`via: egres`",
    ),
    Rule(
        "gateway-resolution-none",
        ERROR,
        "a service via a gateway with resolution NONE (the hop loops back into the gateway)",
        "`host: '*.example.com'` + `via: egress`",
    ),
    Rule(
        "gateway-port-opaque",
        ERROR,
        "a port neither HTTP nor TLS via a gateway (it routes by Host or SNI only)",
        "`ports: [5432/tcp]` + `via: egress`",
    ),
    Rule(
        "gateway-port-conflict",
        ERROR,
        "a TLS port 80 and an HTTP port via one gateway (the HTTP hop uses port 80)",
        "`ports: [80/tls, 8080/http]` + `via: egress`",
    ),
    Rule(
        "gateway-api-name-too-long",
        ERROR,
        "a gateway-api gateway name over 57 characters (Istio's Service `<name>-istio`)",
        "`gateways: {<58 characters>: {api: gateway-api}}`",
    ),
    Rule(
        "gateway-api-port-conflict",
        ERROR,
        "a TLS port and an HTTP port of one number via one gateway-api gateway",
        "`ports: [8443/http]` and `[8443/tls]` via one gateway-api gateway",
    ),
    Rule(
        "gateway-http-hosts",
        ERROR,
        "an HTTP port via a gateway on a service with several hosts",
        "`hosts: [a.com, b.com]` + `80/http` + `via: egress`",
    ),
    Rule(
        "gateway-http-ports",
        ERROR,
        "two HTTP ports of a service via an `api: istio` gateway (both hop on its port 80)",
        "`ports: [80/http, 8080/http]` + `via: egress`",
    ),
    Rule(
        "gateway-mtls-mixed",
        ERROR,
        "two `api: istio` gateways on the same pods, one with `mtls` and one without, "
        "both carrying HTTP (port 80 cannot be both HTTPS and HTTP)",
        "`egress: {}` and `plain: {mtls: false}`, same selector",
    ),
    Rule(
        "gateway-originate-scope",
        ERROR,
        "`originate.workloadSelector` or `namespace` on a service via a gateway",
        "`originate: {mode: SIMPLE, namespace: team-a}` + `via: egress`",
    ),
    Rule(
        "gateway-host-conflict",
        ERROR,
        "one host and port via two gateways",
        "`a.com 443` via `egress` and via `egress-b`",
    ),
    Rule(
        "gateway-and-direct",
        ERROR,
        "one host and port via a gateway in one service and direct in another",
        "`a.com 443` via `egress` and in a service without `via`",
    ),
    Rule(
        "gateway-mtls-unsupported",
        ERROR,
        "`mtls: true` on a gateway with `api: gateway-api`",
        "`{api: gateway-api, mtls: true}`",
    ),
    # Per-namespace allowlists (issue #14)
    Rule(
        "allow-unknown-service",
        ERROR,
        "a namespace's or workload's `allow` naming no service (with a did-you-mean)",
        "`namespaces: {shop: {allow: [strpe]}}`",
    ),
    Rule(
        "allow-not-exported",
        ERROR,
        "an allowed service whose own `exportTo` hides it from the namespace",
        "`allow: [payroll]` in `shop`, payroll `exportTo: [hr]`",
    ),
    Rule(
        "namespace-host-conflict",
        ERROR,
        "two services visible in one namespace on the same host and port (Istio keeps one "
        "silently)",
        "`allow: [a, b]`, both `api.example.com:443`",
    ),
    Rule(
        "namespace-import-overlap",
        ERROR,
        "an allowed host that overlaps the host of a service the namespace does not allow: "
        "its Sidecar imports both (use `defaults: {exportTo: listed}`)",
        "`allow: [google]` (`*.googleapis.com`), storage.googleapis.com not allowed",
    ),
    Rule(
        "network-policy-direct",
        ERROR,
        "a `networkPolicy: true` namespace allowed a direct service the policy cannot "
        "name by address (reachable only through a gateway, or by the `addresses` of a "
        "NONE service or the IP endpoints of a STATIC one)",
        "`allow: [stripe]`, stripe with no `via` and no `addresses`",
    ),
    Rule(
        "network-policy-gateway",
        ERROR,
        "`networkPolicy: true` in a namespace where an egress gateway runs (it cuts the gateway)",
        "gateway `egress` in istio-egress, `namespaces: {istio-egress: {networkPolicy: true}}`",
    ),
    Rule(
        "network-policy-no-cluster",
        ERROR,
        "`networkPolicy: true` in an environment without `cluster.podCIDRs` and "
        "`cluster.serviceCIDRs`",
        "`networkPolicy: true`, no `cluster:` in the environment file",
    ),
    Rule(
        "namespace-is-entry-namespace",
        ERROR,
        "the environment's own namespace listed under `namespaces` (its `./*` would import "
        "every entry)",
        "`namespaces: {istio-system: …}`",
    ),
    Rule(
        "workload-name-invalid",
        ERROR,
        "a workload allowlist name that is not a DNS-1123 label, or `default` / "
        "`egressctl-egress` (it names the workload's Sidecar)",
        "`workloads: {Exporter_1: …}`",
    ),
    Rule(
        "workload-selector-invalid",
        ERROR,
        "a workload allowlist selector with a key that is no label key or a value that is "
        "no label value (it becomes a workloadSelector and a podSelector)",
        '`selector: {app: "{{ .Release.Name }}"}`',
    ),
    Rule(
        "allow-star-mixed",
        ERROR,
        "`*` listed with service names in one allowlist (the names would be ignored)",
        '`allow: ["*", stripe]`',
    ),
    Rule(
        "namespace-reserved",
        ERROR,
        "kube-system, kube-public or kube-node-lease listed, or used for a gateway, gateway "
        "chart or the ambient egress namespace (a lockdown there breaks the cluster)",
        "`namespaces: {kube-system: …}`",
    ),
    Rule(
        "gateway-subsets-name-taken",
        ERROR,
        "a service named like an `api: istio` gateway's subset DestinationRule "
        "(`<gateway>-subsets`): two objects would share one name",
        "`services: {egress-subsets: …}` with `gateways: {egress: …}`",
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
    # Gateway charts (`istio.gateways`, issue #13)
    Rule(
        "gateway-chart-invalid",
        ERROR,
        "a gateway chart path or name helm could take for a flag (or empty)",
        "`chart: --set=x`",
    ),
    Rule(
        "gateway-release-invalid",
        ERROR,
        "a gateway chart release that is not a Helm release name",
        "`release: Egress_GW`",
    ),
    Rule(
        "gateway-namespace-invalid",
        ERROR,
        "a gateway chart namespace that is not a DNS-1123 label",
        "`namespace: istio egress`",
    ),
    Rule("gateway-values-invalid", ERROR, "a gateway values file path starting '-'", "`-f`"),
    Rule("gateway-repo-invalid", ERROR, "a gateway chart repo that is no URL", "`repo: charts`"),
    Rule("gateway-version-invalid", ERROR, "a gateway chart version that is not one", "`-1`"),
    Rule(
        "gateway-version-without-repo",
        ERROR,
        "a gateway chart `version` without `repo`",
        "`{chart: ./gateway, version: 1.28.0}`",
    ),
    Rule(
        "gateway-chart-duplicate",
        ERROR,
        "two gateway charts (or a gateway chart and the Istio chart) with one release in one "
        "namespace",
        "`release: istiod` in istio-system",
    ),
    Rule(
        "gateway-no-chart",
        ERROR,
        "a gateway (api: istio) whose selector matches no gateway chart in the environment "
        "(none runs in its namespace)",
        "`namespace: istio-egress` with charts only in istio-system",
    ),
    Rule(
        "gateway-charts-none",
        WARNING,
        "gateways (api: istio) in an environment that names no gateway chart",
        "`gateways: {egress: {}}` and no `istio.gateways`",
    ),
    Rule(
        "gateway-chart-selector",
        ERROR,
        "a gateway chart whose rendered pods' labels do not match the selector of a gateway "
        "in its namespace",
        "`release: egress-gw` (pods `istio: egress-gw`) for `selector: {istio: egressgateway}`",
    ),
    Rule(
        "gateway-chart-service",
        ERROR,
        "a gateway's `service` that the gateway chart in its namespace does not render",
        "`service: istio-egressgateway` with `release: egress`",
    ),
    Rule(
        "gateway-chart-service-ports",
        ERROR,
        "a port the sidecars send to a gateway (80 for HTTP, each TLS port) that its "
        "chart's Service does not expose",
        "`8443/tls` via a gateway whose Service has ports 15021, 80, 443",
    ),
    Rule(
        "gateway-chart-loadbalancer",
        ERROR,
        "a gateway chart rendering a Service of type LoadBalancer (Istio's default)",
        "no `service: {type: ClusterIP}` in the gateway's values",
    ),
    Rule(
        "gateway-chart-no-pods",
        ERROR,
        "a gateway chart whose render holds no Deployment or DaemonSet",
        "`kind: None` in the chart's values",
    ),
    # The ambient data plane (`dataplane: ambient`, #15)
    Rule(
        "dataplane-invalid", ERROR, "a `dataplane` other than sidecar or ambient", "`dataplane: x`"
    ),
    Rule(
        "ambient-unused",
        WARNING,
        "`ambient:` in an environment whose data plane is sidecar",
        "`ambient: {namespace: egress}` without `dataplane: ambient`",
    ),
    Rule(
        "ambient-namespace-invalid",
        ERROR,
        "an `ambient.namespace` that is not a namespace name",
        "`namespace: Istio_Egress`",
    ),
    Rule(
        "ambient-waypoint-invalid",
        ERROR,
        "an `ambient.waypoint` that is not a DNS label",
        "`waypoint: egress.waypoint`",
    ),
    Rule(
        "ambient-enrolled-duplicate",
        ERROR,
        "a namespace listed twice in `ambient.enrolled`",
        "`enrolled: [shop, shop]`",
    ),
    Rule(
        "ambient-enrolled-egress",
        ERROR,
        "the egress namespace listed in `ambient.enrolled`",
        "`enrolled: [istio-egress]`",
    ),
    Rule(
        "ambient-service-account-missing",
        ERROR,
        "a workload allowlist without `serviceAccount` in ambient (the waypoint knows pods "
        "by identity)",
        "`workloads: {exporter: {selector: {app: exporter}, allow: [s3]}}`",
    ),
    Rule(
        "workload-service-account-invalid",
        ERROR,
        "a workload's `serviceAccount` that is not a DNS-1123 subdomain",
        "`serviceAccount: Exporter_SA`",
    ),
    Rule(
        "ambient-capture",
        ERROR,
        "capture ranges with `dataplane: ambient` (ztunnel reads none)",
        "`capture: {include: [10.0.0.0/8]}`",
    ),
    Rule(
        "ambient-wildcard",
        ERROR,
        "a wildcard host the waypoint cannot enforce (opaque port, addresses, MESH_INTERNAL, "
        "or an Istio older than 1.28 for HTTP / 1.29 for TLS)",
        "`hosts: ['*.example.com']` with `ports: [5432/tcp]`",
    ),
    Rule(
        "ambient-originate-selector",
        ERROR,
        "TLS origination for some workloads or in one namespace (the waypoint originates for all)",
        "`originate: {mode: SIMPLE, workloadSelector: {app: a}}`",
    ),
    Rule(
        "ambient-via",
        WARNING,
        "`via` in ambient (every service leaves through the waypoint)",
        "`via: egress` with `dataplane: ambient`",
    ),
    Rule(
        "ambient-lockdown-unknown",
        ERROR,
        "REGISTRY_ONLY in ambient with no enrolled namespace known (no NetworkPolicy to render)",
        "no `namespaces:` and no `ambient.enrolled`",
    ),
    Rule(
        "ambient-cluster-ranges",
        ERROR,
        "lockdown NetworkPolicies in ambient without the cluster's ranges",
        "`dataplane: ambient` without `cluster.podCIDRs`",
    ),
    Rule(
        "dataplane-chart-invalid",
        ERROR,
        "an `istio.charts` entry whose chart, release, namespace, values or repo is refused",
        "`{chart: --set=x}`",
    ),
    Rule(
        "dataplane-chart-duplicate",
        ERROR,
        "two `istio.charts` entries with one release",
        "two entries of chart ztunnel",
    ),
    Rule(
        "dataplane-chart-mismatch",
        ERROR,
        "`istio.charts` renders that do not run the data plane (no ztunnel or istio-cni with "
        "ambient in ambient; ztunnel in a sidecar environment)",
        "the CNI chart without `profile: ambient`",
    ),
    Rule(
        "dataplane-mismatch",
        ERROR,
        "the environment's data plane and the istiod render disagree (PILOT_ENABLE_AMBIENT), "
        "or a wildcard TLS host without ENABLE_WILDCARD_HOST_SERVICE_ENTRIES_FOR_TLS",
        "`dataplane: ambient` with an istiod rendered without `profile: ambient`",
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
