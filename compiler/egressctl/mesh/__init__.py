"""model → Istio objects and Helm values (pure): the planner, the values emitter, the
small YAML writer.  Gateways, namespaces and ambient join here."""
