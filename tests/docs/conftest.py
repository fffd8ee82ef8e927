"""Fixtures for the guide tests: the real vLLM servers of the end-to-end suite (``tiny_server``)."""

from servers import *  # noqa: F403
