"""ordergate: a self-hosted order-management server with a simulated exchange."""

__all__ = ["__version__"]

__version__ = "0.1.0"
