"""The breach register: notifications owed under the policy, with deadlines and reminders."""

from datetime import timedelta

from seva_crm.core.common.enums import Region
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.privacy import notify
from seva_crm.core.privacy.breach import breach_reminders
from seva_crm.core.common.security import utcnow

REPORT = """mutation($input: BreachReportInput!) {
  breachReport(input: $input) { breach { id closedAt notifications { key recipient dueAt withinHours citation doneAt } }
    errors { field code message } }
}"""
RECORD = """mutation($id: ID!, $key: String!) {
  breachNotificationRecord(id: $id, key: $key) { breach { closedAt notifications { key doneAt } } errors { field code message } }
}"""


async def test_india_breach_owes_persons_and_board_now_and_a_detailed_report_in_72_hours(tenant):
    aware = utcnow() - timedelta(hours=50)
    with notify.listen() as sent:
        result = (await tenant.api.ok(REPORT, input={"title": "Stolen laptop", "awareAt": aware.isoformat(),
                                                      "affectedCount": 120, "dataCategories": ["name", "phone"]}))["breachReport"]
    assert result["errors"] == []
    owed = {n["key"]: n for n in result["breach"]["notifications"]}
    assert set(owed) == {"in.persons", "in.board.initial", "in.board.detailed"}
    assert owed["in.persons"]["withinHours"] is None and owed["in.board.initial"]["withinHours"] is None
    assert owed["in.board.detailed"]["withinHours"] == 72 and "Rule 7(2)(b)" in owed["in.board.detailed"]["citation"]
    detailed_due = owed["in.board.detailed"]["dueAt"]
    assert detailed_due.startswith((aware + timedelta(hours=72)).isoformat()[:16])
    assert any(i.data.get("kind") == "breach.reported" for i in sent)

    bid = from_global_id(result["breach"]["id"], "Breach")
    now = utcnow()
    mine = [r for r in await breach_reminders(now) if r.breach_id == bid]
    assert {(r.key, r.stage) for r in mine} == {("in.persons", "overdue"), ("in.board.initial", "overdue"),
                                                ("in.board.detailed", "due_soon")}
    assert [r for r in await breach_reminders(now) if r.breach_id == bid] == []  # once per stage
    later = [r for r in await breach_reminders(now + timedelta(hours=23)) if r.breach_id == bid]
    assert [(r.key, r.stage) for r in later] == [("in.board.detailed", "overdue")]

    for key in ("in.persons", "in.board.initial"):
        await tenant.api.ok(RECORD, id=result["breach"]["id"], key=key)
    unknown = (await tenant.api.ok(RECORD, id=result["breach"]["id"], key="nope"))["breachNotificationRecord"]
    assert unknown["errors"][0]["field"] == "key"
    last = (await tenant.api.ok(RECORD, id=result["breach"]["id"], key="in.board.detailed"))["breachNotificationRecord"]
    assert last["breach"]["closedAt"] and all(n["doneAt"] for n in last["breach"]["notifications"])
    assert [r for r in await breach_reminders(now + timedelta(days=10)) if r.breach_id == bid] == []


async def test_bangladesh_authority_in_72_hours_and_both_regions_union(make_tenant):
    bd = await make_tenant(Region.BD)
    result = (await bd.api.ok(REPORT, input={"title": "Misdirected email"}))["breachReport"]["breach"]
    assert [(n["key"], n["withinHours"]) for n in result["notifications"]] == [("bd.authority", 72)]
    await bd.api.ok('mutation { privacyProfileUpdate(input: {alsoAnswersTo: [IN]}) { errors { code } } }')
    both = (await bd.api.ok(REPORT, input={"title": "Second incident"}))["breachReport"]["breach"]
    assert {n["key"] for n in both["notifications"]} == {"bd.authority", "in.persons", "in.board.initial", "in.board.detailed"}


async def test_privacy_policy_query_shows_each_rule_with_its_citation(tenant):
    data = await tenant.api.ok("""{ privacyPolicy { region minimumAge { value citation } minimumLogRetentionDays { value citation setting }
      requestTypes { type statutory deadlineDays deadlineCitation } breachDuties { key withinHours citation } } }""")
    policy = data["privacyPolicy"]
    assert policy["region"] == "IN" and policy["minimumAge"]["value"] == "18"
    assert policy["minimumLogRetentionDays"] == {"value": "365", "citation": policy["minimumLogRetentionDays"]["citation"],
                                                 "setting": "minimum_log_retention_days"}
    assert all(r["deadlineDays"] == 30 and "Rule 14(3)" in r["deadlineCitation"] for r in policy["requestTypes"])
    assert {"type": "PORTABILITY", "statutory": False} in [{k: r[k] for k in ("type", "statutory")} for r in policy["requestTypes"]]
