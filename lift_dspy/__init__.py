"""lift-dspy: DSPy programs with grammar-constrained output through vLLM's llguidance backend.

    import dspy, lift_dspy
    dspy.configure(lm=lift_dspy.GuidanceLM("my-model", api_base="http://localhost:8000/v1"))

Importing this package starts nothing and imports neither torch nor vLLM.
"""

from lift_dspy.constraints import constraint_for, output_model
from lift_dspy.constraints.fields import Grammar, Regex
from lift_dspy.constraints.from_schema import model_from_schema
from lift_dspy.errors import (
    BackendAuthError,
    BackendError,
    BackendRateLimitError,
    BackendServerError,
    BackendUnavailableError,
    ConstraintViolationError,
    InvalidRequestError,
    JSONModeRequiredError,
    LiftDSPyError,
    MissingExtraError,
    ModelPrepareError,
    ServerStartError,
    ToolArgumentError,
    ToolCallError,
    ToolchainError,
    ToolchainMissingError,
    TruncatedOutputError,
    UnconstrainedCallError,
    UnknownToolError,
    UnsupportedLanguageError,
    UnsupportedSchemaError,
)
from lift_dspy.lm import GuidanceLM

__version__ = "0.1.0"

__all__ = [
    "BackendAuthError",
    "BackendError",
    "BackendRateLimitError",
    "BackendServerError",
    "BackendUnavailableError",
    "ConstraintViolationError",
    "Grammar",
    "GuidanceLM",
    "InvalidRequestError",
    "JSONModeRequiredError",
    "LiftDSPyError",
    "MissingExtraError",
    "ModelPrepareError",
    "Regex",
    "ServerStartError",
    "ToolArgumentError",
    "ToolCallError",
    "ToolchainError",
    "ToolchainMissingError",
    "TruncatedOutputError",
    "UnconstrainedCallError",
    "UnknownToolError",
    "UnsupportedLanguageError",
    "UnsupportedSchemaError",
    "__version__",
    "constraint_for",
    "model_from_schema",
    "output_model",
]
