"""The OpenAPI description of each resource, one module per handler module of :mod:`airlane.api`.

Each resource module exports ``SCHEMAS`` (its component schemas) and ``PATHS`` (its operations);
:mod:`airlane.api.openapi` assembles the served document from them. A new endpoint is described
in the module of its resource: its path there, and any schema it needs beside it.
:mod:`~airlane.api.spec.notation` has the builders, :mod:`~airlane.api.spec.common` the schemas
and parameters every resource shares (errors, paging).
"""
