"""Device log entries as the report shows them: mobile-mcp's JSON lines made readable, and which
lines belong to a step when the device's clock is not the agent's."""

from __future__ import annotations

import json
import time

from qa_agent.devices.logcapture import AFTER_S, BEFORE_S, LogRing, parse_entries


def _entry(at: float, message: str, level: str = "Error") -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) + f".{int(at % 1 * 1000):03d}"
    return json.dumps({"timestamp": stamp, "message": message, "level": level, "pid": 42, "tag": "PTT"})


def test_entries_become_readable_lines_and_other_text_is_kept_bounded() -> None:
    now = 1_800_000_000.25
    text = "\n".join([_entry(now, "release dropped"), "raw \x1b[31mline\x07", "No log entries received", ""])
    first, second = parse_entries(text, received_at=now + 1)
    assert first.text.endswith(" E PTT(42): release dropped") and first.device_at is not None
    assert abs(first.device_at - now) < 0.002
    assert second.text == "raw [31mline" and second.device_at is None  # control characters stripped
    assert len(parse_entries(json.dumps({"message": "x" * 5000}), now)[0].text) <= 1000


def test_a_device_clock_ahead_of_the_agent_is_corrected_by_the_largest_lead() -> None:
    step_start, step_end = 1_800_000_100.0, 1_800_000_110.0
    ahead = 3600.0  # the phone's clock is an hour ahead of the agent's
    ring = LogRing()
    # Each entry arrives 0.5 s after it was logged (agent's clock); its stamp is the phone's.
    logged = {"before": step_start - BEFORE_S - 3, "in": step_start + 4, "last": step_end + AFTER_S - 1}
    for message, at in logged.items():
        ring.add(parse_entries(_entry(at + ahead, message), received_at=at + 0.5))
    assert [line.rsplit(": ", 1)[1] for line in ring.window(step_start, step_end)] == ["in", "last"]


def test_lines_without_a_readable_time_are_placed_when_they_arrived() -> None:
    ring = LogRing()
    ring.add(parse_entries("plain text line", received_at=1_800_000_105.0))
    assert ring.window(1_800_000_100.0, 1_800_000_104.0) == ["plain text line"]
    assert ring.window(1_800_000_000.0, 1_800_000_001.0) == []
