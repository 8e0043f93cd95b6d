"""Reading trial records: ClinicalTrials.gov API v2 JSON, legacy XML and registry-page text.

``load_corpus(path)`` reads a file or a directory tree. The format is detected from content. Every
field and criterion keeps its span in the source file (see ``spans.MappedText``). A bad file raises
``CorpusError`` naming the file and the reason; in a directory the bad files are collected in
``Corpus.errors`` and the good ones still load.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

from . import lexicons
from .errors import CorpusError, CorpusErrors
from .records import Age, Contact, Criterion, Identifier, Intervention, Location, Outcome, Trial
from .sections import fold, split_eligibility
from .sources import decode_bytes, detect_format, read_text, span_text, unescape_markdown  # noqa: F401 (re-exported)
from .spans import JSONPosError, JStr, MappedText, XNode, parse_json, parse_xml

log = logging.getLogger(__name__)

NCT_RE = re.compile(r"\bNCT\d{8}\b")
SKIP_SUFFIXES = {".md", ".rst", ".pdf", ".png", ".jpg", ".gz", ".tgz", ".zip", ".ann", ".py"}


class Corpus(list):
    """A list of ``Trial`` plus ``errors``: the ``CorpusError`` of every file that failed."""

    def __init__(self, trials: Iterable[Trial] = (), errors: list[CorpusError] | None = None):
        super().__init__(trials)
        self.errors: list[CorpusError] = errors or []

    def get(self, trial_id: str) -> Trial | None:
        for t in self:
            if t.id == trial_id or (t.nct_id and t.nct_id == trial_id):
                return t
        return None


# --- files ---------------------------------------------------------------------------------------

def read_records(path: str | os.PathLike) -> list[Trial]:
    """Read one file into its trials (a JSON file may hold many)."""
    name = str(path)
    text = read_text(path)
    fmt = detect_format(text)
    reader = {"ctgov_json": _read_json, "ctgov_xml": _read_xml, "registry_text": _read_registry_text}[fmt]
    trials = reader(text, name)
    if not trials:
        raise CorpusError(name, "no trial record found in file")
    return trials


def iter_record_files(root: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            if fn.startswith(".") or fn.upper().startswith("README") or p.suffix.lower() in SKIP_SUFFIXES:
                continue
            files.append(p)
    return files


def load_corpus(path: str | os.PathLike, *, strict: bool = False, extract: bool = True,
                progress: Callable[[int, int], None] | None = None) -> Corpus:
    """Load trials from a record file or a directory (recursive).

    A single bad file raises ``CorpusError``. For a directory, bad files are reported in the
    returned ``Corpus.errors`` (or raised together as ``CorpusErrors`` when ``strict``) and every
    good file still loads. Duplicate trial ids keep the first record and report the others.
    ``extract`` attaches extracted entities to each criterion.
    """
    root = Path(path)
    if not root.exists():
        raise CorpusError(str(root), "no such file or directory")
    if root.is_file():
        corpus = Corpus(read_records(root))
    else:
        files = iter_record_files(root)
        corpus = Corpus()
        seen: dict[str, str] = {}
        for i, f in enumerate(files):
            try:
                trials = read_records(f)
            except CorpusError as exc:
                corpus.errors.append(exc)
                continue
            except Exception as exc:  # a reader bug must not lose the rest of the corpus
                corpus.errors.append(CorpusError(str(f), f"unexpected error while reading: {exc!r}"))
                continue
            for t in trials:
                if t.id in seen:
                    corpus.errors.append(CorpusError(str(f), f"duplicate trial id {t.id} (already read from {seen[t.id]}); skipped"))
                    continue
                seen[t.id] = str(f)
                corpus.append(t)
            if progress:
                progress(i + 1, len(files))
        if strict and corpus.errors:
            raise CorpusErrors(corpus.errors, list(corpus))
    from .extraction import ages_from_criteria, attach_entities

    if extract:
        attach_entities(corpus)
    _intervention_doses(corpus)
    for t in corpus:
        # Records that state ages only in their criteria ("aged from 18 to 75") get them from there.
        if t.min_age is None or t.max_age is None:
            lo, hi = ages_from_criteria(t)
            t.min_age = t.min_age or lo
            t.max_age = t.max_age or hi
    return corpus


def _intervention_doses(trials: Iterable[Trial]) -> None:
    """Dose and route of each intervention, where its name or description states them."""
    from .extraction import rules

    r = rules()
    for t in trials:
        for iv in t.interventions:
            doses = [e for e in r.extract(f"{iv.name}. {iv.description or ''}") if e.label == "DOSE"]
            if doses:
                iv.dose = doses[0].text.strip()
                iv.route = doses[0].route


# --- shared normalization ------------------------------------------------------------------------

_STATUS_WORDS = re.compile(r"[^A-Za-z]+")


def norm_status(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    return _STATUS_WORDS.sub("_", value.strip()).strip("_").upper()


def norm_phases(value: Any) -> list[str]:
    """``Phase 1/Phase 2``, ``PHASE1/PHASE2``, ``["PHASE1", "PHASE2"]``, ``Early Phase 1`` -> canonical list."""
    items = value if isinstance(value, list) else re.split(r"[/,;&]| and ", str(value or ""))
    out = []
    for item in items:
        s = str(item).strip().upper().replace(" ", "")
        m = re.fullmatch(r"(EARLY_?)?PHASE_?(\d|I{1,3}|IV)", s)
        if not m:
            continue
        num = {"I": "1", "II": "2", "III": "3", "IV": "4"}.get(m.group(2), m.group(2))
        out.append(("EARLY_PHASE" if m.group(1) else "PHASE") + num)
    return out


_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], 1)}


def norm_date(value: str | None) -> str | None:
    """ISO form (``YYYY-MM-DD`` or ``YYYY-MM``) when recognizable, else the text as written."""
    if not value or not value.strip():
        return None
    s = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", s):
        return s
    m = re.fullmatch(r"([A-Za-z]+)\s+(?:(\d{1,2}),\s*)?(\d{4})", s)
    if m and m.group(1).lower() in _MONTHS:
        month = _MONTHS[m.group(1).lower()]
        return f"{m.group(3)}-{month:02d}" + (f"-{int(m.group(2)):02d}" if m.group(2) else "")
    return s


def norm_sex(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    s = value.strip().upper()
    return {"BOTH": "ALL", "MALES": "MALE", "FEMALES": "FEMALE"}.get(s, s)


def norm_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    s = str(value).strip().lower()
    if s in ("yes", "true", "accepts healthy volunteers", "y"):
        return True
    if s in ("no", "false", "n"):
        return False
    return None


def norm_enrollment(value: Any) -> int | None:
    if isinstance(value, (int, float)):
        return int(value)
    m = re.search(r"\d[\d,]*", str(value or ""))
    return int(m.group(0).replace(",", "")) if m else None


def content_id(*parts: str | None) -> str:
    """A stable id for a record without an NCT number, from its own content."""
    h = hashlib.sha1("\x1f".join(fold(p or "").lower() for p in parts).encode("utf-8")).hexdigest()
    return f"TQ-{h[:12]}"


def _trimmed(mt: MappedText) -> tuple[str, tuple[int, int]] | None:
    """Whitespace-folded value of a mapped text and its raw span (leading/trailing space excluded)."""
    text = mt.text
    a = len(text) - len(text.lstrip())
    b = len(text.rstrip())
    if b <= a:
        return None
    return fold(text[a:b]), mt.raw_span(a, b)


def _attach_criteria(trial: Trial, mt: MappedText, clean: Callable[[str], str] | None = None) -> None:
    trial.eligibility_text = clean(mt.text) if clean else mt.text
    counters = {"inclusion": 0, "exclusion": 0}
    for cs in split_eligibility(mt.text):
        start, end = mt.raw_span(cs.start, cs.end)
        text = clean(cs.text) if clean else cs.text
        trial.criteria.append(Criterion(text, cs.section, start, end, counters[cs.section], cs.group))
        counters[cs.section] += 1


def _finish(trial: Trial) -> Trial:
    """Checks common to every format."""
    if not trial.nct_id:
        trial.warnings.append("no NCT number in record; id derived from its content")
    if not trial.criteria:
        trial.warnings.append("no eligibility criteria in record")
    return trial


# --- ClinicalTrials.gov legacy XML ---------------------------------------------------------------

def _read_xml(text: str, name: str) -> list[Trial]:
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
    return [_xml_trial(root, name)]


def _xml_trial(root: XNode, name: str) -> Trial:
    spans: dict[str, tuple[int, int]] = {}

    def val(path: str, key: str | None = None, node: XNode | None = None) -> str | None:
        n = (node or root).find(path)
        if n is None:
            return None
        got = _trimmed(n.mapped())
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
        v = _trimmed(n.mapped())
        if v:
            t.conditions.append(v[0])
            spans[f"conditions[{i}]"] = v[1]
    t.keywords = [k for k in (fold(n.text() or "") for n in root.findall("keyword")) if k]
    for n in root.findall("intervention"):
        t.interventions.append(Intervention(
            name=fold(n.text("intervention_name") or ""), type=norm_status(n.text("intervention_type")),
            description=fold(n.text("description") or "") or None,
            other_names=[fold(o.text() or "") for o in n.findall("other_name")]))
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
        _attach_criteria(t, crit.mapped())
        got = _trimmed(crit.mapped())
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
            _add_outcome(t, kind, *[x.mapped() if x is not None else None for x in parts])
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
    return _finish(t)


# --- ClinicalTrials.gov API v2 JSON --------------------------------------------------------------

OUTCOME_KINDS = ("primary", "secondary", "other")


def _add_outcome(t: Trial, kind: str, measure: MappedText | None, time_frame: MappedText | None,
                 description: MappedText | None) -> None:
    """An outcome measure with its spans; one without a measure is left out."""
    got = _trimmed(measure) if measure is not None else None
    if not got:
        return
    tf = _trimmed(time_frame) if time_frame is not None else None
    desc = _trimmed(description) if description is not None else None
    if desc:
        t.texts[f"outcome_description[{len(t.outcomes)}]"] = description  # chunked by sentence like other prose
    t.outcomes.append(Outcome(kind, got[0], *got[1], tf[0] if tf else None, desc[0] if desc else None,
                              desc[1] if desc else None))


def _read_json(text: str, name: str) -> list[Trial]:
    try:
        data = parse_json(text)
    except JSONPosError as exc:
        raise CorpusError(name, f"malformed JSON: {exc}", exc.line) from None
    except RecursionError:
        raise CorpusError(name, "malformed JSON: nesting too deep") from None
    if isinstance(data, dict) and "Clinical Trial ID" in data:
        return [_nli4ct_trial(data, name)]
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
            got = _trimmed(node.mapped)
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
        if isinstance(c, JStr) and _trimmed(c.mapped):
            v, sp = _trimmed(c.mapped)
            t.conditions.append(v)
            spans[f"conditions[{i}]"] = sp
    t.keywords = [fold(k) for k in get("conditionsModule.keywords") or [] if isinstance(k, str) and k.strip()]
    for iv in get("armsInterventionsModule.interventions") or []:
        if isinstance(iv, dict) and iv.get("name"):
            t.interventions.append(Intervention(
                name=fold(iv["name"]), type=norm_status(iv.get("type")),
                description=fold(iv.get("description") or "") or None,
                other_names=[fold(o) for o in iv.get("otherNames") or [] if isinstance(o, str)]))
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
        _attach_criteria(t, crit.mapped)
        if _trimmed(crit.mapped):
            spans["eligibility"] = _trimmed(crit.mapped)[1]
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
                _add_outcome(t, kind, *[x.mapped if isinstance(x, JStr) else None for x in parts])
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
    return _finish(t)


# --- NLI4CT trial reports (SemEval-2023 Task 7) --------------------------------------------------

NLI4CT_SECTIONS = {"Intervention": "intervention", "Results": "results", "Adverse Events": "adverse_events"}


def _join_lines(lines: list, sep: str = "\n\n") -> MappedText:
    """One decoded text from JSON string lines, keeping every line's anchors into the source."""
    parts, anchors, pos = [], [], 0
    for line in lines:
        if not isinstance(line, JStr):
            continue
        if parts:
            parts.append(sep)
            pos += len(sep)
        for dec, raw in line.mapped.anchors:
            anchors.append((pos + dec, raw))
        parts.append(str(line))
        pos += len(line)
    return MappedText("".join(parts), anchors)


def _nli4ct_trial(data: dict, name: str) -> Trial:
    """A report with ``Eligibility``, ``Intervention``, ``Results`` and ``Adverse Events`` line lists.

    Eligibility lines are criteria one per line (headings set the polarity); the other sections
    become prose texts whose paragraphs are their lines.
    """
    from .sections import match_header

    nct = str(data.get("Clinical Trial ID") or "").strip()
    if not NCT_RE.fullmatch(nct):
        nct = None
    t = Trial(id=nct or "", source=name, format="ctgov_json", nct_id=nct)
    lines = data.get("Eligibility") or []
    if not isinstance(lines, list):
        raise CorpusError(name, "NLI4CT report: \"Eligibility\" is not a list of lines")
    section, counters = "inclusion", {"inclusion": 0, "exclusion": 0}
    for line in lines:
        if not isinstance(line, JStr) or not line.strip():
            continue
        header = match_header(str(line))
        if header and len(str(line).strip()) <= 60:
            section = header[0]
            continue
        got = _trimmed(line.mapped)
        if got:
            t.criteria.append(Criterion(got[0], section, got[1][0], got[1][1], counters[section]))
            counters[section] += 1
    t.eligibility_text = "\n".join(str(x) for x in lines if isinstance(x, str))
    for key, field_name in NLI4CT_SECTIONS.items():
        if isinstance(data.get(key), list) and data[key]:
            t.texts[field_name] = _join_lines(data[key])
    t.title = f"{nct or 'trial report'}"
    if not t.id:
        t.id = content_id(t.eligibility_text, str(data.get("Intervention")))
    return _finish(t)


# --- registry-page text --------------------------------------------------------------------------

class _Captions:
    def __init__(self) -> None:
        data = lexicons.load("registry_captions")
        self.by_key: dict[str, dict] = {}
        for entry in data["captions"]:
            lexicons.require(entry, ("caption", "field", "kind"), "registry_captions.json")
            self.by_key[self.key(entry["caption"])] = entry
        self.imperatives = {w.lower() for w in data["boilerplate"]["imperatives"]}
        self.attribute_prefixes = tuple(data["attribute_prefixes"])
        names = sorted((e["caption"] for e in data["captions"]), key=len, reverse=True)
        alt = "|".join(re.escape(n) for n in names)
        # A caption glued to the end of the previous line's text ("...mortality.Phase:", "NoDetails").
        self.glued = re.compile(rf"(?<=[a-z0-9.)\]])(?:{alt})[:?]?$")
        # A caption and its value on one line ("NCT ID: NCT07110662").
        self.inline = re.compile(rf"^((?:{alt})\s*:)[ \t]*(\S.*)$", re.I)

    @staticmethod
    def key(s: str) -> str:
        return re.sub(r"[\s:?]+$", "", s.strip()).lower()

    def lookup(self, line: str) -> dict | None:
        return self.by_key.get(self.key(line))


@lru_cache(maxsize=1)
def _captions() -> _Captions:
    return _Captions()


def _page_lines(text: str) -> list[tuple[str, int, int]]:
    """Non-empty lines as (stripped text, start, end), glued captions split off, doubled lines folded."""
    cap = _captions()
    out: list[tuple[str, int, int]] = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        start = pos
        pos += len(raw)
        line = raw.rstrip("\r\n")
        s = line.strip()
        if not s:
            continue
        a = start + line.index(s[0])
        pieces = [(s, a)]
        m = cap.glued.search(s)
        inline = cap.inline.match(s)
        if m and m.start() > 0:
            pieces = [(s[:m.start()].rstrip(), a), (s[m.start():], a + m.start())]
        elif inline and cap.lookup(inline.group(1))["kind"] == "value":
            pieces = [(inline.group(1), a), (inline.group(2), a + inline.start(2))]
        for piece, p0 in pieces:
            if out and out[-1][0] == piece:
                continue  # the page repeats a value line right under itself
            out.append((piece, p0, p0 + len(piece)))
    return out


def _read_registry_text(text: str, name: str) -> list[Trial]:
    cap = _captions()
    lines = _page_lines(text)
    if not lines:
        raise CorpusError(name, "file has no text")
    blocks: list[tuple[dict | None, int, list[tuple[str, int, int]]]] = [(None, -1, [])]
    for i, (s, a, b) in enumerate(lines):
        entry = cap.lookup(s)
        if entry is not None and len(s) <= 60:
            if entry["kind"] == "footer":
                break
            blocks.append((entry, i, []))
        else:
            blocks[-1][2].append((s, a, b))
    if len(blocks) < 3:
        raise CorpusError(name, "not a recognizable trial record: no JSON or XML structure and fewer than two "
                                "registry captions (Status, Criteria, Phase, ...) in the text")

    t = Trial(id="", source=name, format="registry_text")
    spans: dict[str, tuple[int, int]] = {}
    design_text: list[str] = []

    def drop_boilerplate(vals):
        if vals:
            first = vals[0][0]
            word = re.match(r"[A-Za-z]+", first)
            if word and word.group(0).lower() in cap.imperatives and first.endswith(".") and first.count(". ") == 0:
                return vals[1:]
        return vals

    # Text before the first caption: the page title (and maybe the NCT id).
    head = blocks[0][2]
    if head:
        t.title, spans["title"] = head[0][0], (head[0][1], head[0][2])

    for bi, (entry, _, vals) in enumerate(blocks[1:], start=1):
        vals = drop_boilerplate(vals)
        kind, fieldname = entry["kind"], entry["field"]
        if kind in ("heading", "ignore") or not vals:
            continue
        if kind == "eligibility":
            a = vals[0][1]
            b = vals[-1][2]
            # Criteria keep their exact layout: re-read the raw block, not the folded lines.
            _attach_criteria(t, MappedText.identity(text[a:b], a), unescape_markdown)
            spans["eligibility"] = (a, b)
            continue
        if kind == "value":
            first = vals[0]
            _set_page_field(t, fieldname, first[0], spans, (first[1], first[2]))
            if entry.get("overflow") == "design.description":
                rest = [v for v in vals[1:] if not v[0].startswith(cap.attribute_prefixes)]
                design_text.extend(v[0] for v in rest)
                if rest and "design" not in t.texts:
                    t.texts["design"] = MappedText.identity(text[rest[0][1]:rest[-1][2]], rest[0][1])
            continue
        if kind == "text":
            value = unescape_markdown(" ".join(v[0] for v in vals))
            _set_page_field(t, fieldname, value, spans, (vals[0][1], vals[-1][2]))
            key = fieldname.split(".")[-1]
            t.texts[key] = MappedText.identity(text[vals[0][1]:vals[-1][2]], vals[0][1])
            continue
        if kind == "list":
            if fieldname == "conditions":
                t.conditions.extend(v[0] for v in vals)
                spans.setdefault("conditions[0]", (vals[0][1], vals[0][2]))
            elif fieldname == "keywords":
                t.keywords.extend(v[0] for v in vals)
            elif fieldname == "countries":
                t.design.setdefault("countries", ", ".join(v[0] for v in vals))
            continue
        _read_page_block(t, kind, [v[0] for v in vals], spans, vals)

    if design_text:
        t.design["description"] = " ".join(design_text)
    if t.title and NCT_RE.fullmatch(t.title.strip()):
        t.title = None
    if not t.nct_id:
        first_lines = " ".join(s for s, _, _ in lines[:3])
        m = NCT_RE.search(first_lines)
        t.nct_id = m.group(0) if m else None
    t.spans = spans
    t.id = t.nct_id or content_id(t.title, t.summary, t.eligibility_text)
    return [_finish(t)]


def _set_page_field(t: Trial, field: str, value: str, spans: dict, span: tuple[int, int]) -> None:
    if field.startswith("design."):
        t.design[field.split(".", 1)[1]] = value
        return
    normalizers: dict[str, Callable[[str], Any]] = {
        "status": norm_status, "phases": norm_phases, "study_type": norm_status,
        "enrollment": norm_enrollment, "sex": norm_sex, "healthy_volunteers": norm_bool,
        "start_date": norm_date, "completion_date": norm_date, "primary_completion_date": norm_date,
        "last_update": norm_date, "min_age": Age.parse, "max_age": Age.parse, "responsible_party": norm_status,
    }
    if field == "responsible_party":
        value = re.sub(r"^Responsibility Role\s*", "", value)
    if field == "nct_id":
        m = NCT_RE.search(value)
        value = m.group(0) if m else None
        if value is None:
            return
    setattr(t, field, normalizers.get(field, lambda v: v)(value))
    spans[field] = span


def _read_page_block(t: Trial, kind: str, lines: list[str], spans: dict, vals) -> None:
    """Structured page blocks: lines grouped into items by their attribute lines."""
    def attr(line: str, prefix: str) -> str | None:
        if line.startswith(prefix):
            return line[len(prefix):].strip(" :")
        return None

    if kind == "sponsors":
        item: list[str] = []
        for line in lines:
            role = attr(line, "Sponsor Role")
            if role is None:
                item.append(line)
                continue
            if item:
                if len(item) > 1 and re.fullmatch(r"[A-Z_]{2,}", item[1]):
                    t.sponsor_classes[item[0]] = item[1]
                if role.lower() == "lead":
                    t.sponsor = item[0]
                    idx = lines.index(item[0])
                    spans["sponsor"] = (vals[idx][1], vals[idx][2])
                elif item[0] not in t.collaborators:
                    t.collaborators.append(item[0])
            item = []
    elif kind == "identifiers":
        current: Identifier | None = None
        for line in lines:
            typ = attr(line, "Identifier Type:")
            src = attr(line, "Identifier Source:")
            if typ is not None and current:
                current.type = None if typ in ("-", "") else typ
            elif src is not None and current:
                current.source = src
                if not any(i.id == current.id and i.type == current.type for i in t.identifiers):
                    t.identifiers.append(current)
                current = None
            else:
                current = Identifier(line)
    elif kind == "contacts":
        for i, line in enumerate(lines):
            if i + 1 < len(lines) and lines[i + 1].startswith("Role:"):
                contact = Contact(line, attr(lines[i + 1], "Role:"))
                for extra in lines[i + 2:i + 4]:
                    if re.fullmatch(r"[+\d()][\d\s().+-]{5,}", extra):
                        contact.phone = extra
                    elif "@" in extra:
                        contact.email = extra
                if not any(c.name == contact.name and c.role == contact.role for c in t.contacts):
                    t.contacts.append(contact)
    elif kind == "locations":
        rows = [ln for ln in lines if not ln.startswith("Site Status")]
        i = 0
        while i < len(rows):
            facility = rows[i]
            address = rows[i + 1] if i + 1 < len(rows) and "," in rows[i + 1] else None
            loc = Location(facility=facility)
            if address:
                parts = [p.strip() for p in address.split(",")]
                loc.city = parts[0] or None
                loc.country = parts[-1] or None
                loc.state = (parts[1] or None) if len(parts) > 2 else None
                i += 2
            else:
                i += 1
            t.locations.append(loc)
    elif kind == "interventions":
        item = []
        for line in lines:
            typ = attr(line, "Intervention Type")
            if typ is None:
                item.append(line)
                continue
            if item:
                t.interventions.append(Intervention(item[0], norm_status(typ), " ".join(item[1:]) or None))
            item = []
