"""End-to-end fixtures: real vLLM servers, shared for the session, at most two alive at once.

``tiny_server`` (random tiny model, guidance backend), ``smollm2_server`` (SmolLM2-135M-Instruct,
guidance) and ``xgrammar_tiny_server`` (tiny model, xgrammar backend) each yield a
`lift_dspy.server.process.Server` (``.api_base``, ``.model``). Mark tests that use them
``@pytest.mark.vllm``; run them with ``pytest -m vllm``, skip them with ``-m "not vllm"``.
"""

from servers import *  # noqa: F403
