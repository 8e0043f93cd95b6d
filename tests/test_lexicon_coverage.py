"""Coverage of the clinical vocabulary (data/concepts.json, concept_parents.json, analytes.json).

Users ask with lay words, brand names and abbreviations; records write the clinical term. These
tests check both sides meet on one concept, that class and member reach each other, that the
words found in real criterion sentences (copied from the ClinicalTrials.gov records in
../shared/data/ctgov, one record each) are read, and that ambiguous short abbreviations stay quiet
where they mean something else.
"""

from __future__ import annotations

import json
import re
import tarfile
from xml.etree import ElementTree
from pathlib import Path

import pytest

from trialqa.answering import analyse, ancestors
from trialqa.extraction import rules

CTGOV = Path(__file__).resolve().parents[2] / "shared" / "data" / "ctgov"


def concepts(text: str) -> set[str]:
    return {e.concept for e in rules().extract(text) if e.label == "CONDITION"}


def reach(text: str) -> set[str]:
    """The concepts a mention names, with the ancestors a patient's concept implies."""
    found = concepts(text)
    return found | {a for c in found for a in ancestors(c)}


# (what a user writes, the concept the records use)
LAY = [
    ("heart attack", "myocardial infarction"),
    ("a previous MI", "myocardial infarction"),
    ("STEMI", "myocardial infarction"),
    ("chest pain from angina", "angina"),
    ("irregular heartbeat", "cardiac arrhythmia"),
    ("AFib", "atrial fibrillation"),
    ("a mini-stroke", "transient ischemic attack"),
    ("blocked arteries", "coronary artery disease"),
    ("bypass surgery", "coronary artery bypass graft"),
    ("a heart stent", "percutaneous coronary intervention"),
    ("leaky heart valve", "valvular heart disease"),
    ("poor circulation in the legs", "peripheral vascular disease"),
    ("blood clot in the lung", "pulmonary embolism"),
    ("DVT", "deep vein thrombosis"),
    ("high cholesterol", "hyperlipidemia"),
    ("blood thinners", "anticoagulants"),
    ("blood thinners", "antiplatelets"),
    ("Coumadin", "anticoagulants"),
    ("Eliquis", "anticoagulants"),
    ("Xarelto", "anticoagulants"),
    ("Plavix", "antiplatelets"),
    ("water pills", "diuretics"),
    ("Lasix", "diuretics"),
    ("HCTZ", "diuretics"),
    ("Lipitor", "statins"),
    ("fibric acid derivatives", "fibrates"),
    ("Tylenol", "acetaminophen"),
    ("paracetamol", "acetaminophen"),
    ("Advil", "NSAIDs"),
    ("painkillers", "analgesics"),
    ("methadone", "opioids"),
    ("OxyContin", "opioids"),
    ("Prograf", "immunosuppressants"),
    ("Rapamune", "immunosuppressants"),
    ("Neoral", "immunosuppressants"),
    ("CellCept", "immunosuppressants"),
    ("Myfortic", "immunosuppressants"),
    ("Imurel", "immunosuppressants"),
    ("Imuran", "immunosuppressants"),
    ("anti-rejection medication", "immunosuppressants"),
    ("Humira", "TNF inhibitors"),
    ("Enbrel", "TNF inhibitors"),
    ("Remicade", "TNF inhibitors"),
    ("Zoloft", "SSRIs"),
    ("Prozac", "antidepressants"),
    ("clozapine", "antipsychotics"),
    ("Zyprexa", "antipsychotics"),
    ("Aricept", "cholinesterase inhibitors"),
    ("Lynparza", "PARP inhibitors"),
    ("Herceptin", "HER2-targeted therapy"),
    ("birth control pills", "oral contraceptives"),
    ("seizure medicine", "anticonvulsants"),
    ("Nexium", "proton pump inhibitors"),
    ("grapefruit juice", "CYP3A4 inhibitors"),
    ("St. John's wort", "CYP3A4 inducers"),
    ("blood pressure pills", "antihypertensives"),
    ("metformin", "antidiabetic agents"),
    ("chemo", "chemotherapy"),
    ("manic depression", "bipolar disorder"),
    ("schizophrenic", "schizophrenia"),
    ("clinical depression", "major depressive disorder"),
    ("PTSD", "post-traumatic stress disorder"),
    ("fits of epilepsy", "epilepsy"),
    ("kidney stones", "kidney stones"),
    ("spleen removed", "splenectomy"),
    ("functional asplenia", "splenectomy"),
    ("shrimp allergy", "shellfish allergy"),
    ("peanut allergy", "food allergy"),
    ("bee sting allergy", "insect sting allergy"),
    ("coughing up blood", "hemoptysis"),
    ("preemie", "prematurity"),
    ("born prematurely", "prematurity"),
    ("eczema", "atopic dermatitis"),
    ("wear and tear arthritis", "osteoarthritis"),
    ("lupus", "lupus"),
    ("Wegener's granulomatosis", "granulomatosis with polyangiitis"),
    ("Crohn's disease", "inflammatory bowel disease"),
    ("stomach ulcer", "peptic ulcer"),
    ("vomiting blood", "gastrointestinal bleeding"),
    ("scarring of the liver", "cirrhosis"),
    ("fatty liver", "fatty liver disease"),
    ("heavy drinker", "alcohol abuse"),
    ("street drugs", "drug abuse"),
    ("smoker", "smoking"),
    ("vaping", "smoking"),
    ("morbidly obese", "obesity"),
    ("low blood sugar", "hypoglycemia"),
    ("underactive thyroid", "hypothyroidism"),
    ("flu shot", "influenza vaccine"),
    ("Engerix-B", "hepatitis B vaccine"),
    ("Recombivax HB", "hepatitis B vaccine"),
    ("MMR vaccine", "live vaccines"),
    ("shingles", "herpes zoster"),
    ("haemodialysis", "dialysis"),
    ("new kidney from a living donor", "living donor transplantation"),
    ("kidney transplant", "kidney transplantation"),
    ("radiation treatment", "radiotherapy"),
    ("major surgery", "surgery"),
    ("TB skin test", "tuberculosis"),
    ("positive PPD", "tuberculosis"),
    ("QuantiFERON", "tuberculosis"),
    ("expecting mothers", "pregnancy"),
    ("nursing mothers", "breastfeeding"),
    ("HER2+", "HER2-positive"),
    ("seasonal allergies", "allergic rhinitis"),
    ("hives", "urticaria"),
    ("sleep apnoea", "sleep apnea"),
    ("Parkinson's", "Parkinson's disease"),
    ("Alzheimer's", "Alzheimer's disease"),
]


@pytest.mark.parametrize("phrase, concept", LAY)
def test_lay_words_brands_and_abbreviations_name_the_clinical_concept(phrase, concept):
    assert concept in concepts(phrase), (phrase, concepts(phrase))


# (member, class it implies): what a patient on the member has, via concept_parents.json
IMPLIES = [
    ("Plavix", "antithrombotic agents"),
    ("warfarin", "antithrombotic agents"),
    ("aspirin", "antiplatelets"),
    ("Humira", "immunosuppressants"),
    ("Humira", "biologic therapy"),
    ("Prograf", "calcineurin inhibitors"),
    ("Lipitor", "lipid-lowering agents"),
    ("fenofibrate", "lipid-lowering agents"),
    ("Tylenol", "analgesics"),
    ("Zoloft", "psychotropic medication"),
    ("flu shot", "vaccination"),
    ("Engerix-B", "vaccination"),
    ("AFib", "heart disease"),
    ("heart attack", "coronary artery disease"),
    ("CABG", "coronary revascularization"),
    ("DVT", "thromboembolism"),
    ("kidney transplant", "organ transplantation"),
    ("hemodialysis", "renal failure"),
    ("cirrhosis", "liver failure"),
    ("schizophrenia", "psychiatric disorder"),
    ("manic depression", "psychiatric disorder"),
    ("heavy drinker", "substance abuse"),
    ("Wegener's granulomatosis", "vasculitis"),
    ("Wegener's granulomatosis", "autoimmune disease"),
    ("ulcerative colitis", "autoimmune disease"),
    ("shrimp", "hypersensitivity"),
    ("preemie", "gestational age at birth"),
    ("Hodgkin's disease", "malignancy"),
    ("hypothyroidism", "thyroid disease"),
    ("type 2 diabetes", "diabetes"),
]


@pytest.mark.parametrize("member, cls", IMPLIES)
def test_a_member_implies_its_classes(member, cls):
    assert cls in reach(member), (member, reach(member))


# A class question reaches member mentions and a member question the class criterion. Criteria
# answers match the question's concepts against each criterion's concepts as they stand (no
# hierarchy there), so the data lists member names under the classes that lump them.
CLASS_AND_MEMBER = [
    ("Are blood thinners allowed?", "Concurrent warfarin or heparin is not allowed."),
    ("Are blood thinners allowed?", "No clopidogrel within 7 days."),
    ("Can I take Eliquis?", "Patients requiring therapeutic anticoagulation are excluded."),
    ("Are immunosuppressants excluded?", "Prior treatment with etanercept or infliximab."),
    ("Are TNF inhibitors allowed?", "Prior adalimumab (Humira) is not allowed."),
    ("Is Humira allowed?", "No concurrent immunosuppressive therapy."),
    ("Are water pills a problem?", "Treatment with furosemide or other loop diuretics."),
    ("Can I stay on my cholesterol medication?", "Patients on simvastatin must stop 2 weeks before."),
    ("Is a psychiatric illness excluded?", "History of bipolar disorder or schizophrenia."),
    ("Is a heart problem excluded?", "Atrial fibrillation requiring treatment."),
    ("What about pain medication?", "Chronic use of opioids or NSAIDs."),
    ("Are vaccines allowed?", "Live attenuated vaccines within 30 days."),
    ("Is a preemie eligible?", "Infants born at full term (37 weeks or more)."),
]


@pytest.mark.parametrize("question, criterion", CLASS_AND_MEMBER)
def test_class_and_member_meet_in_the_criteria_route(question, criterion):
    q = analyse(question).concepts
    assert q & concepts(criterion), (q, concepts(criterion))


# Real criterion sentences: (record, sentence as written there, concept). One record per row.
RECORDS = [
    ("NCT00001589", "Anticoagulant, thrombolytic, hemorrheologic and/or antiplatelet agents (within the last 10 days).", "antiplatelets"),
    ("NCT00000628", "Drugs known to induce hepatocellular enzymes, such as phenobarbital, phenytoin, warfarin, ketoconazole, and oral contraceptives, within 30 days prior to entry.", "anticoagulants"),
    ("NCT00000664", "Antihypertensive medication other than diuretics.", "diuretics"),
    ("NCT00000903", "[AS PER AMENDMENT 4/3/00: Lovastatin or simvastatin with PIs is not recommended. Caution should be exercised with the use of all other statins when used concomitantly with PIs.]", "statins"),
    ("NCT00006412", "Have failed previous statin or fibrate therapy (after 24 weeks of treatment) or have had side effects from these drugs.", "fibrates"),
    ("NCT00000425", "Unwillingness to take acetaminophen for pain relief", "acetaminophen"),
    ("NCT00000273", "11. Sensitivity, allergy, or contraindication to opioids", "opioids"),
    ("NCT00000756", "Systemic immunosuppressive therapy (i.e., steroids, cyclosporine, chemotherapy, or alpha-interferon).", "cyclosporine"),
    ("NCT00000401", "Clinically stable RA and unlikely to require adjustment of doses of DMARDs, NSAIDs, prednisone, or anti-TNFα therapies for the treatment phase of the study", "TNF inhibitors"),
    ("NCT00000271", "3. History of allergic reaction to desipramine or imipramine.", "antidepressants"),
    ("NCT00000428", "Patients with any contraindications to using either amitriptyline or fluoxetine", "SSRIs"),
    ("NCT00000371", "Have been treated for at least 6 months with any conventional neuroleptic", "antipsychotics"),
    ("NCT00000173", "Any prior use of any FDA approved medications for the treatment of Alzheimer's disease (e.g. tacrine, donepezil, or other newly approved medications).", "cholinesterase inhibitors"),
    ("NCT01562210", "* Any previous treatment with a PARP inhibitor, including Olaparib", "PARP inhibitors"),
    ("NCT00003440", "Prior Herceptin therapy is not allowed", "HER2-targeted therapy"),
    ("NCT00000420", "Use of estrogen (OCP) for >1 month at any time after SLE diagnosis", "oral contraceptives"),
    ("NCT00000293", "Unstable medical conditions; current use of Hismanal, Seldane, or Propulsid; dx of MR, OBS, bipolar, schizophrenia.", "bipolar disorder"),
    ("NCT00000374", "First episode schizophrenia, schizophreniform disorder or schizoaffective disorder", "schizophrenia"),
    ("NCT00000375", "Major depressive disorder that is responsive to acute phase ECT.", "major depressive disorder"),
    ("NCT00000412", "Cirrhosis, inflammatory liver disease, or nephrolithiasis", "kidney stones"),
    ("NCT00001416", "Splenectomized Gaucher patients.", "splenectomy"),
    ("NCT00001771", "Subjects with a prior reaction to iodine, iodine compounds, or shellfish will be excluded from this study.", "shellfish allergy"),
    ("NCT00006276", "Persons who are allergic to bee stings.", "insect sting allergy"),
    ("NCT00003803", "No hemoptysis causing a decrease of hemoglobin of 1 g/dL or more within 24 hours", "hemoptysis"),
    ("NCT00000570", "Boy and girl preterm infants 24-29 weeks of gestational age and 500-1400 grams birthweight.", "prematurity"),
    ("NCT00001100", "Were full term infants (at least 32 weeks gestation).", "full-term birth"),
    ("NCT00000404", "Study participants must be treated for chronic knee pain by a primary care physician at a participating HMO and satisfy American College of Rheumatology Clinical Criteria for the diagnosis of knee OA.", "osteoarthritis"),
    ("NCT00000106", "Patients are required to meet the criteria of the American College of Rheumatology (ACR)for rheumatoid arthritis.", "rheumatoid arthritis"),
    ("NCT00000421", "Inactive or stable in lupus activity", "lupus"),
    ("NCT00001256", "Diagnosis: Wegener's granulomatosis.", "granulomatosis with polyangiitis"),
    ("NCT00000429", "Have another chronic illness that affects growth or bone mineralization (for example, Down's Syndrome, inflammatory bowel disease, steroid-dependent asthma)", "inflammatory bowel disease"),
    ("NCT00000427", "Active peptic ulcer disease or severe reflux", "peptic ulcer"),
    ("NCT00000572", "1. Contraindication to anti-coagulation (for example, gastrointestinal bleeding, recent cerebrovascular accident, or chronic bleeding disorder).", "gastrointestinal bleeding"),
    ("NCT00000449", "History of cirrhosis, hepatocellular disease, or elevated bilirubin.", "cirrhosis"),
    ("NCT00000135", "Active medical problems, including drug or alcohol abuse, that are considered sufficient to hinder compliance with treatment or follow up procedures", "alcohol abuse"),
    ("NCT00000205", "M/F ages 21-50. Opiate dependence according to DSM-IV criteria.", "drug abuse"),
    ("NCT00000306", "Have current dependence on any psychoactive disorder other than nicotine", "smoking"),
    ("NCT00000448", "Women who are significantly overweight or significantly underweight.", "obesity"),
    ("NCT00000714", "Symptomatic hypoglycemia with blood glucose < 40, or hyperglycemia requiring therapy.", "hypoglycemia"),
    ("NCT00000870", "Untreated thyroid disease (treated and stable hyperthyroidism or hypothyroidism for at least 4 weeks prior to study entry is permitted).", "hypothyroidism"),
    ("NCT00001300", "If allergic to eggs, egg products, or thimerosal, or have a history of Guillain-Barre syndrome, ineligible to receive influenza vaccine.", "influenza vaccine"),
    ("NCT00000960", "Treatment for nonserious conditions (e.g., syphilis treatment, hepatitis B vaccine).", "hepatitis B vaccine"),
    ("NCT00000775", "Live attenuated vaccines within the past 60 days.", "live vaccines"),
    ("NCT00000685", "They must have been on dialysis treatment for at least 3 months.", "dialysis"),
    ("NCT00001392", "Recurrent FSGS following renal transplant", "kidney transplantation"),
    ("NCT00001984", "HLA identical status with a living donor.", "living donor transplantation"),
    ("NCT00000486", "Men and women, ages 21 to 65. Angina pectoris (class III or class IV) at rest or with minimal exercise.", "angina"),
    ("NCT00000517", "Men and women, 18 years of age or older, with non-rheumatic atrial fibrillation.", "atrial fibrillation"),
    ("NCT00001529", "Normal cardiovascular function, no history of chest pain, myocardial infarction, peripheral vascular disease, transient ischemic attack, or stroke.", "transient ischemic attack"),
    ("NCT00000460", "Men, ages 30 to 67, with documented coronary heart disease.", "coronary artery disease"),
    ("NCT00000462", "Multivessel coronary artery disease requiring revascularization and suitable for either PTCA or CABG.", "coronary artery bypass graft"),
    ("NCT00001402", "No PTCA or CABG within 3 months of enrollment.", "percutaneous coronary intervention"),
    ("NCT00000742", "History of cardiovascular disease including conduction disturbances, arrhythmias, atherosclerotic heart disease, or valvular heart disease.", "valvular heart disease"),
    ("NCT00000539", "Men and women with symptomatic or asymptomatic peripheral arterial disease.", "peripheral vascular disease"),
    ("NCT00001378", "No history of deep venous thrombosis.", "deep vein thrombosis"),
    ("NCT00000897", "Have a history of chronic high blood pressure, thrombophlebitis, and/or pulmonary emboli if participating in Step 2 of the study.", "pulmonary embolism"),
    ("NCT00000637", "Systemic ketoconazole and fluconazole for acute therapy.", "CYP3A4 inhibitors"),
    ("NCT00001053", "Omeprazole given concurrently in patients receiving the oral vaccine dose.", "proton pump inhibitors"),
    ("NCT00000456", "Need for maintenance or acute treatment with any psychoactive medication including antiseizure medications.", "anticonvulsants"),
    ("NCT00000146", "No previous corticosteroid treatment for optic neuritis or multiple sclerosis", "multiple sclerosis"),
    ("NCT00000362", "Have dementia or Parkinson's disease and are found to aspirate on thin liquid during a set of qualifying swallows.", "Parkinson's disease"),
    ("NCT00000633", "Evidence of disseminated tuberculosis, severe or persistent candidiasis, oral hairy leukoplakia, prolonged or very severe diarrhea, herpes zoster, or herpes simplex persisting more than one month.", "herpes zoster"),
    ("NCT00001471", "PT or PTT prolonged by greater than 2 seconds unless patient has documented lupus anticoagulant/anti-phospholipid syndrome, which is not associated with an increased bleeding risk", "thrombophilia"),
    ("NCT00000658", "Diagnosis of HIV seropositivity and non-Hodgkin's lymphoma.", "lymphoma"),
    ("NCT00001623", "Multiple myeloma following initial disease control with chemotherapy.", "multiple myeloma"),
    ("NCT00000178", "Patients with Alzheimer's disease who are in stable medical condition", "Alzheimer's disease"),
    ("NCT00000638", "Current or documented history of positive PPD skin test.", "tuberculosis"),
    ("NCT00000630", "Eczema, active or within the past year.", "atopic dermatitis"),
    # API v2 records (the NSCLC set)
    ("NCT04318938", "Cerebrovascular accident or transient ischemic attack within 6 months prior to first dose of study drug", "transient ischemic attack"),
    ("NCT06029816", "There are many factors that affect the oral administration of drugs (such as inability to swallow, chronic diarrhea, intestinal obstruction and other gastrointestinal diseases or abnormalities);", "dysphagia"),
    ("NCT04646330", "Has received a live virus vaccine within 30 days of the planned first dose of study therapy", "live vaccines"),
    ("NCT05798663", "Patients with controlled Type 1 diabetes mellitus on a stable insulin regimen may be eligible.", "type 1 diabetes"),
    ("NCT06050980", "Patient who is undergoing, or receiving long-term(\\> 6 months) anticoagulant/antiplatelet therapy; receiving drugs affecting coagulation function 1 week prior to the first dose of HSK40118.", "antiplatelets"),
    ("NCT03416231", "Patients who received the treatment with potent CYP3A4 inhibitors within 7 days before screening, or potent CYP3A4 inducers within 12 days before being included.", "CYP3A4 inhibitors"),
    ("NCT05821933", "An arterial/venous thrombotic event such as a cardiovascular accident (including temporary ischemic attack), deep vein thrombosis and pulmonary embolism within 6 months prior to study dosing.", "deep vein thrombosis"),
    ("NCT02652234", "Arrhythmias need to be treated; history of coronary artery disease (including angina pectoris and myocardial infarction) or ischemic myocardium; congestive heart-failure NYHA class ≥ II；", "coronary artery disease"),
    ("NCT03955198", "Patient unable to have MRI for any reason (e.g., due to pacemaker, ferromagnetic implants, claustrophobia, extreme obesity)", "cardiac implantable device"),
]


def test_the_record_rows_are_from_enough_records():
    assert len({nct for nct, _, _ in RECORDS}) >= 30
    assert len({nct for nct, _, _ in RECORDS}) == len(RECORDS)  # one row per record


@pytest.mark.parametrize("nct, sentence, concept", RECORDS)
def test_real_criterion_sentences_are_read(nct, sentence, concept):
    assert concept in concepts(sentence), (nct, concepts(sentence))


def _record_texts() -> dict[str, str]:
    out: dict[str, str] = {}
    tgz = CTGOV / "ctgov_legacy_xml_6786.tgz"
    wanted = {nct for nct, _, _ in RECORDS}
    with tarfile.open(tgz) as tf:
        for m in tf:
            name = Path(m.name).stem
            if m.isfile() and name in wanted:
                root = ElementTree.fromstring(tf.extractfile(m).read())
                out[name] = root.findtext("eligibility/criteria/textblock") or ""
    for s in json.loads((CTGOV / "api_v2_nsclc_100.json").read_text("utf-8")):
        nct = s["protocolSection"]["identificationModule"]["nctId"]
        if nct in wanted:
            out[nct] = s["protocolSection"].get("eligibilityModule", {}).get("eligibilityCriteria", "")
    return out


@pytest.mark.skipif(not (CTGOV / "ctgov_legacy_xml_6786.tgz").exists(), reason="shared ClinicalTrials.gov data not present")
def test_the_sentences_are_copied_from_their_records():
    texts = _record_texts()
    squash = lambda s: re.sub(r"\s+", " ", s)
    missing = [nct for nct, sentence, _ in RECORDS
               if nct not in texts or squash(sentence.lstrip("* ")) not in squash(texts[nct])]
    assert not missing, missing


# Short abbreviations that are also words or mean other things must not fire there.
QUIET = [
    ("Complaint of dry mouth with ALL the following characteristics", "acute lymphoblastic leukemia"),
    ("Subject has undergone vascular surgery (CABG, AAA repair, AF bypass)", "atrial fibrillation"),
    ("No evidence of metastases by PE, CXR, chest CT, and bone scans.", "pulmonary embolism"),
    ("RA with ringed sideroblasts or refractory anemia with excess blasts", "rheumatoid arthritis"),
    ("No significant pulmonary disease (RA pO2 less than 60)", "rheumatoid arthritis"),
    ("Patients with PD according to RECIST after two cycles", "Parkinson's disease"),
    ("Prior Total Body Irradiation (TBI) is not allowed", "traumatic brain injury"),
    ("rhabdomyosarcoma (RMS), or non-RMS soft tissue sarcoma", "multiple sclerosis"),
    ("Pain managed by a stable maintenance dose of MS Contin", "multiple sclerosis"),
    ("Leucovorin calcium (CF) allowed", "cystic fibrosis"),
    ("Patients living in a nursing home", "breastfeeding"),
    ("Use of latex condoms is acceptable", "latex allergy"),
    ("Compounds of similar chemical or biologic composition", "biologic therapy"),
    ("History of full-term pregnancy", "full-term birth"),
    ("Hematocrit (HCT) at least 30%", "bone marrow transplantation"),
    ("Cerebrospinal fluid (CSF) negative for malignant cells", "myeloid growth factors"),
    ("Tb level measured in serum", "tuberculosis"),
    ("Able to walk 1 mi without assistance", "myocardial infarction"),
    ("participation in previous STI studies", "sexually transmitted infection"),
]


@pytest.mark.parametrize("text, concept", QUIET)
def test_ambiguous_abbreviations_stay_quiet(text, concept):
    assert concept not in concepts(text), (text, concepts(text))


def test_abbreviations_still_fire_where_they_mean_the_concept():
    assert "multiple sclerosis" in concepts("Relapsing-remitting MS according to Poser criteria")
    assert "osteoarthritis" in concepts("Severe OA (Kellgren and Lawrence Grade IV) of the knee")
    assert "coronary artery disease" in concepts("Stable coronary artery disease (CAD) documented or suspected")
    assert "myocardial infarction" in concepts("MI within the preceding year")
    assert "tuberculosis" in concepts("No active TB")


def test_negation_still_reaches_multiword_mentions():
    ents = {e.concept: e.negated for e in rules().extract("No prior radiation therapy and no history of TB.")
            if e.label == "CONDITION"}
    assert ents["radiotherapy"] and ents["tuberculosis"]
    assert all(e.negated for e in rules().extract("No known history of kidney stones") if e.label == "CONDITION")


# Analytes: lay names of the measurements and the kidney-function group.
ANALYTES = [
    ("kidney function", "renal function"),
    ("renal function", "renal function"),
    ("sugar control", "HbA1c"),
    ("blood sugar control", "HbA1c"),
    ("A1C", "HbA1c"),
    ("glycated hemoglobin", "HbA1c"),
    ("liver enzymes", "transaminases"),
    ("liver function tests", "transaminases"),
    ("LFTs", "transaminases"),
    ("white count", "white blood cells"),
    ("eGFR", "creatinine clearance"),
    ("estimated GFR", "creatinine clearance"),
    ("heart rate", "heart rate"),
]


@pytest.mark.parametrize("phrase, analyte", ANALYTES)
def test_lay_analyte_names(phrase, analyte):
    assert analyte in {name for _, _, name in rules().analyte_gaz.find(phrase)}


def test_kidney_function_reaches_creatinine_and_its_clearance():
    r = rules()
    assert {"creatinine", "creatinine clearance"} <= r.related_analytes(["renal function"])
    assert "renal function" in r.related_analytes(["creatinine clearance"])
    e = next(e for e in r.extract("Adequate renal function: serum creatinine <= 1.5 mg/dL") if e.label == "LAB")
    assert (e.analyte, e.value) == ("creatinine", 1.5)
    e = next(e for e in r.extract("Heart rate less than 50 bpm") if e.label == "LAB")
    assert (e.analyte, e.op, e.value) == ("heart rate", "<", 50)
