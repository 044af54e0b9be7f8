"""The QA graph: ticket -> devices -> plan -> parallel lanes joined at barriers -> verify -> report."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import NodeError
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from graph.context import Context, context_of
from graph.executor import continue_or_report, lanes_for_segment
from graph.state import InputState, OutputState, QAState
from nodes.approve_plan import approve_plan
from nodes.barrier import barrier
from nodes.discover_devices import discover_devices
from nodes.fetch_ticket import after_fetch, fetch_ticket
from nodes.jira_agent import jira_agent, jira_agent_next
from nodes.jira_tools import jira_tools
from nodes.lane import LaneInput, LaneOutput, LaneState, lane_continues, lane_step
from nodes.planner import planner
from nodes.report import report
from nodes.restart_attempt import restart_attempt
from nodes.verifier import verifier
from qa_agent.verdicts import blocked


def after_planner(state: QAState, runtime: Runtime[Context]) -> list[Send] | str:
    """A plan waits for a person when APPROVE_PLAN is set; otherwise its first segment is sent."""
    if state.get("verdict") is None and context_of(runtime.context).approve_plan and not state.get("plan_approved"):
        return "approve_plan"
    return lanes_for_segment(state)


async def node_crashed(state: QAState, error: NodeError) -> Command[Literal["report"]]:
    """A bug or an unexpected exception in a node: the run ends blocked with a report, and the
    report node closes the run's connections (under the LangGraph server nothing else would)."""
    if error.node == "report":
        raise error.error
    message = f"internal error in {error.node}: {type(error.error).__name__}: {error.error}"
    return Command(goto="report", update={"verdict": blocked(message[:2000])})


def build_lane() -> CompiledStateGraph[LaneState, Context, LaneInput, LaneOutput]:
    lane = StateGraph(LaneState, input_schema=LaneInput, output_schema=LaneOutput, context_schema=Context)
    lane.add_node("step", lane_step)
    lane.add_edge(START, "step")
    lane.add_conditional_edges("step", lane_continues, ["step", END])
    return lane.compile(name="lane")


def build_builder() -> StateGraph[QAState, Context, InputState, OutputState]:
    g = StateGraph(QAState, input_schema=InputState, output_schema=OutputState, context_schema=Context)
    g.set_node_defaults(error_handler=node_crashed)
    g.add_node("fetch_ticket", fetch_ticket)
    g.add_node("jira_agent", jira_agent)
    g.add_node("jira_tools", jira_tools)
    g.add_node("discover_devices", discover_devices)
    g.add_node("planner", planner)
    g.add_node("approve_plan", approve_plan)
    g.add_node("lane", build_lane())
    g.add_node("barrier", barrier)
    g.add_node("restart_attempt", restart_attempt)
    g.add_node("verifier", verifier, destinations=("planner", "report"))
    g.add_node("report", report)

    g.add_edge(START, "fetch_ticket")
    g.add_conditional_edges("fetch_ticket", after_fetch, ["jira_agent", "discover_devices", "report"])
    g.add_conditional_edges("jira_agent", jira_agent_next, ["jira_tools", "discover_devices", "report"])
    g.add_edge("jira_tools", "jira_agent")
    g.add_conditional_edges("discover_devices", continue_or_report("planner"), ["planner", "report"])
    g.add_conditional_edges("planner", after_planner, ["approve_plan", "lane", "verifier", "report"])
    g.add_conditional_edges("approve_plan", lanes_for_segment, ["lane", "verifier", "report"])
    g.add_edge("lane", "barrier")
    g.add_conditional_edges("barrier", lanes_for_segment, ["lane", "verifier", "report", "restart_attempt"])
    g.add_conditional_edges("restart_attempt", lanes_for_segment, ["lane", "verifier", "report"])
    g.add_edge("report", END)
    return g


def build_graph(
    checkpointer: BaseCheckpointSaver[Any] | None = None,
) -> CompiledStateGraph[QAState, Context, InputState, OutputState]:
    """Compiled graph; `langgraph dev` needs it without a checkpointer, the CLI passes one."""
    return build_builder().compile(checkpointer=checkpointer, name="mobile-qa-agent")


graph = build_graph()
