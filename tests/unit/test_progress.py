from rich.console import Console

from qa_agent.progress import ProgressPrinter


def test_live_table_tracks_each_driver() -> None:
    console = Console(record=True, width=160, force_terminal=True, color_system=None)
    with ProgressPrinter(console, live=True) as progress:
        progress({"event": "step_start", "driver": 1, "device": "emu-1", "step": "S1", "action": "launch_app"})
        progress({"event": "step_start", "driver": 2, "device": "emu-2", "step": "S2", "action": "launch_app"})
        progress({"event": "step_end", "driver": 1, "device": "emu-1", "step": "S1", "status": "passed",
                  "duration_s": 0.1, "message": "ok"})  # fmt: skip
        progress({"event": "step_end", "driver": 2, "device": "emu-2", "step": "S2", "status": "failed",
                  "duration_s": 0.2, "message": "boom"})  # fmt: skip
        progress({"event": "barrier", "segment": 0, "segments": 3, "passed": 1, "not_passed": 1})
        table = progress.table()
    assert [progress.lanes[d].passed for d in (1, 2)] == [1, 0]
    assert progress.lanes[2].not_passed == 1
    out = console.export_text()
    assert "driver 1 emu-1 ▶ S1 launch_app()" in out and "■ S2 failed" in out
    assert table.row_count == 2 and "step group 1/3 done" in str(table.title)


def test_plain_lines_without_a_terminal() -> None:
    console = Console(record=True, width=160, force_terminal=False)
    with ProgressPrinter(console) as progress:
        assert progress._live is None
        progress({"event": "run_start", "run_id": "R-1", "ticket_key": "K-1"})
        assert "resume with" not in console.export_text()  # no checkpoint yet
        progress({"event": "checkpointed", "run_id": "R-1"})
    assert "resume with: qa-agent resume R-1" in console.export_text()


def test_device_text_with_brackets_is_printed_verbatim() -> None:
    console = Console(record=True, width=200, force_terminal=False)
    with ProgressPrinter(console) as progress:
        progress({"event": "step_end", "driver": 1, "device": "d", "step": "S1", "status": "failed",
                  "duration_s": 0.1, "message": "on screen: [bold]x[/bold] [screenshot: a.jpg]"})  # fmt: skip
    assert "on screen: [bold]x[/bold] [screenshot: a.jpg]" in console.export_text()
