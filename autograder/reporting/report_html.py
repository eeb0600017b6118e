"""The class report as one self-contained HTML page: `reports/<assignment>.html`.

No network is needed to view it: the style is inline and the plots (matplotlib) are embedded as
base64 PNG images. Plots: the score histogram, the class's outcome per exercise (full / partial /
zero / never reached), the most common mistakes. Tables: per exercise; the mistakes of the class
(each with its rule, the lecture section and, folded away in a <details>, the students who made it);
the students who need attention with the reasons.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from pathlib import Path

from autograder.reporting.report import ClassReport

FOLDER = "reports"
TOP_MISTAKES = 15

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 0.25em 0.6em; border-bottom: 1px solid #eee; }
th { text-align: left; background: #f4f4f4; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.rule { color: #444; } .where { color: #666; font-style: italic; } details summary { cursor: pointer; color: #06c; }
figure { margin: 1em 0; } img { max-width: 100%; }
"""


def _figure_png(figure) -> str:  # figure: matplotlib.figure.Figure
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def plots(report: ClassReport) -> dict[str, str]:
    """Base64 PNGs by name: "scores", "exercises", "mistakes" (the last only when a mistake was named)."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    images = {}
    figure = Figure(figsize=(7, 3))
    axes = figure.subplots()
    top = report.max_score or max(report.scores, default=1.0) or 1.0
    axes.hist(report.scores, bins=[top * i / 20 for i in range(21)], color="#4c72b0", edgecolor="white")
    axes.set_xlabel(f"score (of {top:g})")
    axes.set_ylabel("students")
    axes.set_title(f"{report.assignment}: scores of {len(report.scores)} graded submissions")
    images["scores"] = _figure_png(figure)

    names = [e.exercise for e in report.exercises]
    figure = Figure(figsize=(7, 0.35 * len(names) + 1.2))
    axes = figure.subplots()
    left = [0.0] * len(names)
    unreached = [sum(e.unreached.values()) for e in report.exercises]
    parts = [
        ("full", [e.full for e in report.exercises], "#55a868"),
        ("partial", [e.partial for e in report.exercises], "#dd8452"),
        ("zero", [e.zero - u for e, u in zip(report.exercises, unreached, strict=True)], "#c44e52"),
        ("never reached", unreached, "#8c8c8c"),
        ("not graded", [e.not_graded for e in report.exercises], "#dddddd"),
    ]
    for label, values, colour in parts:
        axes.barh(names, values, left=left, color=colour, label=label)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.invert_yaxis()
    axes.set_xlabel("students")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    axes.set_title("outcome per exercise")
    images["exercises"] = _figure_png(figure)

    mistakes = report.mistakes[:TOP_MISTAKES]
    if mistakes:
        figure = Figure(figsize=(8, 0.35 * len(mistakes) + 1.2))
        axes = figure.subplots()
        labels = [f"{m.exercise}: {m.diagnosis}" for m in mistakes]
        axes.barh(labels, [m.count for m in mistakes], color="#c44e52")
        axes.invert_yaxis()
        axes.set_xlabel("students")
        axes.set_title("the most common mistakes")
        images["mistakes"] = _figure_png(figure)
    return images


def _image(data: str, alt: str) -> str:
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def render(report: ClassReport) -> str:
    """The report page (a complete HTML document)."""
    e = html.escape
    n = report.students
    images = plots(report)
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(report.statuses.items()))
    out = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>Class report: {e(report.assignment)}</title>',
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Class report: {e(report.assignment)}</h1>",
        f"<p>{n} submissions ({e(statuses)}).",
    ]
    if report.scores:
        mean, median = statistics.mean(report.scores), statistics.median(report.scores)
        out.append(f" Score: mean {mean:.1f}, median {median:g} of {report.max_score:g}.")
    out.append("</p>")
    out.append(_image(images["scores"], "score histogram"))

    out.append("<h2>Exercises</h2>")
    out.append(_image(images["exercises"], "outcome per exercise"))
    out.append(
        "<table><tr><th>exercise</th><th>max</th><th>full</th><th>partial</th><th>zero</th>"
        "<th>never reached</th><th>points: students</th><th>unexplained failures</th></tr>"
    )
    for x in report.exercises:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(x.unreached.items()))
        never = f"{sum(x.unreached.values())}" + (f" ({reasons})" if reasons else "")
        if x.not_graded:
            never += f"; {x.not_graded} not graded"
        spread = ", ".join(f"{points}: {count}" for points, count in x.distribution.items())
        out.append(
            f"<tr><td>{e(x.exercise)}</td><td class=n>{x.max_points:g}</td><td class=n>{x.full}</td>"
            f"<td class=n>{x.partial}</td><td class=n>{x.zero}</td><td>{e(never)}</td><td>{e(spread)}</td>"
            f"<td class=n>{x.unexplained}</td></tr>"
        )
    out.append("</table>")

    mistakes = report.mistakes
    out.append(f'<h2 id="mistakes">The mistakes of the class ({len(mistakes)} named)</h2>')
    if "mistakes" in images:
        out.append(_image(images["mistakes"], "the most common mistakes"))
    out.append(
        "<table><tr><th>students</th><th>share</th><th>exercise</th>"
        "<th>mistake, the rule, where to revisit it</th></tr>"
    )
    for m in mistakes:
        where = f'<div class="where">See {e(m.where)}.</div>' if m.where else ""
        names = ", ".join(e(s) for s in m.students)
        out.append(
            f'<tr class="mistake"><td class=n>{m.count}</td><td class=n>{100 * m.share:.0f}%</td>'
            f"<td>{e(m.exercise)}</td><td><b>{e(m.diagnosis)}</b>"
            f'<div class="rule">{e(m.rule)}</div>{where}'
            f"<details><summary>{m.count} student{'s' if m.count != 1 else ''}</summary>{names}</details></td></tr>"
        )
    out.append("</table>")
    out.append(f"<p>Failures no known mistake explains: {report.unexplained}.</p>")

    out.append(f'<h2 id="attention">Students needing attention ({len(report.attention)})</h2>')
    if report.attention:
        out.append("<table><tr><th>student</th><th>status</th><th>why</th></tr>")
        for a in report.attention:
            reasons = "<br>".join(e(r) for r in a.reasons)
            out.append(f"<tr><td>{e(a.student)}</td><td>{e(a.status)}</td><td>{reasons}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>None.</p>")
    out.append("</body></html>")
    return "\n".join(out)


def write(root: Path, report: ClassReport) -> Path:
    """Write `reports/<assignment>.html` in the course; returns its path."""
    target = root / FOLDER / f"{report.assignment}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(report), encoding="utf-8")
    return target
