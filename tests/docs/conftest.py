"""Fixtures for the guide tests: the real vLLM servers of the end-to-end suite (``tiny_server``)."""

from lift_dspy.server.testing import *  # noqa: F403
