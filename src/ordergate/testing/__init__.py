"""A test kit for bot authors: ``Sandbox``, a real ordergate server under the test's
control, and the pytest plugin that hands one to each test as the ``sandbox`` fixture."""

from ordergate.testing.sandbox import DEFAULT_START, Sandbox

__all__ = ["DEFAULT_START", "Sandbox"]
