"""Resilience suites: a real server process killed at random points (crash.py)."""
