"""The server side of lift-dspy: a managed vLLM process, model provisioning and ``doctor``.

Nothing here starts a process or imports torch/vLLM at import time.
"""

from lift_dspy.server.default import default_server, stop_default_server
from lift_dspy.server.doctor import DoctorReport, doctor
from lift_dspy.server.models import ModelPrepareError, prepare_model, resolve_model
from lift_dspy.server.process import ManagedServer, Server, serve, start_server

__all__ = [
    "DoctorReport",
    "ManagedServer",
    "ModelPrepareError",
    "Server",
    "default_server",
    "doctor",
    "prepare_model",
    "resolve_model",
    "serve",
    "start_server",
    "stop_default_server",
]
