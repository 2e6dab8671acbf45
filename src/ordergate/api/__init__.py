"""The HTTP/WS edge: the app factory (``api.app.create_app``), error mapping, health, and
(later) one package per dialect.

Nothing is imported here, so that a dialect module can import ``api.errors`` or ``api.deps``
while ``api.app`` is importing it.
"""

__all__: list[str] = []
