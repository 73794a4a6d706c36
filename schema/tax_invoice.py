"""Tax invoice fields in the API: GST (India) or Mushak-6.3 VAT (Bangladesh) of an invoice, and
the tax identity of a business customer. Amounts are BigInt minor units of the invoice's currency."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry import Info

from seva_crm.core.billing import tax_invoice as core
from seva_crm.core.billing import words
from seva_crm.core.common import localise
from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.schema.customers import customer_id
from seva_crm.schema.enums import Language
from seva_crm.core.common.errors import DomainError
from seva_crm.schema.errors import UserError, user_errors
from seva_crm.schema.permissions import needs
from seva_crm.schema.scalars import BigInt


@strawberry.type(description="A side of the supply: name, address lines, GSTIN or BIN (empty: unregistered), GST state")
class TaxParty:
    name: str
    address: list[str]
    tax_id: str
    state: str
    state_code: str


@strawberry.type(description="One line with its taxes: CGST + SGST (within a state) or IGST (across states) in India, VAT in Bangladesh")
class TaxInvoiceLine:
    position: int
    description: str
    hsn_sac: str
    quantity: int
    unit_amount: BigInt
    taxable: BigInt
    rate_bp: int
    cgst: BigInt
    sgst: BigInt
    igst: BigInt
    vat: BigInt
    supplementary_duty: BigInt
    total: BigInt


@strawberry.type(description="What a GST tax invoice (CGST Rules, rule 46) or a Mushak-6.3 carries. "
                             "Taxable + CGST + SGST + IGST + VAT + supplementary duty = total, exactly.")
class TaxInvoice:
    title: str
    number: str
    financial_year: str = strawberry.field(description="2526 is FY 2025-26 (India April-March, Bangladesh July-June)")
    issued_on: date
    issued_at: datetime = strawberry.field(description="Date and time of issue (UTC)")
    supplier: TaxParty
    recipient: TaxParty
    inter_state: bool
    place_of_supply: str = strawberry.field(description="India: the GST state code and name")
    currency: str
    lines: list[TaxInvoiceLine]
    taxable: BigInt
    cgst: BigInt
    sgst: BigInt
    igst: BigInt
    vat: BigInt
    supplementary_duty: BigInt
    total: BigInt
    language: Language = strawberry.field(description="The language of totalInWords: the one asked for, else the customer's")
    total_in_words: str = strawberry.field(description="The total in words in `language`, Indian numbering (lakh, crore), e.g. "
                                                       "'एक लाख सतहत्तर हज़ार रुपये मात्र'")
    total_in_words_english: str = strawberry.field(description="The total in words in English, e.g. 'One Lakh Seventy-Seven Thousand "
                                                               "Rupees Only' (printed under the reader's language on the page and PDF)")
    total_text: str = strawberry.field(description="The total as the tenant's locale writes it, e.g. ₹1,77,000.00")


def to_graphql(t: core.TaxInvoice, locale: str, language: str) -> TaxInvoice:
    """``locale``: the tenant's (for ``totalText``); ``language``: the reader's (for the words)."""
    def party(p: core.Party) -> TaxParty:
        return TaxParty(name=p.name, address=p.address, tax_id=p.tax_id, state=p.state, state_code=p.state_code)

    return TaxInvoice(
        title=t.title, number=t.number, financial_year=t.financial_year, issued_on=t.issued_on, issued_at=t.issued_at,
        supplier=party(t.supplier), recipient=party(t.recipient), inter_state=t.inter_state, place_of_supply=t.place_of_supply,
        currency=t.currency, lines=[TaxInvoiceLine(**vars(line)) for line in t.lines], taxable=t.taxable, cgst=t.cgst, sgst=t.sgst,
        igst=t.igst, vat=t.vat, supplementary_duty=t.supplementary_duty, total=t.total,
        language=Language(words.reader_language(language)), total_in_words=words.money_in_words(t.total, t.currency, language),
        total_in_words_english=localise.money_in_words(t.total, t.currency), total_text=localise.money(t.total, t.currency, locale),
    )


@strawberry.type
class CustomerTaxPayload:
    tax_id: str | None = None
    state_code: str | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TaxMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description=(
        "A business customer's GSTIN (India: its state becomes the place of supply) or BIN (Bangladesh); "
        "empty makes the customer unregistered. stateCode: an unregistered Indian customer's GST state."))
    async def customer_tax_set(self, info: Info, customer: strawberry.ID, tax_id: str = "", state_code: str = "") -> CustomerTaxPayload:
        try:
            row = await core.set_customer_tax(info.context.tenant, customer_id(customer), tax_id, state_code)
        except DomainError as exc:
            return CustomerTaxPayload(errors=user_errors(exc))
        return CustomerTaxPayload(tax_id=row.tax_id, state_code=row.state_code)
