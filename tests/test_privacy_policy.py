"""The region policy plugins encode the figures in privacy-rules.md, each with its citation;
a tenant that answers to both regions gets the stricter answer."""

from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from seva_crm.core.common.enums import Region, RequestType
from seva_crm.core.models import PluginSettings, PrivacyProfile
from seva_crm.core.platform.plugin_types import Disposition, RecordCategory, RecordRef
from seva_crm.core.platform.plugins import get_plugins
from seva_crm.core.privacy.policy import combine, region_policies, tenant_policy
from seva_crm.plugins.bangladesh.adapter import BangladeshPolicy
from seva_crm.plugins.dpdp.adapter import DpdpPolicy, gst_retention_until

IN, BD = DpdpPolicy(), BangladeshPolicy()
TODAY = date(2026, 6, 1)


def ref(category, created=datetime(2026, 5, 1, tzinfo=timezone.utc), tax_date=None):
    return RecordRef(category, "t", "1", created, tax_date)


def test_both_policies_are_plugins_found_through_entry_points():
    loaded = get_plugins().loaded
    assert {"dpdp", "bangladesh"} <= loaded.keys()
    assert "seva_region_policies" in loaded["dpdp"].hooks
    assert set(region_policies()) == {"IN", "BD"}


def test_request_types_and_citations():
    india, bangladesh = IN.request_types(), BD.request_types()
    assert india[RequestType.ACCESS].citation.endswith("s.11 (summary of data, processing, and with whom shared)")
    assert "s.14" in india[RequestType.NOMINATION].citation and "Rule 14(4)" in india[RequestType.NOMINATION].citation
    assert india[RequestType.PORTABILITY].value is False  # no portability right in India; export offered anyway
    assert RequestType.NOMINATION not in bangladesh  # nomination is India's only
    assert bangladesh[RequestType.PORTABILITY].value is True and "s.11" in bangladesh[RequestType.PORTABILITY].citation
    assert "s.12" in bangladesh[RequestType.CORRECTION].citation and "s.13" in bangladesh[RequestType.ERASURE].citation


def test_identity_is_proved_by_a_code_or_in_person():
    for policy in (IN, BD):
        assert policy.identity_methods(RequestType.ERASURE).value == {"otp", "in_person"}
    assert "Rule 14(1)" in IN.identity_methods(RequestType.ACCESS).citation


def test_response_deadlines():
    india = IN.response_deadline(RequestType.GRIEVANCE)
    assert india.value == timedelta(days=30) and "Rule 14(3)" in india.citation and india.setting == "response_days"
    assert IN.configured({"response_days": 90}).response_deadline(RequestType.ACCESS).value == timedelta(days=90)
    with pytest.raises(ValidationError):
        IN.configured({"response_days": 91})  # Rule 14(3): not exceeding 90 days
    bd = BD.response_deadline(RequestType.ACCESS)
    assert bd.value == timedelta(days=30) and "unverified" in bd.citation and bd.setting == "response_days"


def test_children_and_guardians():
    for policy, cite in ((IN, "s.2(f)"), (BD, "PDPO")):
        assert policy.minimum_age().value == 18 and cite in policy.minimum_age().citation
        assert policy.guardian_consent_required().value is True
        assert {"marketing", "profiling"} <= policy.child_restricted_purposes().value
    assert "Rule 10" in IN.guardian_consent_required().citation and "s.9(3)" in IN.child_restricted_purposes().citation


def test_notice_requirements():
    india = IN.notice_requirements()
    assert india.elements == {"personal_data", "purposes", "goods_services", "withdraw_link", "rights_link",
                              "complaint_link", "contact"}
    assert india.languages == {"en", "hi", "bn"} and "Rule 3" in india.citation


def test_breach_obligations_india_72_hours_to_the_board():
    obligations = {o.key: o for o in IN.breach_obligations()}
    assert obligations["in.persons"].within is None and "s.8(6)" in obligations["in.persons"].citation
    assert obligations["in.board.initial"].within is None and "Rule 7(2)(a)" in obligations["in.board.initial"].citation
    assert obligations["in.board.detailed"].within == timedelta(hours=72)
    assert "Rule 7(2)(b)" in obligations["in.board.detailed"].citation
    (bd,) = BD.breach_obligations()
    assert bd.within == timedelta(hours=72) and "setting" in bd.citation
    assert BD.configured({"breach_hours": 48}).breach_obligations()[0].within == timedelta(hours=48)


def test_log_retention_at_least_a_year_in_india():
    assert IN.minimum_log_retention().value == timedelta(days=365) and "Rule 8(3)" in IN.minimum_log_retention().citation
    with pytest.raises(ValidationError):
        IN.configured({"minimum_log_retention_days": 200})


def test_tax_retention_gst_72_months_and_vat_5_years():
    # a sale in May 2026 is in FY 2026-27; its annual return is due 31 Dec 2027; keep 72 months more
    assert gst_retention_until(date(2026, 5, 1), 72) == date(2033, 12, 31)
    assert gst_retention_until(date(2026, 2, 1), 72) == date(2032, 12, 31)  # FY 2025-26
    india = IN.retention(ref(RecordCategory.TRANSACTION), TODAY)
    assert india.disposition is Disposition.RETAIN and india.retain_until == date(2033, 12, 31)
    assert "CGST Act 2017 s.36" in india.citation
    bd = BD.retention(ref(RecordCategory.TRANSACTION), TODAY)
    assert bd.disposition is Disposition.RETAIN and bd.retain_until == date(2031, 5, 1) and "VAT and SD Act 2012" in bd.citation
    old = ref(RecordCategory.TRANSACTION, datetime(2015, 1, 1, tzinfo=timezone.utc))
    assert IN.retention(old, TODAY).disposition is Disposition.ERASE


def test_erasure_decisions_per_category():
    assert IN.retention(ref(RecordCategory.PROFILE), TODAY).disposition is Disposition.ANONYMISE
    assert IN.retention(ref(RecordCategory.TAG), TODAY).disposition is Disposition.ERASE
    assert IN.retention(ref(RecordCategory.SERVICE_HISTORY), TODAY).disposition is Disposition.ERASE
    proof = IN.retention(ref(RecordCategory.CONSENT_PROOF), TODAY)
    assert proof.disposition is Disposition.RETAIN and "s.6(10)" in proof.citation
    logs = IN.retention(ref(RecordCategory.TRAFFIC_LOG), TODAY)
    assert logs.disposition is Disposition.RETAIN and logs.retain_until == date(2027, 5, 1)


def test_cross_border_and_disputed_mark():
    assert IN.cross_border_allowed("SG").value is True and "s.16" in IN.cross_border_allowed("SG").citation
    assert IN.configured({"restricted_countries": ["xx"]}).cross_border_allowed("XX").value is False
    assert BD.cross_border_allowed("SG").value is False and BD.cross_border_allowed("BD").value is True
    assert BD.dispute_mark().value is True and "s.12" in BD.dispute_mark().citation
    assert IN.dispute_mark().value is False


def test_stricter_of_two_wins():
    both = combine([IN.configured({"response_days": 45}), BD.configured({"response_days": 20, "breach_hours": 48,
                                                                            "minimum_log_retention_days": 730})])
    deadline = both.response_deadline(RequestType.ACCESS)
    assert deadline.value == timedelta(days=20) and "PDPO" in deadline.citation  # the earlier deadline
    assert both.response_deadline(RequestType.NOMINATION).value == timedelta(days=45)  # only India has nomination
    assert both.minimum_log_retention().value == timedelta(days=730)  # the longer retention
    assert set(both.request_types()) == set(RequestType)  # every right either law grants
    notice = both.notice_requirements()
    assert notice.elements == IN.notice_requirements().elements | BD.notice_requirements().elements
    assert notice.languages == {"en", "bn"}
    keys = {o.key: o for o in both.breach_obligations()}
    assert keys["in.board.detailed"].within == timedelta(hours=72) and keys["bd.authority"].within == timedelta(hours=48)
    assert both.cross_border_allowed("SG").value is False  # Bangladesh refuses
    assert both.dispute_mark().value is True
    tax = both.retention(ref(RecordCategory.TRANSACTION), TODAY)
    assert tax.retain_until == date(2033, 12, 31) and "CGST" in tax.citation  # the longer tax retention
    assert both.minimum_age().value == 18


def test_higher_minimum_age_wins():
    class Older(BangladeshPolicy):
        def minimum_age(self):
            from seva_crm.core.platform.plugin_types import Cited

            return Cited(21, "hypothetical")

    assert combine([IN, Older()]).minimum_age().value == 21


async def test_tenant_policy_reads_profile_and_plugin_settings(make_tenant):
    t = await make_tenant(Region.IN, privacy_contact=None)  # no profile row yet
    policy = await tenant_policy(t.id)
    assert policy.region == "IN"
    await PluginSettings.create(tenant_id=t.id, plugin_id="dpdp", values={"response_days": 60})
    await PluginSettings.create(tenant_id=t.id, plugin_id="bangladesh", values={"response_days": 25})
    assert (await tenant_policy(t.id)).response_deadline(RequestType.ACCESS).value == timedelta(days=60)
    await PrivacyProfile.create(tenant_id=t.id, also_answers_to=["BD"])
    both = await tenant_policy(t.id)
    assert both.region == "IN+BD"
    assert both.response_deadline(RequestType.ACCESS).value == timedelta(days=25)


def test_a_policy_written_against_the_facade_shares_the_keep_or_erase_rules():
    """The rules both built-in policies share live behind seva_crm.plugin_api: a third law gives
    only its figures and citations."""
    from dataclasses import dataclass, field

    from pydantic import BaseModel

    from seva_crm.plugin_api import RetentionSchedule, SettingsRegionPolicy

    assert issubclass(DpdpPolicy, SettingsRegionPolicy) and issubclass(BangladeshPolicy, SettingsRegionPolicy)

    class Figures(BaseModel):
        minimum_log_retention_days: int = 365
        service_retention_days: int | None = None

    @dataclass(frozen=True)
    class Elsewhere(SettingsRegionPolicy):
        settings: Figures = field(default_factory=Figures)
        LOG_RETENTION_CITATION = "Act s.1"
        PURPOSE_SERVED_CITATION = "Act s.2"

        def retention_schedule(self) -> RetentionSchedule:
            return RetentionSchedule(timedelta(days=self.settings.minimum_log_retention_days),
                                     lambda day: day.replace(year=day.year + 3), "tax records", "Tax Act s.9", "Act s.3",
                                     "Act s.4", "logs", "Act s.5", "Act s.6")

    policy = Elsewhere().configured({"minimum_log_retention_days": 730, "service_retention_days": 90})
    assert isinstance(policy, Elsewhere) and policy.settings.minimum_log_retention_days == 730
    assert policy.minimum_log_retention().value == timedelta(days=730)
    assert policy.purpose_served_erasure().value == timedelta(days=90) and Elsewhere().purpose_served_erasure().value is None
    made = datetime(2026, 1, 10, tzinfo=timezone.utc)
    tax = policy.retention(RecordRef(RecordCategory.TRANSACTION, "invoice", "1", made, date(2026, 1, 10)), date(2026, 6, 1))
    assert (tax.disposition, tax.retain_until, tax.citation) == (Disposition.RETAIN, date(2029, 1, 10), "Tax Act s.9")
    logs = policy.retention(RecordRef(RecordCategory.TRAFFIC_LOG, "message", "2", made), date(2028, 1, 11))
    assert logs.disposition is Disposition.ERASE and logs.citation == "Act s.3"  # 730 days have passed
    proof = policy.retention(RecordRef(RecordCategory.CONSENT_PROOF, "consent", "3", made), date(2027, 1, 1))
    assert (proof.disposition, proof.citation) == (Disposition.RETAIN, "Act s.4")
    # and each built-in policy answers alike for what they share, with its own citations
    for law in (IN, BD):
        stub = law.retention(RecordRef(RecordCategory.PROFILE, "customer", "4", made), date(2026, 6, 1))
        assert stub.disposition is Disposition.ANONYMISE and stub.basis == "erasure: the stub keeps retained records consistent"
