"""The page an invitation's link opens: choose a password and join. Plain HTML, no scripts, no
external assets; the token travels in the link's query and the form's hidden field, and the page
is never cached nor referred."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from seva_crm.core.common.errors import DomainError
from seva_crm.core.identity import invitations

HEADERS = {"cache-control": "no-store", "referrer-policy": "no-referrer",
           "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"}
STYLE = "body{font-family:sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}label,input{display:block;width:100%}"


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Seva CRM invitation</title>"
                        f"<meta name='viewport' content='width=device-width'><style>{STYLE}</style></head>"
                        f"<body>{body}</body></html>", status_code=status, headers=HEADERS)


def _form(token: str, error: str = "") -> str:
    note = f"<p role='alert'>{escape(error)}</p>" if error else ""
    return (f"<h1>Join on Seva CRM</h1>{note}<form method='post'>"
            f"<input type='hidden' name='token' value='{escape(token, quote=True)}'>"
            "<label>Your name <input name='name' autocomplete='name'></label>"
            "<label>Choose a password (at least 10 characters) "
            "<input type='password' name='password' required minlength='10' autocomplete='new-password'></label>"
            "<p><button type='submit'>Create my account</button></p></form>")


async def accept_page(request: Request) -> HTMLResponse:
    if request.method == "GET":
        return _page(_form(request.query_params.get("token", "")))
    form = await request.form()
    token = str(form.get("token", ""))
    try:
        user = await invitations.accept(token, str(form.get("password", "")), str(form.get("name", "")))
    except DomainError as exc:
        return _page(_form(token, "; ".join(e.message for e in exc.errors)), status=400)
    return _page(f"<h1>Welcome</h1><p>Your account is ready. Sign in with {escape(user.email)} and your new password.</p>")


routes = [Route("/invitations/accept", accept_page, methods=["GET", "POST"])]
