"""Reads ClinicalTrials.gov legacy XML, one ``<clinical_study>`` per file. ``spans.parse_xml`` gives
each element's text as a ``MappedText`` whose anchors lead every decoded character (entities and
character references resolved) back to its offset in the file, so the span of a field or criterion
is the raw extent of its trimmed text in the XML source.
"""

from __future__ import annotations

from ..errors import CorpusError
from ..records import Age, Arm, Contact, Identifier, Intervention, Location, Trial
from ..sections import fold
from ..spans import XMLShapeError, XNode, parse_xml
from .normalize import (NCT_RE, OUTCOME_KINDS, add_outcome, attach_criteria, content_id, finish_trial, norm_bool,
                        norm_date, norm_enrollment, norm_phases, norm_sex, norm_status, trimmed)


def read_xml(text: str, name: str) -> list[Trial]:
    """The one trial of a legacy XML record; malformed XML, another root element or elements where
    text belongs raise ``CorpusError``."""
    import xml.parsers.expat as expat

    try:
        root = parse_xml(text)
    except expat.ExpatError as exc:
        raise CorpusError(name, f"malformed XML: {expat.ErrorString(exc.code)} at column {exc.offset}",
                          exc.lineno) from None
    except ValueError as exc:
        raise CorpusError(name, f"malformed XML: {exc}") from None
    if root.tag != "clinical_study":
        raise CorpusError(name, f"XML root is <{root.tag}>, expected <clinical_study> (ClinicalTrials.gov legacy XML)")
    try:
        return [_xml_trial(root, name)]
    except XMLShapeError as exc:
        raise CorpusError(name, str(exc), text.count("\n", 0, exc.pos) + 1) from None


def _xml_trial(root: XNode, name: str) -> Trial:
    spans: dict[str, tuple[int, int]] = {}

    def val(path: str, key: str | None = None, node: XNode | None = None) -> str | None:
        n = (node or root).find(path)
        if n is None:
            return None
        got = trimmed(n.mapped())
        if not got:
            return None
        if key:
            spans[key] = got[1]
        return got[0]

    nct = val("id_info/nct_id", "nct_id")
    if nct and not NCT_RE.fullmatch(nct):
        nct = None
    title = val("brief_title", "title")
    t = Trial(id=nct or "", source=name, format="ctgov_xml", nct_id=nct, title=title)
    t.official_title = val("official_title", "official_title")
    t.acronym = val("acronym", "acronym")
    t.status = norm_status(val("overall_status", "status"))
    t.phases = norm_phases(val("phase", "phases"))
    t.study_type = norm_status(val("study_type", "study_type"))
    enr = root.find("enrollment")
    t.enrollment = norm_enrollment(val("enrollment", "enrollment"))
    if enr is not None and enr.attrs.get("type"):
        t.enrollment_type = enr.attrs["type"].upper().replace("ANTICIPATED", "ESTIMATED")
    t.start_date = norm_date(val("start_date", "start_date"))
    t.primary_completion_date = norm_date(val("primary_completion_date", "primary_completion_date"))
    t.completion_date = norm_date(val("completion_date", "completion_date"))
    t.last_update = norm_date(val("last_update_posted", "last_update") or val("last_update_submitted", "last_update"))
    for i, n in enumerate(root.findall("condition")):
        v = trimmed(n.mapped())
        if v:
            t.conditions.append(v[0])
            spans[f"conditions[{i}]"] = v[1]
    t.keywords = [k for k in (fold(n.text() or "") for n in root.findall("keyword")) if k]
    for n in root.findall("intervention"):
        desc = n.find("description")
        if desc is not None:
            t.texts[f"intervention[{len(t.interventions)}]"] = desc.mapped()
        t.interventions.append(Intervention(
            name=fold(n.text("intervention_name") or ""), type=norm_status(n.text("intervention_type")),
            description=fold(n.text("description") or "") or None,
            other_names=[fold(o.text() or "") for o in n.findall("other_name")]))
    for n in root.findall("arm_group"):
        label = fold(n.text("arm_group_label") or "")
        if not label:
            continue
        desc = n.find("description")
        if desc is not None:
            t.texts[f"arm[{len(t.arms)}]"] = desc.mapped()
        t.arms.append(Arm(label, norm_status(n.text("arm_group_type")), fold(n.text("description") or "") or None))
    design = root.find("study_design_info")
    if design is not None:
        for child in design.children:
            v = fold(child.text() or "")
            if v:
                t.design[child.tag] = v
    t.summary = val("brief_summary/textblock", "summary")
    t.description = val("detailed_description/textblock", "description")
    for key, path in (("summary", "brief_summary/textblock"), ("description", "detailed_description/textblock"),
                      ("design", "study_design_info/intervention_model_description")):
        node = root.find(path)
        if node is not None:
            t.texts[key] = node.mapped()
    crit = root.find("eligibility/criteria/textblock")
    if crit is not None:
        attach_criteria(t, crit.mapped())
        got = trimmed(crit.mapped())
        if got:
            spans["eligibility"] = got[1]
    t.sex = norm_sex(val("eligibility/gender", "sex"))
    t.min_age = Age.parse(val("eligibility/minimum_age", "min_age"))
    t.max_age = Age.parse(val("eligibility/maximum_age", "max_age"))
    t.healthy_volunteers = norm_bool(val("eligibility/healthy_volunteers", "healthy_volunteers"))
    t.sponsor = val("sponsors/lead_sponsor/agency", "sponsor")
    t.collaborators = [c for c in (fold(n.text("agency") or "") for n in root.findall("sponsors/collaborator")) if c]
    for n in root.findall("sponsors/lead_sponsor") + root.findall("sponsors/collaborator"):
        if n.text("agency") and n.text("agency_class"):
            t.sponsor_classes[fold(n.text("agency"))] = n.text("agency_class").strip().upper()
    t.why_stopped = val("why_stopped", "why_stopped")
    for kind in OUTCOME_KINDS:
        for n in root.findall(f"{kind}_outcome"):
            parts = [n.find(tag) for tag in ("measure", "time_frame", "description")]
            add_outcome(t, kind, *[x.mapped() if x is not None else None for x in parts])
    t.responsible_party = norm_status(val("responsible_party/responsible_party_type", "responsible_party"))
    for n in root.findall("location"):
        t.locations.append(Location(
            facility=fold(n.text("facility/name") or "") or None, city=n.text("facility/address/city"),
            state=n.text("facility/address/state"), country=n.text("facility/address/country"),
            status=norm_status(n.text("status"))))
    for tag in ("overall_contact", "overall_contact_backup"):
        n = root.find(tag)
        if n is not None and n.text("last_name"):
            t.contacts.append(Contact(fold(n.text("last_name")), "CONTACT", n.text("phone"), n.text("email")))
    for n in root.findall("overall_official"):
        if n.text("last_name"):
            t.contacts.append(Contact(fold(n.text("last_name")), norm_status(n.text("role")),
                                      affiliation=fold(n.text("affiliation") or "") or None))
    org = val("id_info/org_study_id", "org_study_id")
    if org:
        t.identifiers.append(Identifier(org, None, "org_study_id"))
    for n in root.findall("id_info/secondary_id"):
        if n.text():
            t.identifiers.append(Identifier(fold(n.text()), None, "secondary_id"))
    t.spans = spans
    if not t.id:
        t.id = content_id(t.title, t.summary, t.eligibility_text)
    if crit is None:
        t.warnings.append("XML record has no <eligibility><criteria> block")
    return finish_trial(t)
