"""Text to model: safe YAML, layering, positions, the typed reader, inventory and
environment files, the model.  Pure but for :mod:`~egressctl.inventory.load`, which reads
the files."""
