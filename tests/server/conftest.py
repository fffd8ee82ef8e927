"""The shared vLLM server fixtures (see ``tests/servers.py``) for the server tests."""

from servers import *  # noqa: F403
