"""Error kinds of the simulator, mirroring how mobile-mcp 1.0.4 reports failures.

* :class:`ActionableError` -> text ``"<message>. Please fix the issue and try again."`` *without* ``isError``.
* :class:`ToolFailure` -> text ``"Error: <message>"`` *with* ``isError: true``.
* :class:`InputValidationError` -> the MCP SDK's schema-validation text, with ``isError: true``.
* :class:`ProtocolError` -> the MCP SDK's own text (e.g. an unknown tool), with ``isError: true``.
"""

from __future__ import annotations

ACTIONABLE_SUFFIX = ". Please fix the issue and try again."


class SimError(Exception):
    """Base class of every error a tool call can answer with."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def text(self) -> str:
        raise NotImplementedError

    @property
    def is_error(self) -> bool:
        return True


class ActionableError(SimError):
    """A user-fixable problem (mobile-mcp's ``ActionableError``): answered without ``isError``."""

    def text(self) -> str:
        return self.message + ACTIONABLE_SUFFIX

    @property
    def is_error(self) -> bool:
        return False


class ToolFailure(SimError):
    """Any other failure (mobilecli exiting non-zero, ...): ``Error: <message>`` with ``isError``."""

    def text(self) -> str:
        return f"Error: {self.message}"


class ProtocolError(SimError):
    """An error the MCP SDK itself reports (``MCP error <code>: ...``), with ``isError`` and no prefix."""

    def text(self) -> str:
        return self.message


class InputValidationError(SimError):
    """Arguments do not match the tool's input schema (reported by the MCP SDK in the real server)."""

    def __init__(self, tool: str, detail: str) -> None:
        super().__init__(detail)
        self.tool = tool

    def text(self) -> str:
        prefix = "MCP error -32602: Input validation error: Invalid arguments for tool"
        return f"{prefix} {self.tool}: {self.message}"


def command_failed(args: str, stderr: str) -> ToolFailure:
    """A failure worded like Node's ``execFileSync`` error for a mobilecli call."""
    return ToolFailure(f"Command failed: mobilecli {args}\n{stderr}\n")


def device_not_found(device: str) -> ActionableError:
    return ActionableError(
        f'Device "{device}" not found. Use the mobile_list_available_devices tool to see available devices.'
    )


def transient_failure(device: str) -> ToolFailure:
    """The injected transient fault (knob ``error_rate``)."""
    return ToolFailure(f"device offline: {device} is temporarily unreachable (simulated transient fault), try again")
