"""Moving registries: push, fetch and clone between stores, and bundles for air-gapped sites.

``plan`` decides what to copy from two sides' listings (pure, no I/O); ``sides`` reads a
registry or a bundle as such a side; ``transfer`` copies in the order that keeps the
destination valid at every instant: blobs, then model.yaml, manifests, events, head.
"""
