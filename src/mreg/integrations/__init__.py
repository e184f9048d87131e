"""Readers for the systems versions are trained in; each is an optional extra, imported only by
the command option that uses it (``register --from-metaflow``)."""
