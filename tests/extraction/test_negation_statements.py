"""How negation and statements of exclusion read in criteria (the compile step): a leading "No" or
"must not" negates a threshold and every named thing after it; "X are excluded" states what excludes;
"must ..." listed among exclusions states a requirement; "not A or B" is neither. Wordings from
several records of ../shared/data (NCT ids noted)."""

from __future__ import annotations

import pytest

from trialqa.extraction.describe import describe

from trialqa.extraction import compile_criterion, rules
from trialqa.records import Criterion

from .test_requirements import req


def d(text: str, section: str = "inclusion") -> str:
    return describe(req(text, section).to_dict())


@pytest.mark.parametrize("text, expected", [
    ("No resting heart rate less than 60 bpm.", "REQUIRE NOT measurement:heart rate < 60 bpm"),  # NCT00001402
    ("No subjects below 18 years of age.", "REQUIRE NOT age:age < 18 years"),  # NCT00001287
    ("No patients less than or equal to 5 years old.", "REQUIRE NOT age:age <= 5 years"),  # NCT00001455
    ("Must not have serum bilirubin greater than 4 mg/dl.", "REQUIRE NOT measurement:bilirubin > 4 mg/dL"),  # NCT00001144
    ("Patients must not have a systolic blood pressure greater than 200 mmHg.",
     "REQUIRE NOT measurement:blood pressure > 200 mmHg"),  # NCT00001314
    ("No body mass index of 28 or greater", "REQUIRE NOT measurement:body mass index >= 28"),  # NCT00006270
])
def test_a_leading_negation_negates_the_threshold_of_its_subject(text, expected):
    assert d(text).startswith(expected)


@pytest.mark.parametrize("text, expected", [
    ("Not less than 18 years old.", "REQUIRE age:age >= 18 years"),  # the comparator is the atom's own
    ("Hemoglobin not less than 9 g/dL", "REQUIRE measurement:hemoglobin >= 9 g/dL"),
    ("Not older than 65 years", "REQUIRE age:age <= 65 years"),
    ("Creatinine clearance must be greater than 50 cc/min.", "REQUIRE measurement:creatinine clearance > 50 mL/min"),
    ("No prior chemotherapy; platelets > 100,000/mm3", "REQUIRE (NOT treatment:history chemotherapy AND measurement:platelets > 100000"),
])
def test_a_threshold_stating_its_own_direction_is_not_negated(text, expected):
    assert d(text).startswith(expected)


def test_a_run_on_list_negates_each_item_it_heads():
    # NCT00005810 (PDQ style, the items' line breaks lost)
    got = d("Cardiovascular: No myocardial infarction within past 1 year No congestive heart failure "
            "No New York Heart Association class II-IV")
    assert "NOT condition:myocardial infarction" in got and "NOT score:NYHA 2-4" in got
    assert "condition:heart disease" not in got  # the heading names the topic, it is not required


@pytest.mark.parametrize("section", ["inclusion", "exclusion"])
@pytest.mark.parametrize("text, expected", [
    ("Subjects who are pregnant are excluded from the PET and MRI tests in this study.",
     "EXCLUDE IF pregnancy:pregnancy"),  # NCT00001308
    ("Pregnant and lactating women are excluded.", "EXCLUDE IF (pregnancy:pregnancy OR pregnancy:breastfeeding)"),  # NCT00006289
    ("Subjects with a diagnosis of ulcerative colitis are excluded.", "EXCLUDE IF condition:ulcerative colitis"),  # NCT00007163
    ("Smokers are not allowed.", "EXCLUDE IF condition:smoking"),
    ("Administration of tacrine, donepezil, rivastigmine, galantamine, anti-depressants are prohibited within "
     "thirty days prior to enrollment.", "EXCLUDE IF (treatment:cholinesterase inhibitors [within thirty days] OR "
     "treatment:antidepressants [within thirty days])"),  # NCT00001662
    ("Patients without diabetes are excluded.", "EXCLUDE IF NOT condition:diabetes"),  # its own negation kept
])
def test_a_statement_of_exclusion_names_what_excludes(text, expected, section):
    assert d(text, section).startswith(expected)


def test_a_negation_inside_an_exclusion_statement_is_kept():
    # NCT00001456: "unable to provide consent" is an absence of consent
    got = d("Pregnant women and adults who are unable to provide consent are excluded.", "exclusion")
    assert "NOT consent:informed consent" in got


@pytest.mark.parametrize("text, expected", [
    ("Creatinine clearance must be greater than 50 cc/min.", "REQUIRE measurement:creatinine clearance > 50"),  # NCT00001457
    ("Informed consent must be obtained.", "REQUIRE consent:informed consent"),  # NCT00001379
    ("Subjects must be HIV negative.", "REQUIRE NOT condition:HIV infection"),  # NCT00001936
])
def test_a_requirement_listed_among_the_exclusions_stays_a_requirement(text, expected):
    assert d(text, "exclusion").startswith(expected)


@pytest.mark.parametrize("text, expected", [
    ("Patients must not have undergone splenectomy", "EXCLUDE IF procedure:splenectomy"),  # NCT00003761
    ("Patient must not ever have had a total CD4 count of less than or equal to 150 cells/cubic millimeter during "
     "the year prior to enrollment.", "EXCLUDE IF measurement:CD4 count <= 150"),  # NCT00001899
    # NCT00006173: the thresholds after the comma are excluded too
    ("Healthy subjects must not have an abnormality on physical examination, or a systolic BP above 140 mmHg or a "
     "diastolic BP above 90 mmHg", "EXCLUDE IF (measurement:blood pressure > 140 mmHg OR measurement:blood pressure > 90 mmHg)"),
    ("Women of childbearing age must not be pregnant or lactating.",
     "EXCLUDE IF (pregnancy:pregnancy OR pregnancy:breastfeeding)"),  # NCT00001251
])
def test_must_not_listed_among_the_exclusions_excludes_what_it_names(text, expected):
    assert d(text, "exclusion").startswith(expected)


@pytest.mark.parametrize("text, expected", [
    ("Patients with diabetes mellitus must have good glycemic control", "EXCLUDE IF condition:diabetes"),  # NCT00495768
    ("Patients in whom the scan must be performed quickly under anesthesia", "EXCLUDE IF procedure:anesthesia"),  # NCT00001219
])
def test_a_conditional_must_among_the_exclusions_is_not_turned_into_a_requirement(text, expected):
    assert d(text, "exclusion").startswith(expected)


def test_an_item_under_you_will_not_be_eligible_stays_an_exclusion():
    # NCT00005010: the criterion's lead-in says what its items are
    text = "Absolutely must take ACE inhibitors or HMG-CoA reductase inhibitors."
    c = Criterion(text, "exclusion", 0, len(text), group="You will not be eligible for this study if you:")
    c.entities = rules().extract(text, "exclusion")
    assert compile_criterion(c).polarity == "exclusion"


@pytest.mark.parametrize("text, expected", [
    # NCT00002680: the "No" is the heart disease's, not the ejection fraction's
    ("Cardiovascular: No active heart disease LVEF at least 50%", "measurement:ejection fraction >= 50 %"),
    # NCT00002588: a washout inside a run-on "No" list is how long ago, not whether
    ("Biologic therapy: No prior bone marrow transplantation At least 3 days since prior hematopoietic growth factors",
     "AND treatment:history hematopoietic growth factors [At least 3 days]"),
    # NCT00001714-like: an abbreviation's dot does not end the negation
    ("No other malignancy (i.e. breast cancer or melanoma) within 5 years.", "NOT condition:melanoma"),
    # NCT00004163: "excepting" makes an exception
    ("No prior malignancy excepting curatively treated cervical cancer", "except cervical cancer"),
    ("No prior hormone therapy for locoregionally recurrent or metastatic colorectal cancer",
     "REQUIRE NOT treatment:history endocrine therapy"),  # NCT00003287: what it was for is not required absent
    ("Chemotherapy: No prior therapy", "REQUIRE NOT treatment:chemotherapy"),  # NCT00002496: the heading is the content
    ("Surgery: Not within the past 4 weeks", "REQUIRE NOT procedure:surgery [within the past 4 weeks]"),
])
def test_what_a_negation_reaches_in_run_on_criteria(text, expected):
    got = d(text)
    assert expected in got and "colorectal" not in got and "REQUIRE NOT measurement:ejection" not in got, got


def test_must_not_more_than_is_a_count_not_an_absence():
    # NCT00004163: one prior regimen is allowed, so chemotherapy is not required absent
    assert "NOT treatment" not in d("Patients must not have received more than two regimens of cytotoxic chemotherapy")


def test_a_list_before_must_keeps_the_exclusion():
    # NCT00001457: "Pregnant or if capable of ... must practice contraception" excludes pregnancy
    got = d("Pregnant or if capable of bearing or fathering children must practice adequate contraception.", "exclusion")
    assert got.startswith("EXCLUDE IF (pregnancy:pregnancy")


@pytest.mark.parametrize("text, expected", [
    ("Patients must not have a history of cardiac arrest or ventricular tachycardia.",
     "REQUIRE NOT condition:cardiac arrhythmia"),  # NCT00001314
    ("Must not have suspected or known alcohol or drug abuse.", "REQUIRE NOT condition:drug abuse"),  # NCT00001906
    ("Patients must not be pregnant or nursing and must be using effective contraception.",
     "REQUIRE (NOT pregnancy:pregnancy AND NOT pregnancy:breastfeeding AND condition:contraception)"),  # NCT00001777
    ("Not pregnant or nursing", "REQUIRE (NOT pregnancy:pregnancy AND NOT pregnancy:breastfeeding)"),  # NCT00004485
    ("No prior anthracycline or cisplatin",
     "REQUIRE (NOT treatment:history anthracyclines AND NOT treatment:history platinum compounds)"),  # NCT00002608
])
def test_must_not_negates_each_named_thing_and_not_a_or_b_is_neither(text, expected):
    assert d(text).startswith(expected)


def test_the_subject_before_must_not_is_whom_it_concerns_not_negated():
    # NCT00001759
    got = d("Asthmatic subjects must not have chronic bronchitis or a diagnosis of chronic obstructive lung disease (COPD).")
    assert "NOT condition:COPD" in got and "NOT condition:asthma" not in got


@pytest.mark.parametrize("text", [
    "No prior chemotherapy for breast cancer",  # NCT00002528
    "No prior radiotherapy for adenocarcinoma of the rectum",  # NCT00002523
    "Chemotherapy: No prior chemotherapy for sarcoma.",  # NCT00001189
    "Patients must not have received any prior chemotherapy or radiotherapy for their sarcoma.",  # NCT00001188
])
def test_what_a_prior_treatment_was_for_is_not_required_absent(text):
    r = req(text)
    assert r.atoms and all(a.kind in ("treatment", "procedure") and a.negated for a in r.atoms), describe(r.to_dict())


def test_a_heading_over_a_washout_keeps_its_window():
    # NCT00002973
    assert d("Biologic therapy: At least 4 weeks since biologic therapy") == \
        "REQUIRE treatment:biologic therapy [At least 4 weeks]"
    got = d("Chemotherapy: At least 8 weeks since nitrosoureas (e.g., lomustine, carmustine, mitomycin) "
            "At least 4 weeks since any other chemotherapy")
    assert "treatment:nitrosoureas [At least 8 weeks]" in got


def test_what_contraception_is_for_is_not_a_requirement():
    # NCT00001259, NCT00005011
    got = d("All subjects will be required to use non-hormonal forms of birth control (e.g., barrier methods) "
            "to avoid pregnancy during this study.", "exclusion")
    assert got.startswith("REQUIRE condition:contraception") and "pregnancy" not in got


@pytest.mark.parametrize("text", [
    "No unintentional weight loss of greater than 10 lbs in the past 3 months",  # NCT00000733
    "Weight loss of more than 10% within the past 6 months",  # NCT00009789
])
def test_a_change_of_a_value_is_not_a_limit_on_the_value(text):
    assert "body weight" not in d(text)


def test_the_words_before_a_mention_that_name_a_kind_of_it():
    from trialqa.extraction.wording import kind_words

    def kind(text, word):
        return kind_words(text, text.index(word))

    assert kind("No renovascular hypertension or other etiologies", "hypertension") == "renovascular"  # NCT00001622
    assert kind("crystal-induced arthritis", "arthritis") == "crystal-induced"  # NCT00000403
    assert kind("Known CNS involvement", "involvement") == "CNS"
    for text, word in (("Known hypertension", "hypertension"), ("History of severe asthma", "asthma"),
                       ("with the intention to control hypertensive disease", "hypertensive"),
                       ("Patients undergoing surgery", "surgery"), ("under psychiatric care", "psychiatric"),
                       ("Stage 3 hypertension", "hypertension")):
        assert kind(text, word) is None, text
    assert kind_words("but reports diabetes", 12, also=frozenset({"reports"})) is None
