"""The run engine (pure: no I/O, no Redis, no user code): the compiled graph of a DAG, the
state machine of one run, trigger rules and retry decisions.

It sits above the SDK and the DAG loader and below everything else; it imports nothing from
``queue``, the services, ``api`` or ``cli`` (``[tool.importlinter]`` in pyproject.toml).
"""
