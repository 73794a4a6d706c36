"""The tenant profile and tax invoices: GSTIN checks, `me { tenant }`, GST split within and across
states adding up to the paisa, a Mushak-6.3 invoice for Bangladesh, and money written as each
locale writes it (lakh grouping, Bengali digits)."""

from __future__ import annotations

import base64
from datetime import date

import pytest

from seva_crm.core.billing import invoices
from seva_crm.core.billing.tax_invoice import set_customer_tax, split_gst
from seva_crm.core.common import localise
from seva_crm.core.common.enums import Region, Role
from seva_crm.core.common.errors import DomainError
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.common.tax_ids import check_gstin
from seva_crm.core.identity.profile import update_profile
from seva_crm.core.models import AuditEvent
from seva_crm.testing.fixtures import PRIVACY_CONTACT
from tests.billing_helpers import customer

MUMBAI_GSTIN = "27AAPFU0939F1ZV"  # a published sample GSTIN (Maharashtra, 27)
BENGALURU_GSTIN = "29AAGCB7383J1Z4"  # Karnataka, 29
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
TAX_QUERY = """query($id: ID!) { invoice(id: $id) { html taxInvoice { title number financialYear supplier { name taxId stateCode }
  recipient { name taxId address stateCode } interState placeOfSupply
  lines { hsnSac taxable rateBp cgst sgst igst vat supplementaryDuty total }
  taxable cgst sgst igst vat supplementaryDuty total totalInWords totalText } } }"""


def test_gstin_format_state_and_check_character():
    assert check_gstin(" 27aapfu0939f1zv ") == MUMBAI_GSTIN
    for bad in ("27AAPFU0939F1ZX", "99AAPFU0939F1ZV", "27AAPFU0939F1Z", "27AAPFU0939F1AV"):
        with pytest.raises(DomainError):
            check_gstin(bad)


def test_money_in_indian_and_bengali_forms():
    assert localise.money(17700000, "INR", "en") == "₹1,77,000.00"
    assert localise.money(1234567890, "INR", "hi") == "₹1,23,45,678.90"
    assert localise.money(17700000, "BDT", "bn") == "৳১,৭৭,০০০.০০"
    assert localise.day(date(2026, 3, 11), "hi") == "11 मार्च 2026"
    assert localise.day(date(2026, 3, 11), "bn") == "১১ মার্চ, ২০২৬"
    assert localise.money_in_words(17700050, "INR") == "One Lakh Seventy-Seven Thousand Rupees and Fifty Paise Only"


def test_cgst_and_sgst_always_add_up_to_the_lines_tax():
    for tax in range(0, 200):
        cgst, sgst, igst = split_gst(tax, inter_state=False)
        assert cgst + sgst == tax and igst == 0 and 0 <= cgst - sgst <= 1
    assert split_gst(5, inter_state=True) == (0, 0, 5)


async def test_owners_describe_the_tenant_and_everyone_reads_it_with_its_id(tenant):
    update = """mutation($i: TenantProfileInput!) { tenantProfileUpdate(input: $i) { profile { legalName
      address { city state stateCode postalCode } gstin logo { contentType } } errors { field code } } }"""
    bad = (await tenant.api.ok(update, i={"gstin": "27AAPFU0939F1ZX", "postalCode": "4000", "logo": "R0lGODlhAQABAAAAACw="}))
    assert {e["field"] for e in bad["tenantProfileUpdate"]["errors"]} == {"gstin", "postalCode", "logo"}
    mismatch = await tenant.api.ok(update, i={"gstin": MUMBAI_GSTIN, "stateCode": "29"})
    assert mismatch["tenantProfileUpdate"]["errors"] == [{"field": "gstin", "code": "INVALID"}]
    agent = await tenant.api_as(Role.AGENT)
    refused = await agent(update, i={"legalName": "Not mine"})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    ok = await tenant.api.ok(update, i={"legalName": "Seva Kendra Pvt Ltd", "addressLine1": "12 MG Road", "city": "Pune",
                                        "postalCode": "411001", "gstin": MUMBAI_GSTIN, "phone": "98765 43210", "logo": PNG})
    assert ok["tenantProfileUpdate"] == {"profile": {"legalName": "Seva Kendra Pvt Ltd", "address": {
        "city": "Pune", "state": "Maharashtra", "stateCode": "27", "postalCode": "411001"}, "gstin": MUMBAI_GSTIN,
        "logo": {"contentType": "image/png"}}, "errors": []}

    me = await agent.ok("{ me { tenant { id name region profile { legalName gstin phone grievanceOfficer { name } } } } }")
    assert me["me"]["tenant"] == {"id": to_global_id("Tenant", tenant.id), "name": "Test Centre", "region": "IN",
                                  "profile": {"legalName": "Seva Kendra Pvt Ltd", "gstin": MUMBAI_GSTIN, "phone": "+919876543210",
                                              "grievanceOfficer": {"name": PRIVACY_CONTACT["name"]}}}
    [entry] = await AuditEvent.filter(tenant_id=tenant.id, action="tenant.profile_updated")
    assert entry.details["after"]["gstin"] == MUMBAI_GSTIN and entry.details["before"]["gstin"] == ""
    assert entry.details["after"]["phone"].startswith("h:")  # a digest, not the number
    assert "logo" in entry.changed and entry.actor_type == "user"


async def india_invoice(tenant, lines, customer_gstin=""):
    await update_profile(tenant.scope, {"legal_name": "Seva Kendra", "address_line1": "12 MG Road", "city": "Pune",
                                        "gstin": MUMBAI_GSTIN})
    c = await customer(tenant.scope, name="Bharat Traders", address="4 Residency Road\nBengaluru")
    if customer_gstin:
        await set_customer_tax(tenant.scope, c.id, customer_gstin, "")
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": lines})
    return (await tenant.api.ok(TAX_QUERY, id=to_global_id("Invoice", invoice.id)))["invoice"]


LINES = [{"description": "Broadband", "unit_amount": 12345, "quantity": 1, "tax_rate_bp": 1800, "hsn_sac": "998422"},
         {"description": "Cable clip", "unit_amount": 25, "quantity": 1, "tax_rate_bp": 1800, "hsn_sac": "8536"}]


def add_up(t: dict) -> None:
    """Every line's and the invoice's parts add up exactly."""
    for line in t["lines"]:
        parts = [int(line[k]) for k in ("taxable", "cgst", "sgst", "igst", "vat", "supplementaryDuty")]
        assert sum(parts) == int(line["total"])
    for k in ("taxable", "cgst", "sgst", "igst", "vat", "total"):
        assert int(t[k]) == sum(int(line[k]) for line in t["lines"])
    assert int(t["taxable"]) + int(t["cgst"]) + int(t["sgst"]) + int(t["igst"]) + int(t["vat"]) == int(t["total"])


async def test_within_the_state_gst_is_cgst_plus_sgst(tenant):
    invoice = await india_invoice(tenant, LINES)
    t = invoice["taxInvoice"]
    assert t["title"] == "Tax Invoice" and len(t["number"]) <= 16 and t["financialYear"] == "2526"
    assert t["supplier"] == {"name": "Seva Kendra", "taxId": MUMBAI_GSTIN, "stateCode": "27"}
    assert (t["interState"], t["placeOfSupply"]) == (False, "27 Maharashtra")
    # 12345 x 18% = 2222.1 -> 2222: 1111 + 1111; 25 x 18% = 4.5 -> 5: 3 + 2
    assert [(x["hsnSac"], x["cgst"], x["sgst"], x["igst"]) for x in t["lines"]] == [
        ("998422", "1111", "1111", "0"), ("8536", "3", "2", "0")]
    add_up(t)
    assert t["total"] == "14597" and t["totalText"] == "₹145.97"
    assert "CGST" in invoice["html"] and "998422" in invoice["html"] and MUMBAI_GSTIN in invoice["html"]


async def test_across_states_gst_is_igst_with_the_place_of_supply(tenant):
    invoice = await india_invoice(tenant, LINES, customer_gstin=BENGALURU_GSTIN)
    t = invoice["taxInvoice"]
    assert (t["interState"], t["placeOfSupply"]) == (True, "29 Karnataka")
    assert t["recipient"] == {"name": "Bharat Traders", "taxId": BENGALURU_GSTIN, "address": ["4 Residency Road", "Bengaluru"],
                              "stateCode": "29"}
    assert [(x["cgst"], x["sgst"], x["igst"]) for x in t["lines"]] == [("0", "0", "2222"), ("0", "0", "5")]
    add_up(t)
    assert "IGST" in invoice["html"] and "Place of supply: 29 Karnataka" in invoice["html"]


async def test_a_big_indian_invoice_groups_by_lakh_and_says_it_in_words(tenant):
    t = (await india_invoice(tenant, [{"description": "Annual plan", "unit_amount": 15000000, "tax_rate_bp": 1800}]))["taxInvoice"]
    assert (t["total"], t["totalText"]) == ("17700000", "₹1,77,000.00")
    assert t["totalInWords"] == "One Lakh Seventy-Seven Thousand Rupees Only"


async def test_a_bangladeshi_invoice_carries_the_mushak_6_3_fields(make_tenant):
    t = await make_tenant(region=Region.BD, name="Dhaka Net")
    await update_profile(t.scope, {"legal_name": "Dhaka Net Ltd", "address_line1": "House 5, Road 2", "city": "Dhaka",
                                   "bin": "000123456-0101", "locale": "bn-BD"})
    c = await customer(t.scope, name="Karim Stores", phone="01712345678", address="Mirpur 10, Dhaka")
    await set_customer_tax(t.scope, c.id, "004567891", "")
    invoice = await invoices.create_invoice(t.scope, {"customer_id": c.id, "lines": [
        {"description": "Internet 20 Mbps", "unit_amount": 150000, "quantity": 2, "tax_rate_bp": 1500}]})
    body = (await t.api.ok(TAX_QUERY, id=to_global_id("Invoice", invoice.id)))["invoice"]
    x = body["taxInvoice"]
    assert x["title"] == "Tax Invoice (Mushak-6.3)" and x["financialYear"] == "2526"  # July-June
    assert x["supplier"]["taxId"] == "0001234560101" and x["recipient"]["taxId"] == "004567891"
    assert x["recipient"]["address"] == ["Mirpur 10, Dhaka"]
    assert [(line["taxable"], line["vat"], line["supplementaryDuty"], line["total"]) for line in x["lines"]] == [
        ("300000", "45000", "0", "345000")]
    add_up(x)
    assert x["totalText"] == "৳৩,৪৫০.০০"  # the tenant's bn-BD locale: Bengali digits
    assert "BIN: 0001234560101" in body["html"] and "VAT" in body["html"]


async def test_customer_tax_ids_are_checked_for_the_tenants_country(tenant):
    c = await customer(tenant.scope)
    body = await tenant.api.ok('mutation($c: ID!) { customerTaxSet(customer: $c, taxId: "123456789") { taxId errors { field } } }',
                               c=to_global_id("Customer", c.id))
    assert body["customerTaxSet"] == {"taxId": None, "errors": [{"field": "taxId"}]}
    body = await tenant.api.ok("mutation($c: ID!, $g: String!) { customerTaxSet(customer: $c, taxId: $g) "
                               "{ taxId stateCode errors { field } } }", c=to_global_id("Customer", c.id), g=BENGALURU_GSTIN)
    assert body["customerTaxSet"] == {"taxId": BENGALURU_GSTIN, "stateCode": "29", "errors": []}


WORDS_QUERY = """query($id: ID!, $l: Language) { invoice(id: $id) { html(language: $l)
  taxInvoice(language: $l) { language totalInWords totalInWordsEnglish totalText } } }"""


async def test_the_total_in_words_is_in_the_customers_language_on_the_api_and_the_page(tenant):
    c = await customer(tenant.scope, name="आशा देवी", language="hi")
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [
        {"description": "Annual plan", "unit_amount": 15000050, "tax_rate_bp": 0}]})
    gid = to_global_id("Invoice", invoice.id)
    hindi = (await tenant.api.ok(WORDS_QUERY, id=gid, l=None))["invoice"]  # default: the customer's language
    assert hindi["taxInvoice"] == {"language": "HI", "totalInWords": "एक लाख पचास हज़ार रुपये और पचास पैसे मात्र",
                                   "totalInWordsEnglish": "One Lakh Fifty Thousand Rupees and Fifty Paise Only",
                                   "totalText": "₹1,50,000.50"}
    page = hindi["html"]
    assert '<html lang="hi">' in page and "एक लाख पचास हज़ार रुपये और पचास पैसे मात्र" in page
    assert "(One Lakh Fifty Thousand Rupees and Fifty Paise Only)" in page  # and the English words under them
    assert "मार्च" in page and "₹1,50,000.50" in page  # the dates' months in Hindi
    english = (await tenant.api.ok(WORDS_QUERY, id=gid, l="EN"))["invoice"]
    assert english["taxInvoice"]["language"] == "EN"
    assert english["taxInvoice"]["totalInWords"] == english["taxInvoice"]["totalInWordsEnglish"] == \
        "One Lakh Fifty Thousand Rupees and Fifty Paise Only"
    assert '<html lang="en">' in english["html"] and "रुपये" not in english["html"] and "Mar 2026" in english["html"]


async def test_a_bengali_customer_reads_the_total_in_bengali(make_tenant):
    t = await make_tenant(region=Region.BD, name="Dhaka Net")
    c = await customer(t.scope, name="Karim Stores", phone="01712345678", language="bn")
    invoice = await invoices.create_invoice(t.scope, {"customer_id": c.id, "lines": [
        {"description": "Internet 20 Mbps", "unit_amount": 150000, "quantity": 2, "tax_rate_bp": 1500}]})
    body = (await t.api.ok(WORDS_QUERY, id=to_global_id("Invoice", invoice.id), l=None))["invoice"]
    assert body["taxInvoice"]["language"] == "BN"
    assert body["taxInvoice"]["totalInWords"] == "তিন হাজার চারশত পঞ্চাশ টাকা মাত্র"
    assert body["taxInvoice"]["totalInWordsEnglish"] == "Three Thousand Four Hundred Fifty Taka Only"
    assert "তিন হাজার চারশত পঞ্চাশ টাকা মাত্র" in body["html"] and "৳৩,৪৫০.০০" in body["html"]
    assert "মার্চ" in body["html"] and '<html lang="bn">' in body["html"]
