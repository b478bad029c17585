"""The egress inventory as a reviewer and an auditor read it (`egressctl report`): one
model (:mod:`.model`) and its renderings (Markdown, one self-contained HTML file, JSON).
Pure: the pipeline hands it the inventory, its effective policy and its findings."""
