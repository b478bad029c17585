"""kubectl with context, namespace and kubeconfig: what a cluster holds and what is
applied to it (live state, plan, apply, prune, diff, workloads, history, lock).  Knows
no CLI."""
