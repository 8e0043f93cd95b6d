"""Reads ClinicalTrials.gov API v2 JSON: one study, a list of studies or ``{"studies": [...]}`` (an
NLI4CT trial report, also JSON, is handed to ``nli4ct``). ``spans.parse_json`` returns every string
as a ``JStr`` whose ``MappedText`` leads each decoded character (escapes resolved) back to its offset
in the file, so the span of a field or criterion is the raw extent of its trimmed text in the JSON
source.
"""

from __future__ import annotations

from ..errors import CorpusError
from ..records import Age, Arm, Contact, Identifier, Intervention, Location, Trial
from ..sections import fold
from ..spans import JSONPosError, parse_json
from .nli4ct import nli4ct_trial
from .normalize import (NCT_RE, OUTCOME_KINDS, Node, add_outcome, attach_criteria, content_id, finish_trial,
                        norm_bool, norm_date, norm_enrollment, norm_phases, norm_sex, norm_status, trimmed)


def read_json(text: str, name: str) -> list[Trial]:
    """The trials of a JSON record file; malformed JSON, a non-study object or a field of the wrong
    type raises ``CorpusError`` (the field named by its path in the file)."""
    try:
        data = parse_json(text)
    except JSONPosError as exc:
        raise CorpusError(name, f"malformed JSON: {exc}", exc.line) from None
    except RecursionError:
        raise CorpusError(name, "malformed JSON: nesting too deep") from None
    if isinstance(data, dict) and "Clinical Trial ID" in data:
        return [nli4ct_trial(data, name)]
    if isinstance(data, dict) and isinstance(data.get("studies"), list):
        studies, prefix = data["studies"], "studies"
    elif isinstance(data, list):
        studies, prefix = data, ""
    elif isinstance(data, dict):
        studies, prefix = [data], None
    else:
        raise CorpusError(name, "JSON is neither a study, a list of studies nor {\"studies\": [...]}")
    trials = []
    for i, study in enumerate(studies):
        where = name if len(studies) == 1 else f"{name} (study #{i + 1})"
        if not isinstance(study, dict) or not isinstance(study.get("protocolSection"), dict):
            raise CorpusError(where, "not a ClinicalTrials.gov API v2 study (no \"protocolSection\" object)")
        at = "protocolSection" if prefix is None else f"{prefix}[{i}].protocolSection"
        trials.append(_json_trial(Node(study["protocolSection"], at, name), name))
    return trials


def _json_trial(ps: Node, name: str) -> Trial:
    spans: dict[str, tuple[int, int]] = {}

    def text(path: str, key: str | None = None) -> str | None:
        """The folded, trimmed text of a string field (its span kept under ``key``); None when absent or blank."""
        got = ps.mapped(path)
        if got is None:
            return None
        got = trimmed(got)
        if not got:
            return None
        if key:
            spans[key] = got[1]
        return got[0]

    ident, design = ps.obj("identificationModule"), ps.obj("designModule")
    elig, sponsors = ps.obj("eligibilityModule"), ps.obj("sponsorCollaboratorsModule")
    arms_ivs, contacts = ps.obj("armsInterventionsModule"), ps.obj("contactsLocationsModule")
    nct = text("identificationModule.nctId", "nct_id")
    if nct and not NCT_RE.fullmatch(nct):
        nct = None
    t = Trial(id=nct or "", source=name, format="ctgov_json", nct_id=nct,
              title=text("identificationModule.briefTitle", "title"))
    t.official_title = text("identificationModule.officialTitle", "official_title")
    t.acronym = text("identificationModule.acronym", "acronym")
    t.status = norm_status(text("statusModule.overallStatus", "status"))
    t.phases = norm_phases(design.strings("phases"))
    t.study_type = norm_status(text("designModule.studyType", "study_type"))
    enrollment = design.obj("enrollmentInfo")
    t.enrollment = norm_enrollment(enrollment.value("count", (int, float, str), "a number"))
    et = text("designModule.enrollmentInfo.type")
    t.enrollment_type = et.upper() if et else None
    t.start_date = norm_date(text("statusModule.startDateStruct.date", "start_date"))
    t.primary_completion_date = norm_date(text("statusModule.primaryCompletionDateStruct.date", "primary_completion_date"))
    t.completion_date = norm_date(text("statusModule.completionDateStruct.date", "completion_date"))
    ps.mapped("statusModule.lastUpdateSubmitDate")  # type-checked even when the posted date is there
    t.last_update = norm_date(text("statusModule.lastUpdatePostDateStruct.date", "last_update")
                              or text("statusModule.lastUpdateSubmitDate", "last_update"))
    conditions = ps.obj("conditionsModule")
    for i, c in enumerate(conditions.strings("conditions")):
        if trimmed(c.mapped):
            v, sp = trimmed(c.mapped)
            t.conditions.append(v)
            spans[f"conditions[{i}]"] = sp
    t.keywords = [fold(k) for k in conditions.strings("keywords") if k.strip()]
    for iv in arms_ivs.objects("interventions"):
        iv_name, desc = iv.string("name"), iv.string("description")
        if iv_name:
            if desc is not None:
                t.texts[f"intervention[{len(t.interventions)}]"] = desc.mapped
            t.interventions.append(Intervention(
                name=fold(iv_name), type=norm_status(iv.string("type")), description=fold(desc or "") or None,
                other_names=[fold(o) for o in iv.strings("otherNames")]))
    for arm in arms_ivs.objects("armGroups"):
        label, desc = arm.string("label"), arm.string("description")
        if label is not None:
            if desc is not None:
                t.texts[f"arm[{len(t.arms)}]"] = desc.mapped
            t.arms.append(Arm(fold(label), norm_status(arm.string("type")), fold(desc or "") or None,
                              [fold(n) for n in arm.strings("interventionNames")]))
    info = design.obj("designInfo")
    for src, dst in (("allocation", "allocation"), ("interventionModel", "intervention_model"),
                     ("primaryPurpose", "primary_purpose"), ("interventionModelDescription", "description")):
        v = info.string(src)
        if v and v.strip():
            t.design[dst] = fold(v)
    masking = info.obj("maskingInfo").string("masking")
    if masking:
        t.design["masking"] = str(masking)
    t.summary = text("descriptionModule.briefSummary", "summary")
    t.description = text("descriptionModule.detailedDescription", "description")
    for key, path in (("summary", "descriptionModule.briefSummary"), ("description", "descriptionModule.detailedDescription"),
                      ("design", "designModule.designInfo.interventionModelDescription")):
        got = ps.mapped(path)
        if got is not None:
            t.texts[key] = got
    crit = ps.mapped("eligibilityModule.eligibilityCriteria")
    if crit is not None:
        attach_criteria(t, crit)
        if trimmed(crit):
            spans["eligibility"] = trimmed(crit)[1]
    t.sex = norm_sex(text("eligibilityModule.sex", "sex"))
    t.min_age = Age.parse(text("eligibilityModule.minimumAge", "min_age"))
    t.max_age = Age.parse(text("eligibilityModule.maximumAge", "max_age"))
    t.healthy_volunteers = norm_bool(elig.value("healthyVolunteers", (bool, str), "true or false"))
    t.sponsor = text("sponsorCollaboratorsModule.leadSponsor.name", "sponsor")
    collaborators = sponsors.objects("collaborators")
    t.collaborators = [fold(c.string("name")) for c in collaborators if c.string("name") is not None]
    for org in [sponsors.obj("leadSponsor")] + collaborators:
        org_name, org_class = org.string("name"), org.string("class")
        if org_name is not None and org_class:
            t.sponsor_classes[fold(org_name)] = str(org_class).upper()
    t.why_stopped = text("statusModule.whyStopped", "why_stopped")
    outcomes = ps.obj("outcomesModule")
    for kind in OUTCOME_KINDS:
        for o in outcomes.objects(f"{kind}Outcomes"):
            add_outcome(t, kind, *[o.mapped(k) for k in ("measure", "timeFrame", "description")])
    t.responsible_party = norm_status(sponsors.obj("responsibleParty").string("type"))
    for loc in contacts.objects("locations"):
        t.locations.append(Location(loc.string("facility"), loc.string("city"), loc.string("state"),
                                    loc.string("country"), norm_status(loc.string("status"))))
    for c in contacts.objects("centralContacts"):
        if c.string("name"):
            t.contacts.append(Contact(c.string("name"), c.string("role"), c.string("phone"), c.string("email")))
    for c in contacts.objects("overallOfficials"):
        if c.string("name"):
            t.contacts.append(Contact(c.string("name"), c.string("role"), affiliation=c.string("affiliation")))
    org = text("identificationModule.orgStudyIdInfo.id", "org_study_id")
    if org:
        t.identifiers.append(Identifier(org, None, "org_study_id"))
    for s in ident.objects("secondaryIdInfos"):
        if s.string("id"):
            t.identifiers.append(Identifier(s.string("id"), s.string("type"), "secondary_id"))
    t.spans = spans
    if not t.id:
        t.id = content_id(t.title, t.summary, t.eligibility_text)
    return finish_trial(t)
