"""Traffic → observations → draft entries (issue #16): what the mesh already calls.

* :mod:`.accesslog` — one Envoy access-log line (Istio's default text format or its JSON
  encoding, with or without the ``kubectl logs --prefix`` prefix) → a :class:`.Record`;
* :mod:`.pods` — a pod name → its workload;
* :mod:`.observations` — records aggregated per destination, in bounded memory;
* :mod:`.sources` — files and stdin read line by line into observations;
* :mod:`.metrics` — Prometheus query results (Istio's standard metrics) → observations;
* :mod:`.draft` — observations the inventory does not cover → draft inventory entries;
* :mod:`.merge` — draft entries merged into an inventory file, comments and order kept;
* :mod:`.readiness` — observations the environment would block under REGISTRY_ONLY.

Pure but for :mod:`.sources`, which reads files: the cluster (``kubectl logs``) and
Prometheus are read in :mod:`egressctl.cluster`.  Every value from a log or a metric is
untrusted: hosts become hosts only once valid DNS names, and a bad line is counted and
skipped, never fatal.
"""
