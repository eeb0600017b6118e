"""The checks of a hand-written trace (forward tangents, reverse adjoints), written once for both modes.

A trace is a dict from the lecture's variable names ("v_-1", "v_0", ...) to numbers. Its observer
reads it with string keys; a trace function is also called at a fixed probe point, whose trace a
unit reads only when the trace is wrong (to tell which rule was broken). The unit's `judge` does
the comparing: `judge(call, trace, probe)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from autograder.checks.kit.case import Case
from autograder.runtime import Observation


class TraceObservation(TypedDict):
    """What the observer of a trace function hands over: the trace, and the probe's (or None)."""

    trace: Any
    probe: dict[str, float] | None


TraceJudge = Callable[[str, Any, Any], None]
"""judge(call, trace, probe): raises `CheckFailure` when the trace is wrong."""


def keyed(trace: Any) -> Any:
    """The trace with string keys (a dict), or whatever came back."""
    return {str(k): v for k, v in trace.items()} if isinstance(trace, dict) else trace


def check_trace_dict(name: str, trace: Any, judge: TraceJudge) -> None:
    """Check a trace given as a dict (the lecture's example, filled in by hand)."""
    __tracebackhide__ = True
    Case(name).run(lambda: keyed(trace), lambda obs: judge(name, obs.value, None))


def check_trace_function(call: str, run: Callable[[], Any], probe: Callable[[], Any], judge: TraceJudge) -> None:
    """Check one call of a trace function (`run`), with `probe` its call at the diagnosis point."""
    __tracebackhide__ = True

    def observe() -> TraceObservation:
        trace = keyed(run())
        try:  # the diagnosis probe: read only when the trace is wrong
            probed: dict[str, float] | None = {str(k): float(v) for k, v in probe().items()}
        except Exception:
            probed = None
        return {"trace": trace, "probe": probed}

    def judged(obs: Observation) -> None:
        value = obs.value if isinstance(obs.value, dict) else {}
        judge(call, value.get("trace"), value.get("probe"))

    Case(call).run(observe, judged)
