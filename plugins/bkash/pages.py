"""The small pages a payer's browser sees on our side of a checkout, under the tenant's name, in
Bangla and English (the link does not say which the payer reads)."""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse

MESSAGES = {
    "paid": ("পেমেন্ট সম্পন্ন হয়েছে। ধন্যবাদ!", "Payment received. Thank you!"),
    "pending": ("আপনার পেমেন্ট যাচাই করা হচ্ছে। কিছুক্ষণ পরে আবার দেখুন।", "We are confirming your payment. Please check again shortly."),
    "review": ("আপনার পেমেন্ট পাওয়া গেছে; আমাদের কর্মীরা এটি যাচাই করবেন।", "Your payment was received; our staff will check it."),
    "not_completed": ("পেমেন্ট সম্পন্ন হয়নি। লিংকটি আবার খুলে চেষ্টা করুন।", "The payment was not completed. Open the link again to retry."),
    "nothing_due": ("এই বিলে পরিশোধ করার কিছু নেই।", "Nothing is due on this bill."),
    "unavailable": ("পেমেন্ট এখন শুরু করা যাচ্ছে না। কিছুক্ষণ পরে আবার চেষ্টা করুন।", "The payment cannot start now. Please try again shortly."),
    "invalid": ("লিংকটি সঠিক নয়।", "This link is not valid."),
}


def page(tenant_name: str, key: str, status_code: int = 200) -> HTMLResponse:
    bn, en = MESSAGES[key]
    body = (f'<!doctype html><html lang="bn"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f"<title>{escape(tenant_name)}</title></head><body><h1>{escape(tenant_name)}</h1>"
            f'<p>{escape(bn)}</p><p lang="en">{escape(en)}</p></body></html>')
    return HTMLResponse(body, status_code=status_code, headers={"cache-control": "no-store", "referrer-policy": "no-referrer"})
