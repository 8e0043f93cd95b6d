"""A compiled requirement on one readable line, for the CLI, the Trials tab and by-hand checks."""

from __future__ import annotations

from typing import Any


def describe(req: dict[str, Any]) -> str:
    """A requirement (as ``to_dict`` gives it) on one readable line: NOT/AND/OR over the atoms, then
    whom it concerns, the exceptions and the unparsed words."""
    atoms = req["atoms"]

    def atom(a: dict) -> str:
        name = a.get("name") or a["text"]
        bound = ""
        if a.get("op"):
            unit = f" {a['unit']}" if a.get("unit") else ""
            bound = (f" {a['value']:g}-{a['value2']:g}{unit}" if a["op"] == "between" and a.get("value2") is not None
                     else f" {a['op']} {a['value']:g}{unit}" if a.get("value") is not None else "")
        window = f" [{a['window']['text']}]" if a.get("window") else ""
        quals = f"{' '.join(a['qualifiers'])} " if a.get("qualifiers") else ""
        g = a.get("given")
        given = f" (if {'' if g['present'] else 'no '}{g['name']})" if g else ""
        return f"{'NOT ' if a.get('negated') else ''}{a['kind']}:{quals}{name}{bound}{window}{given}"

    def expr(e) -> str:
        if isinstance(e, int):
            return atom(atoms[e])
        parts = [expr(x) for x in e["args"]]
        return f" {e['op'].upper()} ".join(parts) if len(parts) < 2 else "(" + f" {e['op'].upper()} ".join(parts) + ")"

    out = ("EXCLUDE IF " if req["polarity"] == "exclusion" else "REQUIRE ") + (expr(req["expression"]) or "(nothing structured)")
    if req["applies_to"]:
        out += "; only for " + ", ".join(a["text"] for a in req["applies_to"])
    if req["exceptions"]:
        out += "; except " + ", ".join(a.get("name") or a["text"] for a in req["exceptions"])
    if req["unparsed"]:
        out += f"; unparsed: {req['unparsed']}"
    return out
