"""What did the class get wrong: the class-wide analysis of an assignment's recorded results.

`analyse(root, assignment)` reads `results/<assignment>/*.json` (written at grading time, see
`results.py`; nothing is executed again) and returns a `ClassReport`:

- per graded exercise (test cell): the points distribution, how many students have full, partial and
  zero points, how many never reached it (timeout, crash, not implemented) and how many were never
  graded (a flagged submission with no earlier grade);
- the mistakes of the class: per exercise, every named diagnosis with the students who made it, its
  count and share of the class, the rule and the lecture section (the texts the students saw), most
  frequent first, and the number of failures no known mistake explains;
- the students who need attention (flagged, failed, timed out, crashed) with the reasons.

`summary(report)` is the terminal's text: counts only, no student names. `to_json(report)` is the
same data for scripts (student names included, as in the HTML report).
"""

from __future__ import annotations

import statistics
import textwrap
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autograder.reporting import results


@dataclass
class MistakeCount:
    """One named mistake in one exercise, and who made it."""

    exercise: str
    diagnosis: str
    rule: str
    where: str
    students: list[str]
    share: float  # of the class (submissions with results)

    @property
    def count(self) -> int:
        return len(self.students)


@dataclass
class ExerciseStats:
    """How the class did on one graded test cell."""

    exercise: str
    notebook: str
    max_points: float
    distribution: dict[str, int]  # points (as text, e.g. "8") -> students
    full: int = 0
    partial: int = 0
    zero: int = 0
    unreached: dict[str, int] = field(default_factory=dict)  # reason -> students (part of `zero`/`partial`)
    not_graded: int = 0
    mistakes: list[MistakeCount] = field(default_factory=list)
    unexplained: int = 0  # failures (not passed, reached) whose message names no known mistake


@dataclass
class Attention:
    """A student whose submission needs the instructor's attention."""

    student: str
    status: str  # the pipeline's: graded, flagged, failed
    reasons: list[str]
    kind: str = ""  # flagged, failed, timeout, crashed (cells that never finished), or notes


@dataclass
class ClassReport:
    """The class-wide analysis of one assignment (see the module docstring)."""

    assignment: str
    students: int
    statuses: dict[str, int]
    max_score: float
    scores: list[float]
    exercises: list[ExerciseStats]
    attention: list[Attention]

    @property
    def mistakes(self) -> list[MistakeCount]:
        """Every (exercise, mistake) of the class, most frequent first."""
        found = [m for e in self.exercises for m in e.mistakes]
        return sorted(found, key=lambda m: (-m.count, m.exercise, m.diagnosis))

    @property
    def unexplained(self) -> int:
        return sum(e.unexplained for e in self.exercises)


def _points(value: float) -> str:
    return f"{value:g}"


def analyse(root: Path, assignment: str) -> ClassReport:
    """The class report of `assignment` from its recorded results (raises FileNotFoundError if none)."""
    recorded = results.load(root, assignment)
    if not recorded:
        raise FileNotFoundError(
            f"no results recorded in {results.FOLDER}/{assignment}/: run `autograder grade {assignment}` first"
        )
    class_size = len(recorded)
    order: dict[str, ExerciseStats] = {}
    made: dict[tuple[str, str], dict[str, Any]] = {}
    for result in recorded:
        for cell in result.cells:
            stats = order.setdefault(cell.cell_id, ExerciseStats(cell.cell_id, cell.notebook, cell.max_points, {}))
            key = _points(cell.points)
            stats.distribution[key] = stats.distribution.get(key, 0) + 1
            if cell.status == "passed":
                stats.full += 1
            elif cell.points > 0:
                stats.partial += 1
            else:
                stats.zero += 1
            if cell.status in results.UNREACHED:
                stats.unreached[cell.status] = stats.unreached.get(cell.status, 0) + 1
            elif cell.status != "passed":
                if cell.diagnosis:
                    entry = made.setdefault(
                        (cell.cell_id, cell.diagnosis), {"rule": cell.rule, "where": cell.where, "students": []}
                    )
                    entry["students"].append(result.student)
                else:
                    stats.unexplained += 1
    for stats in order.values():
        stats.not_graded = class_size - sum(stats.distribution.values())
        stats.distribution = dict(sorted(stats.distribution.items(), key=lambda item: float(item[0])))
    for (exercise, diagnosis), entry in made.items():
        students = sorted(set(entry["students"]))
        order[exercise].mistakes.append(
            MistakeCount(exercise, diagnosis, entry["rule"], entry["where"], students, len(students) / class_size)
        )
    for stats in order.values():
        stats.mistakes.sort(key=lambda m: (-m.count, m.diagnosis))
    attention = []
    for result in recorded:
        reasons = list(result.notes)
        troubles = [c for c in result.cells if c.status in ("timeout", "crashed")]
        if result.status in ("flagged", "failed") or troubles or reasons:
            if not reasons:
                reasons = [f"{c.cell_id}: {c.status}" for c in troubles]
            kind = result.status if result.status != "graded" else "/".join(sorted({c.status for c in troubles}))
            attention.append(Attention(result.student, result.status, reasons, kind or "notes"))
    graded = [r for r in recorded if r.score is not None]
    max_score = max((r.max_score or 0.0 for r in graded), default=0.0)
    return ClassReport(
        assignment=assignment,
        students=class_size,
        statuses=dict(Counter(r.status for r in recorded)),
        max_score=max_score,
        scores=sorted(float(r.score) for r in graded if r.score is not None),
        exercises=list(order.values()),
        attention=attention,
    )


def to_json(report: ClassReport) -> dict[str, Any]:
    """The report as plain data (what `autograder report --json` prints)."""
    data = asdict(report)
    for exercise in data["exercises"]:
        for mistake in exercise["mistakes"]:
            mistake["count"] = len(mistake["students"])
    data["mistakes"] = [{**asdict(m), "count": m.count} for m in report.mistakes]
    data["unexplained"] = report.unexplained
    return data


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.0f}%" if total else "-"


def summary(report: ClassReport, top: int | None = None) -> str:
    """The terminal's summary: counts only, never a student's name. `top` limits the mistakes listed."""
    n = report.students
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(report.statuses.items()))
    lines = [f"{report.assignment}: {n} submissions ({statuses})"]
    if report.scores:
        mean, median = statistics.mean(report.scores), statistics.median(report.scores)
        lines.append(f"  score: mean {mean:.1f}, median {median:g} of {report.max_score:g}")
    width = max([len(e.exercise) for e in report.exercises] + [8])
    lines.append(f"  {'exercise':<{width}}  max  full  partial  zero  never reached")
    for e in report.exercises:
        unreached = ", ".join(f"{count} {reason}" for reason, count in sorted(e.unreached.items()))
        never = f"{sum(e.unreached.values())}" + (f" ({unreached})" if unreached else "")
        if e.not_graded:
            never += f", {e.not_graded} not graded"
        lines.append(f"  {e.exercise:<{width}}  {e.max_points:>3g}  {e.full:>4}  {e.partial:>7}  {e.zero:>4}  {never}")
    mistakes = report.mistakes
    shown = mistakes if top is None else mistakes[:top]
    lines.append(f"  The mistakes of the class ({len(mistakes)} named, most frequent first):")
    for m in shown:
        lines.append(f"    {m.count:>3} ({_share(m.count, n):>4})  {m.exercise}: {m.diagnosis}")
        text = m.rule + (f" See {m.where}." if m.where else "")
        lines.extend(textwrap.wrap(text, width=100, initial_indent=" " * 16, subsequent_indent=" " * 16))
    if len(shown) < len(mistakes):
        lines.append(f"    ... {len(mistakes) - len(shown)} more in the HTML report")
    lines.append(f"  Failures no known mistake explains: {report.unexplained}")
    kinds = Counter(a.kind for a in report.attention)
    kinds_text = ", ".join(f"{count} {status}" for status, count in sorted(kinds.items()))
    lines.append(f"  Students needing attention: {len(report.attention)}" + (f" ({kinds_text})" if kinds else ""))
    return "\n".join(lines)
