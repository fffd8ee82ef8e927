"""The server side of lift-dspy: managed vLLM processes (one, or replicas behind vllm-router),
model provisioning and ``doctor``.

Nothing here starts a process or imports torch/vLLM at import time.
"""

from lift_dspy.server.default import default_server, stop_default_server
from lift_dspy.server.doctor import DoctorReport, doctor
from lift_dspy.server.models import ModelPrepareError, prepare_model, resolve_model
from lift_dspy.server.process import ManagedServer, Server, serve, start_server
from lift_dspy.server.replicas import ManagedReplicas, Replicas, Router, start_replicas, start_router

__all__ = [
    "DoctorReport",
    "ManagedReplicas",
    "ManagedServer",
    "ModelPrepareError",
    "Replicas",
    "Router",
    "Server",
    "default_server",
    "doctor",
    "prepare_model",
    "resolve_model",
    "serve",
    "start_replicas",
    "start_router",
    "start_server",
    "stop_default_server",
]
