"""Pydantic models generated from ``schemas/json`` (see ``lift_dspy.schemas.regenerate``)."""
