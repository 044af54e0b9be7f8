import pytest

from graph.context import ConfigError, load_context
from graph.state import Plan, Step, StepResult
from qa_agent.devices.calls import SAFE_TOOLS, inject_arguments
from qa_agent.devices.results import classify_error, truncate
from qa_agent.planning.validate import validate_plan
from qa_agent.verdicts import decide

SCHEMAS = {
    "mobile_launch_app": {"inputSchema": {"properties": {"device": {}, "packageName": {}}}},
    "mobile_list_available_devices": {"inputSchema": {"properties": {"noParams": {}}}},
}


def test_injection_follows_the_schema() -> None:
    args = inject_arguments("mobile_launch_app", {}, SCHEMAS["mobile_launch_app"], "emu-1", "com.a")
    assert args == {"device": "emu-1", "packageName": "com.a"}
    # an old server that requires noParams gets it, a new one does not
    assert inject_arguments(
        "mobile_list_available_devices", {}, SCHEMAS["mobile_list_available_devices"], None, None
    ) == {"noParams": {}}
    assert inject_arguments("mobile_list_available_devices", {}, {"inputSchema": {"properties": {}}}, None, None) == {}
    # an explicit value is never overwritten
    assert (
        inject_arguments("mobile_launch_app", {"packageName": "x.y"}, SCHEMAS["mobile_launch_app"], "d", "com.a")[
            "packageName"
        ]
        == "x.y"
    )


def test_validation_names_each_problem() -> None:
    plan = Plan(
        steps=[
            Step(id="S1", driver=1, action="launch_app"),
            Step(id="S2", driver=1, action="fly"),
            Step(id="S3", driver=2, action="tool", args={"name": "mobile_uninstall_app"}),
            Step(id="S4", driver=2, action="tap_text"),
        ]
    )
    errors = validate_plan(plan, server_tools={}, allowed=SAFE_TOOLS, packages={1: None, 2: None})
    text = "\n".join(errors)
    assert "S1" in text and "missing package name" in text and "DRIVER1_PACKAGE" in text
    assert "S2" in text and "unknown action" in text
    assert "S3" in text and "QA_ALLOW_UNSAFE_TOOLS" in text
    assert "S4" in text and "missing argument(s) target" in text


def test_validation_of_match_modes_and_concurrent_checks() -> None:
    plan = Plan(
        steps=[
            Step(id="S1", driver=1, action="long_press_text", args={"target": "Talk", "match": "fuzzy"}),
            Step(id="S2", driver=2, action="assert_visible", args={"text": "(", "match": "regex", "during": "S1"}),
            Step(id="S3", driver=2, action="assert_visible", args={"text": "x", "during": "S2"}),
            Step(id="S4", driver=1, action="assert_visible", args={"text": "x", "during": "S1"}),
        ]
    )
    errors = validate_plan(plan, server_tools={}, allowed=SAFE_TOOLS, packages={1: None, 2: None})
    assert [e.split(":")[0] for e in errors] == [
        "step S1 (driver 1, long_press_text)",
        "step S2 (driver 2, assert_visible)",
        "step S3 (driver 2, assert_visible)",
        "step S4 (driver 1, assert_visible)",
    ]
    assert "match must be one of exact, contains, regex, got 'fuzzy'" in errors[0]
    assert "invalid regular expression" in errors[1]
    assert "during must name a" in errors[2] and "during must name a" in errors[3]


def test_validation_of_state_checks_and_scrolling() -> None:
    plan = Plan(
        steps=[
            Step(id="S1", driver=1, action="assert_state", args={"target": "Sounds", "state": "on"}),
            Step(
                id="S2", driver=1, action="assert_state", args={"target": "Sounds", "state": "checked", "value": "yes"}
            ),
            Step(id="S3", driver=1, action="assert_state", args={"state": "enabled"}),
            Step(id="S4", driver=1, action="scroll_to", args={"target": "Privacy", "direction": "left"}),
            Step(id="S5", driver=1, action="assert_state", args={"target": "Save", "state": "enabled", "value": False}),
            Step(id="S6", driver=1, action="scroll_to", args={"target": "Privacy", "direction": "up"}),
            Step(id="S7", driver=1, action="hide_keyboard"),
        ]
    )
    errors = validate_plan(plan, server_tools={}, allowed=SAFE_TOOLS, packages={1: None})
    assert len(errors) == 4, errors
    assert "state must be one of checked, enabled, selected, focused, got 'on'" in errors[0]
    assert "value must be true or false, got 'yes'" in errors[1]
    assert "step S3" in errors[2] and "missing argument(s) target" in errors[2]
    assert "step S4" in errors[3] and "a scroll_to direction is up or down" in errors[3]


def _result(step: str, status: str, error_class: str = "none", covers: list[int] | None = None) -> StepResult:
    return StepResult(
        step_id=step,
        driver=1,
        action="x",
        status=status,
        error_class=error_class,
        covers=covers or [],  # type: ignore[arg-type]
        started_at=1,
        ended_at=2,
    )


def test_verdicts_follow_error_classes() -> None:
    plan = Plan(steps=[Step(id="S1", driver=1, action="wait")], verifications=["banner shows"])
    assert decide(plan, [_result("S1", "passed", covers=[0])]).result == "success"
    failure = decide(plan, [_result("S1", "failed", "app_defect", [0])])
    assert failure.result == "failure" and "banner shows" in failure.justification
    plan_defect = decide(plan, [_result("S1", "failed", "plan_defect")])
    assert (plan_defect.result, plan_defect.failure_class) == ("blocked", "plan_defect")
    assert decide(plan, [_result("S1", "passed")]).result == "blocked"  # nothing proves the expectation
    assert decide(plan, []).result == "blocked"


def test_error_classes() -> None:
    assert classify_error("Error: adb: device offline") == "transient"
    assert classify_error('Device "x" not found. Use the ... Please fix the issue and try again.') == "cannot_run"
    assert classify_error("Error: something unexpected") == "plan_defect"


def test_truncation_says_what_was_cut() -> None:
    text = "\n".join(str(i) for i in range(100))
    out = truncate(text, 10_000, 10)
    assert out.endswith("[truncated: 90 more lines]")
    assert truncate("x" * 500, 100, 10).endswith("[truncated: 400 more characters]")


def test_bad_args_json_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOBILE_MCP_ARGS_JSON", "[not json")
    with pytest.raises(ConfigError, match="MOBILE_MCP_ARGS_JSON is not valid JSON"):
        load_context()
    monkeypatch.setenv("MOBILE_MCP_ARGS_JSON", '{"a": 1}')
    with pytest.raises(ConfigError, match="JSON list of strings"):
        load_context()


def test_indexed_variables_for_any_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_DEVICE_DRIVER7", "emulator-9999")
    monkeypatch.setenv("DRIVER12_PACKAGE", "com.twelve")
    monkeypatch.setenv("GLOBAL_PACKAGE", "com.global")
    ctx = load_context()
    assert ctx.force_devices[7] == "emulator-9999"
    assert ctx.package_for(12) == "com.twelve" and ctx.package_for(3) == "com.global"


def test_summary_headings_follow_prompt_lang() -> None:
    from graph.state import TicketSummary
    from nodes.report import summary_text

    summary = TicketSummary(key="K-1", title="T", expected_results=["a", "b"], inputs=["x"])
    fr = summary_text(summary, "fr")
    assert "- Titre: T" in fr and "- Résultats attendus: a; b" in fr and "- Données (inputs/valeurs): x" in fr
    assert "- Expected results: a; b" in summary_text(summary, "en")


def test_waits_and_windows_are_bounded() -> None:
    """`within 100000000 seconds` would hold the devices (and a batch's leases) for years."""
    from qa_agent.planning.gherkin import compile_gherkin

    plan = compile_gherkin(
        'Given user1 opens the app\nWhen user1 waits 100000000 seconds\nThen user1 sees "Home" within 90000 seconds\n'
    )
    plan.steps.append(Step(id="S9", driver=1, action="long_press_text", args={"target": "x", "duration_s": "long"}))
    plan.steps.append(Step(id="S10", driver=1, action="assert_visible", args={"text": "x"}, timeout_s=601))
    errors = "\n".join(validate_plan(plan, server_tools={}, allowed=SAFE_TOOLS, packages={1: "com.a"}))
    assert "step S2 (driver 1, wait): seconds must be more than 0 and at most 600 seconds, got 1e+08" in errors
    assert "step S3 (driver 1, assert_visible): timeout_s must be more than 0 and at most 600 seconds" in errors
    assert "step S9 (driver 1, long_press_text): duration_s must be a number of seconds, got 'long'" in errors
    assert "step S10 (driver 1, assert_visible): the step's timeout_s must be more than 0" in errors
