"""What a delivery's shape was, in sentences: for `pledgeflow validate` and the run log.

One function over `DeliveryResult.counts`, so the steward's command and the nightly log say the same
thing: sheets read, the source profile, rows set aside (totals, repeated headers, blank), each declared
total and whether the rows agree with it, cancelled events, sidecar defaults, and the columns no
descriptor maps with the closest known column.
"""

from __future__ import annotations

INFO, WARNING = "info", "warning"


def totals_line(total: dict) -> tuple[str, str]:
    agrees = total["declared"] is not None and total["declared"] == (total["observed"] or 0)
    said = "agrees" if agrees else "DISAGREES"
    return (INFO if agrees else WARNING,
            f"totals row {total['source_row']} ({total['source_file']}): {total['column']} declared "
            f"{total['declared']}, rows sum to {total['observed'] or 0}, {said}")


def unknown_line(unknown: list[dict]) -> tuple[str, str]:
    said = "; ".join(f"{u['header']} → {u['suggestion']} ({u['column']})" if u.get("column") else f"{u['header']} (no close match)"
                     for u in unknown)
    return WARNING, f"{len(unknown)} column(s) no descriptor maps (add an alias in schemas/datasets/ to read one): {said}"


def shape_lines(counts: dict) -> list[tuple[str, str]]:
    """(level, sentence) about one delivery's shape; nothing for a plain file."""
    lines = []
    if counts.get("sheets"):
        lines.append((INFO, f"sheet(s) read: {', '.join(counts['sheets'])}"))
    if counts.get("skipped_sheets"):
        lines.append((WARNING, f"sheet(s) not read, no header among their first rows: {', '.join(counts['skipped_sheets'])}; "
                               "a cover sheet is fine, but if one continues the data, copy the header row onto it"))
    if counts.get("profile"):
        lines.append((INFO, f"source profile: {counts['profile']}"))
    aside = {"totals": counts.get("total_rows", 0), "repeated header": counts.get("repeated_header_rows", 0),
             "blank": counts.get("blank_rows", 0)}
    if any(aside.values()):
        lines.append((INFO, "set aside (not records): " + ", ".join(f"{n} {what} row(s)" for what, n in aside.items() if n)))
    lines += [totals_line(t) for t in counts.get("declared_totals") or []]
    if counts.get("cancelled_rows"):
        lines.append((INFO, f"{counts['cancelled_rows']} cancelled (e.g. 수강인원 0): valid, counted nowhere"))
    if counts.get("defaults_applied"):
        facts = dict(counts.get("delivery_facts") or [])
        lines.append((INFO, f"defaults from {facts.get('sidecar', 'the sidecar')}: {', '.join(counts['defaults_applied'])}"))
    if counts.get("unknown_columns"):
        lines.append(unknown_line(counts["unknown_columns"]))
    return lines
