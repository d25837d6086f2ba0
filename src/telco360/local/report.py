"""The run report written next to the lake (``<lake>/_reports/run_<D>.md``, ``.html`` and ``.json``):
what a person opens instead of reading logs: step durations, files accepted and rejected by reason,
rows clean and quarantined by reason, and the staging snapshots Job B rebuilt (incremental or full, and
why) with their row counts."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import orjson

from telco360 import zones
from telco360.local.gate import GateSummary
from telco360.local.runner import RunResult, build_text, output_locations, rolled_forward
from telco360.reports import CleanReport, StageReport

Cell = str | int | float
Table = tuple[list[str], list[list[Cell]]]  # header, rows


@dataclass(frozen=True)
class Section:
    title: str
    table: Table
    note: str = ""


def report_base(lake: Path, run_date: str) -> Path:
    return lake / zones.REPORTS / f"run_{run_date}"


def _steps(result: RunResult) -> Section:
    return Section("Steps", (["step", "status", "seconds", "error"],
                             [[s.step, s.status, f"{s.seconds:.1f}", s.error or ""] for s in result.steps]))


def _gate(gate: GateSummary) -> list[Section]:
    counts: list[list[Cell]] = [[f"accepted: {ds}", n] for ds, n in gate.accepted_by_dataset().items()]
    counts += [[f"rejected: {reason}", n] for reason, n in gate.rejected_by_reason().items()]
    note = f"{len(gate.outcomes)} files under raw/: {len(gate.accepted)} archived, {len(gate.rejected)} rejected."
    files = Section("Files", (["outcome", "count"], counts), note=note)
    if not gate.rejected:
        return [files]
    rejected = Section("Rejected files", (["file", "reason", "line", "message"], [
        [o.source_key, o.verdict.reason.value if o.verdict.reason else "", o.verdict.line or "", o.verdict.message]
        for o in gate.rejected
    ]), note="Each has a .reason.json beside it under rejected/.")
    return [files, rejected]


def _clean(report: CleanReport) -> list[Section]:
    records = Section("Records (Job A)", (["dataset", "files", "rows read", "clean", "quarantined"], [
        [ds, d.files_read, d.rows_read, d.rows_clean, d.rows_quarantined] for ds, d in sorted(report.datasets.items())
    ]))
    reasons = report.quarantine_reasons()
    if not reasons:
        return [records]
    return [records, Section("Quarantine by reason", (["reason", "records"], [[r, n] for r, n in reasons.items()]))]


def _stage(report: StageReport) -> Section:
    later = [s.snapshot_date for s in rolled_forward(report)]
    note = f"Rebuilt {', '.join(report.rebuilt_dates) or 'nothing'}"
    if later:
        note += f": {', '.join(later)} rolled forward, since each later snapshot starts from the day before it"
    header = ["snapshot", "build", *zones.STAGING_TABLES, "seconds", "manifest"]
    rows: list[list[Cell]] = [
        [s.snapshot_date, build_text(s), *(s.row_counts.get(t, 0) for t in zones.STAGING_TABLES),
         f"{s.seconds:.1f}", s.manifest_key]
        for s in report.snapshots
    ]
    return Section("Staging snapshots (Job B)", (header, rows), note=note + ".")


def sections(result: RunResult) -> list[Section]:
    out = [_steps(result)]
    if result.gate:
        out += _gate(result.gate)
    if result.clean:
        out += _clean(result.clean)
    if result.stage:
        out.append(_stage(result.stage))
    if result.ok:
        out.append(Section("Outputs", (["zone", "where"], [[z, w] for z, w in output_locations(result).items()])))
    return out


def _title(result: RunResult) -> str:
    failed = result.failed_step
    outcome = "succeeded" if result.ok else f"FAILED at {failed.step}" if failed else "FAILED"
    return f"Pipeline run {result.run_date}: {outcome}"


def _md_cell(value: Cell) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(result: RunResult) -> str:
    lines = [f"# {_title(result)}", "",
             f"Lake `{result.lake.resolve()}`, started {result.started_at.isoformat(timespec='seconds')}, "
             f"from step `{result.from_step}`.", ""]
    for section in sections(result):
        header, rows = section.table
        lines += [f"## {section.title}", ""]
        if section.note:
            lines += [section.note, ""]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.3em .7em;text-align:left}th{background:#f3f3f3}
td.n{text-align:right;font-variant-numeric:tabular-nums}.failed{color:#b00020}.succeeded{color:#1b7f3b}"""


def _html_cell(value: Cell) -> str:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    css = ' class="n"' if numeric else f' class="{value}"' if value in ("failed", "succeeded") else ""
    return f"<td{css}>{html.escape(str(value))}</td>"


def to_html(result: RunResult) -> str:
    body = [f"<h1>{html.escape(_title(result))}</h1>",
            f"<p>Lake <code>{html.escape(str(result.lake.resolve()))}</code>, started "
            f"{html.escape(result.started_at.isoformat(timespec='seconds'))}, from step "
            f"<code>{html.escape(result.from_step)}</code>.</p>"]
    for section in sections(result):
        header, rows = section.table
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.note:
            body.append(f"<p>{html.escape(section.note)}</p>")
        body.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
        body.extend("<tr>" + "".join(_html_cell(v) for v in row) + "</tr>" for row in rows)
        body.append("</table>")
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(_title(result))}</title>'
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")


def to_json(result: RunResult) -> bytes:
    return orjson.dumps({
        "run_date": result.run_date,
        "lake": str(result.lake.resolve()),
        "from_step": result.from_step,
        "started_at": result.started_at.isoformat(timespec="seconds"),
        "ok": result.ok,
        "steps": [{"step": s.step, "status": s.status, "seconds": round(s.seconds, 3), "error": s.error,
                   "output": s.output.to_dict() if s.output is not None else None} for s in result.steps],
    }, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)


def write_report(result: RunResult) -> dict[str, Path]:
    """Write the Markdown, HTML and JSON reports; returns their paths by format."""
    base = report_base(result.lake, result.run_date)
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": base.with_suffix(".md"), "html": base.with_suffix(".html"), "json": base.with_suffix(".json")}
    paths["markdown"].write_text(to_markdown(result), encoding="utf-8")
    paths["html"].write_text(to_html(result), encoding="utf-8")
    paths["json"].write_bytes(to_json(result))
    return paths
