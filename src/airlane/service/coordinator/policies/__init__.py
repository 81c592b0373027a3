"""The coordinator's policies, each behind the hooks of :mod:`..hooks`."""
