"""The shared vLLM server fixtures (see ``lift_dspy.server.testing``) for the server tests."""

from lift_dspy.server.testing import *  # noqa: F403
