from pathlib import Path

import pytest
import yaml

from qa_agent.planning.gherkin import GherkinError, compile_gherkin, looks_like_gherkin

TICKETS = Path(__file__).resolve().parents[2] / "examples" / "tickets"


def details(key: str) -> str:
    data = yaml.safe_load((TICKETS / f"{key}.yaml").read_text())
    return str(data["custom_fields"]["customfield_11504"]["value"])


def test_ptt_while_step_puts_both_users_in_one_segment() -> None:
    plan = compile_gherkin(details("PTT-1"))
    segments = plan.segments()
    together = next(seg for seg in segments if any(s.action == "long_press_text" for s in seg))
    assert {(s.driver, s.action) for s in together} == {(1, "long_press_text"), (2, "assert_visible")}
    hold = next(s for s in together if s.action == "long_press_text")
    assert hold.args == {"target": "Talk", "duration_s": 4.0}
    # the check's window opens when the hold starts (not the segment) and lasts the ticket's bound
    check = next(s for s in together if s.action == "assert_visible")
    assert check.args == {"text": "Alice is talking", "timeout_s": 3.0, "during": hold.id}
    # the release check waits for the hold to end: it is in a later segment
    release = next(s for s in plan.steps if s.action == "assert_not_visible")
    assert segments.index(next(seg for seg in segments if release in seg)) > segments.index(together)
    assert plan.drivers_needed == 2
    assert len(plan.verifications) == 2


def test_given_block_of_several_users_runs_in_parallel_segment() -> None:
    plan = compile_gherkin(details("CALL-1"))
    first = plan.segments()[0]
    assert [(s.driver, s.action) for s in first] == [(1, "launch_app"), (2, "launch_app"), (3, "launch_app")]
    incoming = [s for s in plan.steps if s.args.get("text") == "Incoming call from Alice"]
    assert sorted(s.driver for s in incoming) == [2, 3]
    assert all(s.covers == [0] for s in incoming)


def test_driver_switch_inserts_a_barrier() -> None:
    plan = compile_gherkin(
        'Given user1 opens the app\nWhen user1 taps "Send"\nThen user2 sees "Hello" within 4 seconds\n'
    )
    drivers_per_segment = [{s.driver for s in seg} for seg in plan.segments()]
    assert drivers_per_segment == [{1}, {2}]
    assert plan.steps[-1].args == {"text": "Hello", "timeout_s": 4.0}


def test_single_user_steps_share_one_segment_without_barriers() -> None:
    plan = compile_gherkin(details("LOGIN-1"))
    assert len(plan.segments()) == 1
    typed = [s for s in plan.steps if s.action == "type_into"]
    assert [s.args for s in typed] == [
        {"text": "alice@example.com", "target": "Email"},
        {"text": "secret", "target": "Password"},
    ]


@pytest.mark.parametrize(
    ("line", "action", "args"),
    [
        ('user2 double taps "Photo"', "double_tap_text", {"target": "Photo"}),
        ("user1 presses back", "back", {}),
        ("user1 presses home", "home", {}),
        ("user1 presses enter", "press_button", {"button": "ENTER"}),
        ("user1 swipes left", "swipe", {"direction": "left"}),
        ("user1 waits 2 seconds", "wait", {"seconds": 2.0}),
        ('user1 types "hello"', "type_text", {"text": "hello"}),
        ('user1 launches "com.x.y"', "launch_app", {"package": "com.x.y"}),
        ("user1 closes the app", "terminate_app", {}),
        (
            'user1 should not see "Error" within 2 seconds',
            "assert_not_visible",
            {"text": "Error", "timeout_s": 2.0},
        ),
    ],
)
def test_vocabulary(line: str, action: str, args: dict[str, object]) -> None:
    plan = compile_gherkin(f"When {line}")
    assert (plan.steps[0].action, plan.steps[0].args) == (action, args)


def test_unknown_step_names_the_line_and_the_vocabulary() -> None:
    with pytest.raises(GherkinError, match=r"line 2: cannot compile step 'juggles three balls' for user1.*Known steps"):
        compile_gherkin("Given user1 opens the app\nWhen user1 juggles three balls\n")


def test_free_text_is_not_gherkin() -> None:
    assert not looks_like_gherkin(details("PTT-4"))
    assert looks_like_gherkin(details("PTT-1"))


def test_checks_by_different_users_share_a_segment_but_actions_do_not() -> None:
    plan = compile_gherkin(
        'Given user1 opens the app\nAnd user2 opens the app\nWhen user1 sees "A"\nAnd user2 sees "B"\n'
        'When user2 taps "Send"\nThen user1 sees "C"\n'
    )
    shape = [[(s.driver, s.action) for s in seg] for seg in plan.segments()]
    assert shape == [
        [(1, "launch_app"), (2, "launch_app")],
        [(1, "assert_visible"), (2, "assert_visible")],
        [(2, "tap_text")],
        [(1, "assert_visible")],
    ]


def test_a_check_by_the_holding_user_is_not_concurrent() -> None:
    plan = compile_gherkin('Then while user1 holds "Talk" for 2 seconds, user1 sees text containing "Transmit"')
    assert plan.steps[1].args == {"text": "Transmit", "match": "contains", "timeout_s": 2.0}
