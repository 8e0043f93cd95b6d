"""Reads ClinicalTrials.gov API v2 JSON: one study, a list of studies or ``{"studies": [...]}`` (an
NLI4CT trial report, also JSON, is handed to ``nli4ct``). ``spans.parse_json`` returns every string
as a ``JStr`` whose ``MappedText`` leads each decoded character (escapes resolved) back to its offset
in the file, so the span of a field or criterion is the raw extent of its trimmed text in the JSON
source.
"""

from __future__ import annotations

from typing import Any

from ..errors import CorpusError
from ..records import Age, Arm, Contact, Identifier, Intervention, Location, Trial
from ..sections import fold
from ..spans import JSONPosError, JStr, parse_json
from .nli4ct import nli4ct_trial
from .normalize import (NCT_RE, OUTCOME_KINDS, add_outcome, attach_criteria, content_id, finish_trial, norm_bool,
                        norm_date, norm_enrollment, norm_phases, norm_sex, norm_status, trimmed)


def read_json(text: str, name: str) -> list[Trial]:
    """The trials of a JSON record file; malformed JSON or a non-study object raises ``CorpusError``."""
    try:
        data = parse_json(text)
    except JSONPosError as exc:
        raise CorpusError(name, f"malformed JSON: {exc}", exc.line) from None
    except RecursionError:
        raise CorpusError(name, "malformed JSON: nesting too deep") from None
    if isinstance(data, dict) and "Clinical Trial ID" in data:
        return [nli4ct_trial(data, name)]
    if isinstance(data, dict) and isinstance(data.get("studies"), list):
        studies = data["studies"]
    elif isinstance(data, list):
        studies = data
    elif isinstance(data, dict):
        studies = [data]
    else:
        raise CorpusError(name, "JSON is neither a study, a list of studies nor {\"studies\": [...]}")
    trials = []
    for i, study in enumerate(studies):
        where = name if len(studies) == 1 else f"{name} (study #{i + 1})"
        if not isinstance(study, dict) or not isinstance(study.get("protocolSection"), dict):
            raise CorpusError(where, "not a ClinicalTrials.gov API v2 study (no \"protocolSection\" object)")
        trials.append(_json_trial(study["protocolSection"], name))
    return trials


def _json_trial(ps: dict, name: str) -> Trial:
    spans: dict[str, tuple[int, int]] = {}

    def get(path: str, key: str | None = None, raw: bool = False):
        node: Any = ps
        for part in path.split("."):
            if not isinstance(node, dict):
                return None
            node = node.get(part)
        if isinstance(node, JStr) and not raw:
            got = trimmed(node.mapped)
            if not got:
                return None
            if key:
                spans[key] = got[1]
            return got[0]
        return node

    nct = get("identificationModule.nctId", "nct_id")
    if nct and not NCT_RE.fullmatch(str(nct)):
        nct = None
    t = Trial(id=nct or "", source=name, format="ctgov_json", nct_id=nct,
              title=get("identificationModule.briefTitle", "title"))
    t.official_title = get("identificationModule.officialTitle", "official_title")
    t.acronym = get("identificationModule.acronym", "acronym")
    t.status = norm_status(get("statusModule.overallStatus", "status"))
    t.phases = norm_phases(get("designModule.phases") or [])
    t.study_type = norm_status(get("designModule.studyType", "study_type"))
    t.enrollment = norm_enrollment(get("designModule.enrollmentInfo.count"))
    et = get("designModule.enrollmentInfo.type")
    t.enrollment_type = str(et).upper() if et else None
    t.start_date = norm_date(get("statusModule.startDateStruct.date", "start_date"))
    t.primary_completion_date = norm_date(get("statusModule.primaryCompletionDateStruct.date", "primary_completion_date"))
    t.completion_date = norm_date(get("statusModule.completionDateStruct.date", "completion_date"))
    t.last_update = norm_date(get("statusModule.lastUpdatePostDateStruct.date", "last_update")
                              or get("statusModule.lastUpdateSubmitDate", "last_update"))
    for i, c in enumerate(get("conditionsModule.conditions") or []):
        if isinstance(c, JStr) and trimmed(c.mapped):
            v, sp = trimmed(c.mapped)
            t.conditions.append(v)
            spans[f"conditions[{i}]"] = sp
    t.keywords = [fold(k) for k in get("conditionsModule.keywords") or [] if isinstance(k, str) and k.strip()]
    for iv in get("armsInterventionsModule.interventions") or []:
        if isinstance(iv, dict) and iv.get("name"):
            if isinstance(iv.get("description"), JStr):
                t.texts[f"intervention[{len(t.interventions)}]"] = iv["description"].mapped
            t.interventions.append(Intervention(
                name=fold(iv["name"]), type=norm_status(iv.get("type")),
                description=fold(iv.get("description") or "") or None,
                other_names=[fold(o) for o in iv.get("otherNames") or [] if isinstance(o, str)]))
    for arm in get("armsInterventionsModule.armGroups") or []:
        if isinstance(arm, dict) and isinstance(arm.get("label"), str):
            if isinstance(arm.get("description"), JStr):
                t.texts[f"arm[{len(t.arms)}]"] = arm["description"].mapped
            t.arms.append(Arm(fold(arm["label"]), norm_status(arm.get("type")), fold(arm.get("description") or "") or None,
                              [fold(n) for n in arm.get("interventionNames") or [] if isinstance(n, str)]))
    info = get("designModule.designInfo") or {}
    for src, dst in (("allocation", "allocation"), ("interventionModel", "intervention_model"),
                     ("primaryPurpose", "primary_purpose"), ("interventionModelDescription", "description")):
        if isinstance(info.get(src), str) and info[src].strip():
            t.design[dst] = fold(info[src])
    masking = info.get("maskingInfo") if isinstance(info, dict) else None
    if isinstance(masking, dict) and masking.get("masking"):
        t.design["masking"] = str(masking["masking"])
    t.summary = get("descriptionModule.briefSummary", "summary")
    t.description = get("descriptionModule.detailedDescription", "description")
    for key, path in (("summary", "descriptionModule.briefSummary"), ("description", "descriptionModule.detailedDescription"),
                      ("design", "designModule.designInfo.interventionModelDescription")):
        node = get(path, raw=True)
        if isinstance(node, JStr):
            t.texts[key] = node.mapped
    crit = get("eligibilityModule.eligibilityCriteria", raw=True)
    if isinstance(crit, JStr):
        attach_criteria(t, crit.mapped)
        if trimmed(crit.mapped):
            spans["eligibility"] = trimmed(crit.mapped)[1]
    t.sex = norm_sex(get("eligibilityModule.sex", "sex"))
    t.min_age = Age.parse(get("eligibilityModule.minimumAge", "min_age"))
    t.max_age = Age.parse(get("eligibilityModule.maximumAge", "max_age"))
    t.healthy_volunteers = norm_bool(get("eligibilityModule.healthyVolunteers"))
    t.sponsor = get("sponsorCollaboratorsModule.leadSponsor.name", "sponsor")
    t.collaborators = [fold(c["name"]) for c in get("sponsorCollaboratorsModule.collaborators") or []
                       if isinstance(c, dict) and isinstance(c.get("name"), str)]
    lead = get("sponsorCollaboratorsModule.leadSponsor") or {}
    for org in [lead] + list(get("sponsorCollaboratorsModule.collaborators") or []):
        if isinstance(org, dict) and isinstance(org.get("name"), str) and org.get("class"):
            t.sponsor_classes[fold(org["name"])] = str(org["class"]).upper()
    t.why_stopped = get("statusModule.whyStopped", "why_stopped")
    for kind in OUTCOME_KINDS:
        for o in get(f"outcomesModule.{kind}Outcomes") or []:
            if isinstance(o, dict):
                parts = [o.get(k) for k in ("measure", "timeFrame", "description")]
                add_outcome(t, kind, *[x.mapped if isinstance(x, JStr) else None for x in parts])
    rp = get("sponsorCollaboratorsModule.responsibleParty.type")
    t.responsible_party = norm_status(rp) if isinstance(rp, str) else None
    for loc in get("contactsLocationsModule.locations") or []:
        if isinstance(loc, dict):
            t.locations.append(Location(loc.get("facility"), loc.get("city"), loc.get("state"),
                                        loc.get("country"), norm_status(loc.get("status"))))
    for c in get("contactsLocationsModule.centralContacts") or []:
        if isinstance(c, dict) and c.get("name"):
            t.contacts.append(Contact(c["name"], c.get("role"), c.get("phone"), c.get("email")))
    for c in get("contactsLocationsModule.overallOfficials") or []:
        if isinstance(c, dict) and c.get("name"):
            t.contacts.append(Contact(c["name"], c.get("role"), affiliation=c.get("affiliation")))
    org = get("identificationModule.orgStudyIdInfo.id", "org_study_id")
    if org:
        t.identifiers.append(Identifier(org, None, "org_study_id"))
    for s in get("identificationModule.secondaryIdInfos") or []:
        if isinstance(s, dict) and s.get("id"):
            t.identifiers.append(Identifier(s["id"], s.get("type"), "secondary_id"))
    t.spans = spans
    if not t.id:
        t.id = content_id(t.title, t.summary, t.eligibility_text)
    return finish_trial(t)
