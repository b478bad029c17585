"""helm: template egressctl's chart and the team's Istio chart, recognise the Istio
generation, check and verify what was rendered, install helm itself."""
