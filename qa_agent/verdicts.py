"""Deterministic verdicts: what the step results prove, before any model is asked."""

from __future__ import annotations

from graph.state import ASSERTION_ACTIONS, Plan, StepResult, Verdict


def blocked(message: str, failure_class: str = "cannot_run") -> Verdict:
    return Verdict(result="blocked", justification=message, failure_class=failure_class)  # type: ignore[arg-type]


def stops_the_attempt(result: StepResult) -> bool:
    """A step that did not pass stops its lane and the attempt, except an inconclusive check: a check
    changes nothing on the device, so the steps after it still act on the premise the plan set up,
    and a later conclusive failure is still evidence (PTT-2's banner that stays after release is a
    defect whether or not a too-slow phone let us time its appearance)."""
    inconclusive = result.status == "blocked" and result.error_class == "transient"
    return result.status in ("failed", "blocked") and not (inconclusive and result.action in ASSERTION_ACTIONS)


def _evidence_line(result: StepResult) -> str:
    shot = f" [screenshot: {result.evidence.screenshot}]" if result.evidence and result.evidence.screenshot else ""
    return f"{result.step_id} on driver {result.driver} ({result.device}): {result.message}{shot}"


def uncovered(plan: Plan, results: list[StepResult]) -> list[int]:
    """Indexes of expected results that no passing assertion proves."""
    out = []
    for index in range(len(plan.verifications)):
        proving = [r for r in results if index in r.covers]
        if not proving or any(r.status != "passed" for r in proving):
            out.append(index)
    return out


def decide(plan: Plan, results: list[StepResult]) -> Verdict:
    """success only with evidence for every expected result; app defects fail; the rest blocks."""
    if not results:
        return blocked("no step was executed")
    ordered = sorted(results, key=lambda r: (r.ended_at, r.step_id))
    bad = [r for r in ordered if r.status in ("failed", "blocked")]
    if bad:
        stopping = [r for r in bad if stops_the_attempt(r)]  # else only inconclusive checks: blocked, transient
        first = next((r for r in stopping if r.status == "blocked"), None) or (stopping or bad)[0]
        evidence = [_evidence_line(r) for r in bad]
        if first.status == "blocked" or first.error_class == "cannot_run":
            return Verdict(
                result="blocked",
                justification=f"step {first.step_id} could not run: {first.message}",
                evidence=evidence,
                failure_class=first.error_class if first.error_class != "none" else "cannot_run",
            )
        if first.error_class == "app_defect":
            expected = ", ".join(repr(plan.verifications[i]) for i in first.covers) or repr(first.message)
            return Verdict(
                result="failure",
                justification=f"the app did not do what the ticket expects ({expected}): {first.message}",
                evidence=evidence,
                failure_class="app_defect",
            )
        return Verdict(
            result="blocked",
            justification=f"the plan could not be carried out at step {first.step_id}: {first.message}",
            evidence=evidence,
            failure_class="plan_defect",
        )
    if not plan.verifications:
        return blocked("the plan checks no expected result, so nothing proves the ticket", "plan_defect")
    missing = uncovered(plan, results)
    if missing:
        names = "; ".join(plan.verifications[i] for i in missing)
        return blocked(f"no evidence for expected result(s): {names}", "plan_defect")
    proofs = []
    for index, expected in enumerate(plan.verifications):
        proving = [r for r in ordered if index in r.covers]
        proofs.append(f"E{index + 1} {expected!r}: " + "; ".join(_evidence_line(r) for r in proving))
    count = len(plan.verifications)
    return Verdict(
        result="success",
        justification=f"all {count} expected result(s) verified on the devices",
        evidence=proofs,
    )
