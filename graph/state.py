"""Graph state: pydantic models at the boundaries, a TypedDict for the channels.

Everything here is plain serialisable data, because checkpoints and the LangGraph
server store it. Live connections never appear in state (see `qa_agent.devices.pool`).
"""

from __future__ import annotations

import operator
import re
from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

Outcome = Literal["success", "failure", "blocked"]
StepStatus = Literal["passed", "failed", "blocked", "skipped"]
# Where a step's problem comes from; the verdict and the replanning edge follow from it.
# "interrupted": the agent stopped mid-attempt and the resumed run cannot trust the devices (the
# attempt restarts, see nodes/restart_attempt.py); it never reaches a verdict.
ErrorClass = Literal["none", "transient", "plan_defect", "app_defect", "cannot_run", "interrupted"]

SEMANTIC_ACTIONS: tuple[str, ...] = (
    "launch_app",
    "terminate_app",
    "tap_text",
    "double_tap_text",
    "long_press_text",
    "type_into",
    "type_text",
    "swipe",
    "press_button",
    "back",
    "home",
    "assert_visible",
    "assert_not_visible",
    "assert_state",
    "scroll_to",
    "hide_keyboard",
    "wait",
    "tool",
)
ASSERTION_ACTIONS: frozenset[str] = frozenset({"assert_visible", "assert_not_visible", "assert_state"})


class Ticket(BaseModel):
    """The ticket as the Jira server returned it (simplified mcp-atlassian shape)."""

    key: str
    summary: str = ""
    description: str = ""
    status: str = ""
    issue_type: str = ""
    priority: str = ""
    labels: list[str] = Field(default_factory=list)
    components: list[str] = Field(default_factory=list)
    test_details: str = ""
    test_details_source: str = Field(default="", description="The field or description section of the steps")
    comments: list[str] = Field(default_factory=list)
    raw: dict[str, Any] = Field(default_factory=dict, description="The server's JSON, for the report")


class TicketSummary(BaseModel):
    """What the planner needs from a ticket, whichever path produced it."""

    key: str
    title: str
    test_details: str = ""
    test_details_source: str = Field(default="", description="Where the steps came from, for the report")
    objective: str = ""
    platform: str = "Android"
    inputs: list[str] = Field(default_factory=list)
    expected_results: list[str] = Field(default_factory=list)
    package: str | None = None
    apps: dict[str, str] = Field(default_factory=dict, description="App names the ticket maps to packages")
    language: str = "en"
    is_gherkin: bool = False
    planning_note: str = Field(default="", description="How the summary was made when the LLM could not help")


class Step(BaseModel):
    """One step of a plan: data, never code. `action` is our vocabulary or `tool` (raw mobile-mcp)."""

    id: str
    driver: int = Field(ge=1)
    action: str
    args: dict[str, Any] = Field(default_factory=dict)
    expect: str = ""
    attempts: int | None = Field(default=None, ge=1, le=10)
    timeout_s: float | None = Field(default=None, gt=0)
    barrier: bool = Field(default=False, description="All lanes join after this step")
    covers: list[int] = Field(default_factory=list, description="Indexes of expected results it proves")
    source: Literal["", "llm"] = Field(default="", description="`llm`: planned by the model for a line no step matched")
    case: int = Field(default=0, ge=0, description="Index in Plan.cases of the test case the step belongs to")


class Plan(BaseModel):
    steps: list[Step]
    verifications: list[str] = Field(default_factory=list)
    drivers_needed: int = 1
    packages: dict[int, str] = Field(default_factory=dict)
    roles: dict[int, str] = Field(default_factory=dict, description="Who each user is (`user1 is Alice`)")
    cases: list[str] = Field(default_factory=list, description="Test case names when there are several")
    source: Literal["gherkin", "llm", "replay", "edited"] = "gherkin"
    notes: str = ""

    def segments(self) -> list[list[Step]]:
        """Cut the steps into segments; a segment ends after a step marked `barrier`."""
        out: list[list[Step]] = [[]]
        for step in self.steps:
            out[-1].append(step)
            if step.barrier:
                out.append([])
        return [seg for seg in out if seg]


class Evidence(BaseModel):
    screenshot: str | None = Field(default=None, description="Path of a saved screenshot")
    elements: str | None = Field(default=None, description="The element list seen, as text")


class StepResult(BaseModel):
    step_id: str
    driver: int
    device: str | None = None
    action: str
    status: StepStatus
    error_class: ErrorClass = "none"
    message: str = ""
    output: str = ""
    tool_calls: int = 0
    tries: int = 1
    started_at: float = 0.0
    ended_at: float = 0.0
    segment: int = 0
    attempt: int = 0
    evidence: Evidence | None = None
    covers: list[int] = Field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return round(self.ended_at - self.started_at, 3)


class Verdict(BaseModel):
    result: Outcome
    justification: str
    evidence: list[str] = Field(default_factory=list)
    failure_class: ErrorClass = "none"
    replan: bool = False


class DriverAssignment(BaseModel):
    driver: int
    device: str
    package: str | None = None


class DeviceInfo(BaseModel):
    """What the device server says about a device at discovery, for the report's header."""

    id: str
    name: str = ""
    model: str = ""
    platform: str = ""
    os_version: str = ""


class WorldIdentity(BaseModel):
    """What the run's steps act on, recorded at discovery and compared when a run resumes.

    `world_id` comes from the embedded simulator (`GET /sim/world`), which has a new id per
    world; other servers give none, so only their device ids are recorded and a world without
    an id is never proved to be the same. `process` is the agent process that recorded it.
    """

    world_id: str | None = None
    devices: list[str] = Field(default_factory=list)
    accounts: dict[str, str] = Field(default_factory=dict, description="device id -> account (user)")
    hosts: dict[str, str] = Field(default_factory=dict, description="device id -> lab host (a lab only)")
    hosts_apart: bool = Field(default=False, description="the lab's hosts are separate worlds (simulators)")
    labels: dict[str, list[str]] = Field(default_factory=dict, description="device id -> its labels (lab file)")
    process: str = ""


class DeviceLease(BaseModel):
    """What a run leased in a shared lab, so a process that resumes it can lease it again."""

    devices: list[str] = Field(default_factory=list)
    keys: list[str] = Field(default_factory=list, description="isolation keys (qa_agent/devices/isolation.py)")


class Attempt(BaseModel):
    """One plan-execute-verify round, kept for the report when a replan follows."""

    attempt: int
    plan: Plan
    results: list[StepResult]
    verdict: Verdict


class Usage(BaseModel):
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


def merge_usage(left: dict[str, Usage] | None, right: dict[str, Usage] | None) -> dict[str, Usage]:
    out = dict(left or {})
    for node, usage in (right or {}).items():
        prev = out.get(node, Usage())
        out[node] = Usage(
            calls=prev.calls + usage.calls,
            input_tokens=prev.input_tokens + usage.input_tokens,
            output_tokens=prev.output_tokens + usage.output_tokens,
        )
    return out


# A run id names the run's report folder: one path component, never `.` or `..`.
SAFE_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def safe_run_id(_old: str | None, new: str) -> str:
    """Reducer of `run_id`: every write (a node, a server client's state update or command) must
    be a safe folder name, so nothing can point the report folder elsewhere."""
    if not isinstance(new, str) or not SAFE_RUN_ID.fullmatch(new):
        raise ValueError(f"refused run_id {str(new)[:80]!r}: a run id is made by the agent (letters, digits, . _ -)")
    return new


class InputState(TypedDict, total=False):
    # No run id: the agent makes it (see nodes.fetch_ticket.run_id_for), an input never chooses a folder.
    ticket_key: str


class QAState(TypedDict, total=False):
    ticket_key: str
    run_id: Annotated[str, safe_run_id]
    messages: Annotated[list[AnyMessage], add_messages]
    ticket: Ticket
    summary: TicketSummary
    devices: list[str]
    device_info: dict[str, DeviceInfo]
    device_tools: dict[str, dict[str, Any]]
    world: WorldIdentity
    drivers: list[DriverAssignment]
    lease: DeviceLease | None
    fingerprint: str
    replay_plan: Plan | None
    plan: Plan
    plan_approved: bool
    segment: int
    # Parallel lanes append here; a replan resets it with Overwrite([]).
    results: Annotated[list[StepResult], operator.add]
    attempt: int
    history: Annotated[list[Attempt], operator.add]
    verdict: Verdict | None
    usage: Annotated[dict[str, Usage], merge_usage]
    report_dir: str
    writeback: str


class OutputState(TypedDict, total=False):
    ticket_key: str
    run_id: Annotated[str, safe_run_id]
    summary: TicketSummary
    plan: Plan
    drivers: list[DriverAssignment]
    results: Annotated[list[StepResult], operator.add]
    history: Annotated[list[Attempt], operator.add]
    verdict: Verdict | None
    usage: Annotated[dict[str, Usage], merge_usage]
    report_dir: str
    writeback: str


# Every model that can sit in a checkpoint (the serializer allows exactly these).
STATE_MODELS: tuple[type[BaseModel], ...] = (
    Ticket,
    TicketSummary,
    Step,
    Plan,
    Evidence,
    StepResult,
    Verdict,
    DriverAssignment,
    DeviceInfo,
    WorldIdentity,
    DeviceLease,
    Attempt,
    Usage,
)
