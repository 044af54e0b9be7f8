"""How a step that cannot pass says so: its status, why (the error class) and a message naming the evidence."""

from __future__ import annotations

from graph.state import ErrorClass, StepStatus


class StepFailed(Exception):
    def __init__(self, status: StepStatus, error_class: ErrorClass, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_class = error_class
        self.message = message
