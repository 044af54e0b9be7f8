"""The compiled graph has the nodes and edges the design describes."""

from __future__ import annotations

from graph.builder import build_graph, graph


def test_nodes_and_edges() -> None:
    drawn = graph.get_graph()
    nodes = set(drawn.nodes)
    assert {
        "fetch_ticket",
        "jira_agent",
        "jira_tools",
        "discover_devices",
        "planner",
        "approve_plan",
        "lane",
        "barrier",
        "verifier",
        "report",
    } <= nodes
    edges = {(e.source, e.target) for e in drawn.edges}
    expected = {
        ("__start__", "fetch_ticket"),
        ("fetch_ticket", "jira_agent"),
        ("fetch_ticket", "report"),
        ("jira_agent", "jira_tools"),
        ("jira_tools", "jira_agent"),
        ("jira_agent", "discover_devices"),
        ("fetch_ticket", "discover_devices"),
        ("discover_devices", "planner"),
        ("planner", "lane"),
        ("planner", "approve_plan"),
        ("approve_plan", "lane"),
        ("lane", "barrier"),
        ("barrier", "lane"),  # next segment
        ("barrier", "verifier"),
        ("verifier", "planner"),  # the replanning edge
        ("verifier", "report"),
        ("barrier", "restart_attempt"),  # a resumed run on devices it cannot trust
        ("restart_attempt", "lane"),
        ("report", "__end__"),
    }
    assert expected <= edges, expected - edges


def test_lane_is_a_subgraph_with_a_step_loop() -> None:
    lane = graph.get_graph(xray=True)
    assert any(n.startswith("lane:step") or n == "lane:step" for n in lane.nodes)


def test_exported_graph_has_no_checkpointer_for_langgraph_dev() -> None:
    assert graph.checkpointer is None
    assert build_graph().checkpointer is None
