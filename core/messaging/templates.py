"""Message templates: built-in defaults for the common keys, which a tenant may override.

A template has a key (``renewal_due``), a purpose (service or marketing), its text per language
(``en`` at least; ``hi``, ``bn``) with named variables in braces (``{name}``), and per channel and
language a *binding*: how the channel's provider knows the template (e.g. an approved template's
name and the order of its parameters). The channel's adapter checks a tenant's bindings
(``validate_binding``) and gives the built-in templates theirs (``default_binding``); see
``core.platform.channels``; a channel that checks nothing takes any object.

The outbox renders the body in the customer's language when a message is queued (every
variable must be given: a missing one is a typed error, ``missing_variable``) and, at send time,
hands the adapter ``binding_for(tenant, key, channel, language)``. ``name`` defaults to the
customer's name (core.messages). A tenant's version replaces the built-in one as a whole."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from seva_crm.core.common.enums import Language
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError
from seva_crm.core.platform.channel_catalog import ChannelInfo, check_channel, loaded_channels
from seva_crm.core.platform.channels import Purpose

FALLBACK_LANGUAGE = "en"
LANGUAGES = tuple(lang.value for lang in Language)
KEY = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
VARIABLE = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")
MAX_TEXT = 1024  # the longest text a template may have (the strictest provider's limit)
MAX_VALUE_LENGTH = 500


def variables_of(text: str) -> list[str]:
    """The variable names in ``text`` in order of first use; ValueError for malformed braces or
    anything but a plain name (no attribute access, index, conversion or format spec)."""
    names: list[str] = []
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if spec or conversion or not VARIABLE.match(name):
            raise ValueError(f"{{{name}}} is not a plain variable name (lowercase letters, digits, _)")
        if name not in names:
            names.append(name)
    return names


@dataclass(frozen=True)
class Template:
    key: str
    purpose: Purpose
    texts: dict[str, str]  # language -> text
    bindings: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # channel -> language -> binding
    builtin: bool = True
    subjects: dict[str, str] = field(default_factory=dict)  # language -> mail subject (built-in system mail)

    @property
    def variables(self) -> list[str]:
        return variables_of(self.texts[FALLBACK_LANGUAGE])

    def text(self, language: str | None) -> str:
        return self.texts.get(language or FALLBACK_LANGUAGE) or self.texts[FALLBACK_LANGUAGE]

    def binding(self, channel: str, language: str | None) -> dict[str, Any]:
        by_language = self.bindings.get(channel) or {}
        return dict(by_language.get(language or FALLBACK_LANGUAGE) or by_language.get(FALLBACK_LANGUAGE) or {})


def _builtin(key: str, purpose: Purpose, subjects: dict[str, str] | None = None, **texts: str) -> Template:
    """A built-in template: its bindings come from the channels (``builtin``). ``subjects``: the
    mail subject per language, with the text's variables, for mail the system sends by email."""
    return Template(key, purpose, texts, subjects=subjects or {})


BUILTIN: dict[str, Template] = {t.key: t for t in (
    _builtin("document_ready", Purpose.SERVICE,
             en="Hello {name}, your {service} is ready. Please collect it from {centre}.",
             hi="नमस्ते {name}, आपका {service} तैयार है। कृपया इसे {centre} से प्राप्त करें।",
             bn="নমস্কার {name}, আপনার {service} প্রস্তুত। অনুগ্রহ করে {centre} থেকে সংগ্রহ করুন।"),
    _builtin("renewal_due", Purpose.SERVICE,
             en="Hello {name}, your {service} is due for renewal on {due_date}.",
             hi="नमस्ते {name}, आपकी {service} का नवीनीकरण {due_date} को होना है।",
             bn="নমস্কার {name}, আপনার {service} নবায়নের তারিখ {due_date}।"),
    _builtin("otp", Purpose.SERVICE,
             en="{code} is your verification code. It expires in {minutes} minutes. Do not share it with anyone.",
             hi="{code} आपका सत्यापन कोड है। यह {minutes} मिनट में समाप्त हो जाएगा। इसे किसी के साथ साझा न करें।",
             bn="{code} আপনার যাচাইকরণ কোড। এটি {minutes} মিনিটের মধ্যে মেয়াদোত্তীর্ণ হবে। কারও সাথে শেয়ার করবেন না।"),
    _builtin("payment_received", Purpose.SERVICE,
             en="Hello {name}, we have received your payment of {amount}. Thank you.",
             hi="नमस्ते {name}, हमें आपका {amount} का भुगतान प्राप्त हो गया है। धन्यवाद।",
             bn="নমস্কার {name}, আমরা আপনার {amount} পেমেন্ট পেয়েছি। ধন্যবাদ।"),
    _builtin("invoice_due", Purpose.SERVICE,
             en="Hello {name}, invoice {invoice_number} for {amount} is due on {due_date}. {payment}",
             hi="नमस्ते {name}, बिल {invoice_number} की राशि {amount} का भुगतान {due_date} तक करना है। {payment}",
             bn="নমস্কার {name}, বিল {invoice_number}-এর {amount} পরিশোধের শেষ তারিখ {due_date}। {payment}"),
    _builtin("invoice_overdue", Purpose.SERVICE,
             en="Hello {name}, invoice {invoice_number} for {amount} was due on {due_date} and is now overdue. "
                "Please pay at the earliest. {payment}",
             hi="नमस्ते {name}, बिल {invoice_number} की राशि {amount} {due_date} को देय थी और अब बकाया है। "
                "कृपया जल्द से जल्द भुगतान करें। {payment}",
             bn="নমস্কার {name}, বিল {invoice_number}-এর {amount} {due_date} তারিখে দেয় ছিল, এখন বকেয়া। "
                "অনুগ্রহ করে দ্রুত পরিশোধ করুন। {payment}"),
    _builtin("ticket_status", Purpose.SERVICE,
             en="Hello {name}, your request {number} ({ticket}) is now {status}.",
             hi="नमस्ते {name}, आपका अनुरोध {number} ({ticket}) अब {status} है।",
             bn="নমস্কার {name}, আপনার অনুরোধ {number} ({ticket}) এখন {status}।"),
    _builtin("ticket_update", Purpose.SERVICE,
             en="Hello {name}, an update on your request {number} ({ticket}): {text}",
             hi="नमस्ते {name}, आपके अनुरोध {number} ({ticket}) पर जानकारी: {text}",
             bn="নমস্কার {name}, আপনার অনুরোধ {number} ({ticket}) সম্পর্কে তথ্য: {text}"),
    _builtin("conversation_reply", Purpose.SERVICE,
             en="{text}\n- {centre}",
             hi="{text}\n- {centre}",
             bn="{text}\n- {centre}"),
    _builtin("offer", Purpose.MARKETING,
             en="Hello {name}, {offer}. Reply STOP to stop these messages.",
             hi="नमस्ते {name}, {offer}। ये संदेश बंद करने के लिए STOP या बंद लिखकर भेजें।",
             bn="নমস্কার {name}, {offer}। এই বার্তা বন্ধ করতে STOP বা বন্ধ লিখে পাঠান।"),
    _builtin("staff_verification_code", Purpose.SERVICE,
             en="{code} is your Seva verification code. It expires in 10 minutes."),
    _builtin("privacy_code", Purpose.SERVICE,
             en="{business}: your code for your privacy request is {code}. It expires in {minutes} minutes. "
                "Do not share it, not even with our staff.",
             hi="{business}: आपके निजता अनुरोध का कोड {code} है। यह {minutes} मिनट में समाप्त हो जाएगा। "
                "इसे किसी के साथ साझा न करें, हमारे कर्मचारियों के साथ भी नहीं।",
             bn="{business}: আপনার গোপনীয়তা অনুরোধের কোড {code}। এটি {minutes} মিনিটের মধ্যে মেয়াদোত্তীর্ণ হবে। "
                "কারও সাথে শেয়ার করবেন না, আমাদের কর্মীদের সাথেও না।"),
    _builtin("privacy_export_ready", Purpose.SERVICE,
             en="{business}: hello {name}, the copy of your data you asked for can be downloaded until {expires}: {link}",
             hi="{business}: नमस्ते {name}, आपके द्वारा मांगी गई आपके डेटा की प्रति {expires} तक डाउनलोड की जा सकती है: {link}",
             bn="{business}: নমস্কার {name}, আপনার চাওয়া আপনার তথ্যের কপি {expires} পর্যন্ত ডাউনলোড করা যাবে: {link}"),
    _builtin("privacy_reply_rejected", Purpose.SERVICE,
             en="{business}: we could not act on your privacy request: {reason}. Questions or complaints: {contact}.",
             hi="{business}: हम आपके निजता अनुरोध पर कार्रवाई नहीं कर सके: {reason}। प्रश्न या शिकायत: {contact}।",
             bn="{business}: আমরা আপনার গোপনীয়তা অনুরোধ অনুযায়ী কাজ করতে পারিনি: {reason}। প্রশ্ন বা অভিযোগ: {contact}।"),
    _builtin("privacy_reply_corrected", Purpose.SERVICE,
             en="{business}: your correction request is done. Changed: {applied}. Not changed: {refused} ({reason}). "
                "Questions or complaints: {contact}.",
             hi="{business}: आपका सुधार अनुरोध पूरा हुआ। बदला गया: {applied}। नहीं बदला गया: {refused} ({reason})। "
                "प्रश्न या शिकायत: {contact}।",
             bn="{business}: আপনার সংশোধনের অনুরোধ সম্পন্ন। পরিবর্তন করা হয়েছে: {applied}। পরিবর্তন করা হয়নি: {refused} "
                "({reason})। প্রশ্ন বা অভিযোগ: {contact}।"),
    _builtin("privacy_reply_answered", Purpose.SERVICE,
             en="{business}: our answer to your privacy request: {response} Questions or complaints: {contact}.",
             hi="{business}: आपके निजता अनुरोध पर हमारा उत्तर: {response} प्रश्न या शिकायत: {contact}।",
             bn="{business}: আপনার গোপনীয়তা অনুরোধে আমাদের উত্তর: {response} প্রশ্ন বা অভিযোগ: {contact}।"),
    _builtin("privacy_reply_erased", Purpose.SERVICE,
             en="{business}: your privacy request is done: we have erased your personal data. Kept only where the "
                "law requires it: {kept}. Questions or complaints: {contact}.",
             hi="{business}: आपका निजता अनुरोध पूरा हुआ: हमने आपका व्यक्तिगत डेटा मिटा दिया है। केवल वही रखा गया है "
                "जो कानून के अनुसार आवश्यक है: {kept}। प्रश्न या शिकायत: {contact}।",
             bn="{business}: আপনার গোপনীয়তা অনুরোধ সম্পন্ন: আমরা আপনার ব্যক্তিগত তথ্য মুছে ফেলেছি। শুধু আইন যা রাখতে "
                "বলে তা রাখা হয়েছে: {kept}। প্রশ্ন বা অভিযোগ: {contact}।"),
    _builtin("privacy_code_undelivered", Purpose.SERVICE,
             en="{business}: the code for your privacy request could not be sent to your phone. Your new code is {code}. "
                "It expires in {minutes} minutes.",
             hi="{business}: आपके निजता अनुरोध का कोड आपके फ़ोन पर नहीं भेजा जा सका। आपका नया कोड {code} है। "
                "यह {minutes} मिनट में समाप्त हो जाएगा।",
             bn="{business}: আপনার গোপনীয়তা অনুরোধের কোড আপনার ফোনে পাঠানো যায়নি। আপনার নতুন কোড {code}। "
                "এটি {minutes} মিনিটের মধ্যে মেয়াদোত্তীর্ণ হবে।"),
    _builtin("privacy_notice_updated", Purpose.SERVICE,
             en="{business}: we have updated our privacy notice (version {version}). Your consent choices stay as they "
                "are; ask us for the notice at any time.",
             hi="{business}: हमने अपनी निजता सूचना अद्यतन की है (संस्करण {version})। आपकी सहमति जैसी थी वैसी ही रहेगी; "
                "सूचना कभी भी हमसे मांगें।",
             bn="{business}: আমরা আমাদের গোপনীয়তা নোটিশ হালনাগাদ করেছি (সংস্করণ {version})। আপনার সম্মতি যেমন ছিল "
                "তেমনই থাকবে; নোটিশটি যেকোনো সময় আমাদের কাছে চাইতে পারেন।"),
    _builtin("privacy_notice_new_purposes", Purpose.SERVICE,
             en="{business}: our privacy notice (version {version}) adds new purposes: {purposes}. We will not use your "
                "data for them unless you agree: tell us yes or no.",
             hi="{business}: हमारी निजता सूचना (संस्करण {version}) में नए उद्देश्य जुड़े हैं: {purposes}। आपकी सहमति के "
                "बिना हम इनके लिए आपका डेटा उपयोग नहीं करेंगे: हमें हाँ या ना बताएं।",
             bn="{business}: আমাদের গোপনীয়তা নোটিশে (সংস্করণ {version}) নতুন উদ্দেশ্য যোগ হয়েছে: {purposes}। আপনার "
                "সম্মতি ছাড়া আমরা এগুলোর জন্য আপনার তথ্য ব্যবহার করব না: হ্যাঁ বা না জানান।"),
    _builtin("privacy_purpose_served_notice", Purpose.SERVICE,
             en="{business}: the services you came to us for are complete. Unless you visit or contact us before "
                "{deadline}, we will erase your personal data, keeping only what the law requires ({citation}).",
             hi="{business}: जिन सेवाओं के लिए आप हमारे पास आए थे, वे पूरी हो चुकी हैं। यदि आप {deadline} से पहले हमसे "
                "संपर्क नहीं करते, तो हम आपका व्यक्तिगत डेटा मिटा देंगे, केवल वही रखेंगे जो कानून के अनुसार आवश्यक है ({citation})।",
             bn="{business}: যে সেবার জন্য আপনি আমাদের কাছে এসেছিলেন তা সম্পন্ন হয়েছে। {deadline}-এর আগে যোগাযোগ না করলে "
                "আমরা আপনার ব্যক্তিগত তথ্য মুছে ফেলব, শুধু আইন যা রাখতে বলে তা রাখব ({citation})।"),
    _builtin("privacy_inactivity_notice", Purpose.SERVICE,
             en="{business}: you have not used our services for a long time. Unless you visit or contact us before "
                "{deadline}, we will erase your personal data, as the law requires ({citation}).",
             hi="{business}: आपने लंबे समय से हमारी सेवाओं का उपयोग नहीं किया है। यदि आप {deadline} से पहले हमसे "
                "संपर्क नहीं करते, तो कानून के अनुसार हम आपका व्यक्तिगत डेटा मिटा देंगे ({citation})।",
             bn="{business}: আপনি দীর্ঘদিন আমাদের সেবা ব্যবহার করেননি। {deadline}-এর আগে যোগাযোগ না করলে আইন অনুযায়ী "
                "আমরা আপনার ব্যক্তিগত তথ্য মুছে ফেলব ({citation})।"),
    _builtin("privacy_admin_alert", Purpose.SERVICE,
             en="Privacy alert for your centre: {summary}. Open Seva to act on it."),
    _builtin("privacy_overdue", Purpose.SERVICE,
             en="Privacy alert: a {type} request is past its deadline ({due_at} UTC, {citation}). Open Seva to answer it."),
    _builtin("breach_reported", Purpose.SERVICE,
             en="Breach reported. Notifications owed: {owed}. Open Seva to record each one."),
    _builtin("breach_reminder", Purpose.SERVICE,
             en="Reminder: breach notification {key} is due by {due_at} UTC ({citation}). Open Seva to record it."),
    _builtin("audit_checkpoint", Purpose.SERVICE,
             subjects={"en": "{business}: audit log checkpoint ({count} entries)",
                       "hi": "{business}: ऑडिट लॉग चेकपॉइंट ({count} प्रविष्टियाँ)",
                       "bn": "{business}: অডিট লগ চেকপয়েন্ট ({count}টি এন্ট্রি)"},
             en="{business}: your audit log was checkpointed at {at}: {count} entries, the last one's hash {hash}. "
                "Keep this message: if the log is ever cut short or replaced, these figures show it.",
             hi="{business}: आपके ऑडिट लॉग का चेकपॉइंट {at} पर लिया गया: {count} प्रविष्टियाँ, अंतिम प्रविष्टि का हैश {hash}। "
                "यह संदेश संभाल कर रखें: यदि लॉग कभी छोटा किया गया या बदला गया, तो ये आँकड़े उसे दिखा देंगे।",
             bn="{business}: আপনার অডিট লগের চেকপয়েন্ট নেওয়া হয়েছে {at}-এ: {count}টি এন্ট্রি, শেষটির হ্যাশ {hash}। "
                "এই বার্তাটি রেখে দিন: লগ কখনো ছোট করা বা বদলানো হলে এই সংখ্যাগুলো তা দেখিয়ে দেবে।"),
    _builtin("webhook_disabled", Purpose.SERVICE,
             en="{centre}: the webhook to {host} kept failing and was turned off. Fix it, then turn it on again in Seva.",
             hi="{centre}: {host} का वेबहुक बार-बार विफल रहा और बंद कर दिया गया। इसे ठीक करें, फिर Seva में दोबारा चालू करें।",
             bn="{centre}: {host}-এর ওয়েবহুক বারবার ব্যর্থ হয়েছে এবং বন্ধ করা হয়েছে। ঠিক করে Seva-তে আবার চালু করুন।"),
    _builtin("subscription_suspended", Purpose.SERVICE,
             en="Hello {name}, your {plan} service from {business} is suspended: invoice {invoice_number} for {amount} "
                "is unpaid since {due_date}. Pay it to restore the service.",
             hi="नमस्ते {name}, {business} से आपकी {plan} सेवा निलंबित कर दी गई है: बिल {invoice_number} की राशि {amount} "
                "{due_date} से बकाया है। सेवा फिर से शुरू करने के लिए भुगतान करें।",
             bn="নমস্কার {name}, {business}-এর আপনার {plan} পরিষেবা স্থগিত করা হয়েছে: বিল {invoice_number}-এর {amount} "
                "{due_date} থেকে বকেয়া। পরিষেবা আবার চালু করতে পরিশোধ করুন।"),
    _builtin("subscription_reactivated", Purpose.SERVICE,
             en="Hello {name}, your {plan} service from {business} is active again. Thank you for your payment.",
             hi="नमस्ते {name}, {business} से आपकी {plan} सेवा फिर से चालू है। भुगतान के लिए धन्यवाद।",
             bn="নমস্কার {name}, {business}-এর আপনার {plan} পরিষেবা আবার চালু হয়েছে। পরিশোধের জন্য ধন্যবাদ।"),
    _builtin("invoice_document", Purpose.SERVICE,
             en="Hello {name}, here is invoice {invoice_number} from {business}. Amount due: {amount} by {due_date}.",
             hi="नमस्ते {name}, {business} का बिल {invoice_number} संलग्न है। देय राशि: {amount}, {due_date} तक।",
             bn="নমস্কার {name}, {business}-এর বিল {invoice_number} সংযুক্ত করা হলো। বকেয়া: {amount}, {due_date}-এর মধ্যে।"),
    _builtin("billing_staff_alert", Purpose.SERVICE,
             en="Billing alert for {business}: {summary}"),
)}
TEMPLATES = BUILTIN  # the name earlier code used


def builtin(key: str, channels: Mapping[str, ChannelInfo] | None = None) -> Template | None:
    """The built-in template ``key`` with the default binding of each loaded channel that gives
    one (``default_binding``) in each of its languages."""
    template = BUILTIN.get(key)
    if template is None:
        return None
    bindings: dict[str, dict[str, dict[str, Any]]] = {}
    for name, info in (loaded_channels() if channels is None else channels).items():
        default = getattr(info.adapter, "default_binding", None)
        if default is None:
            continue
        for language, text in template.texts.items():
            binding = default(key, language, text, variables_of(text))
            if binding:
                bindings.setdefault(name, {})[language] = dict(binding)
    return Template(key, template.purpose, template.texts, bindings, subjects=template.subjects)


def _from_row(row: Any) -> Template:
    return Template(row.key, Purpose(row.purpose), dict(row.texts), dict(row.bindings), builtin=False)


async def find_template(tenant_id: UUID, key: str) -> Template | None:
    """The tenant's version of ``key``, else the built-in one, else None."""
    from seva_crm.core.models import MessageTemplate

    row = await MessageTemplate.get_or_none(tenant_id=tenant_id, key=key)
    return _from_row(row) if row is not None else builtin(key)


async def get_template(tenant_id: UUID, key: str) -> Template:
    template = await find_template(tenant_id, key)
    if template is None:
        raise DomainError.of("template", ErrorCode.NOT_FOUND, f"no template {key!r}")
    return template


async def list_templates(tenant_id: UUID) -> list[Template]:
    """Every template the tenant can send: its own, and the built-ins it has not overridden; by key."""
    from seva_crm.core.models import MessageTemplate

    own = {row.key: _from_row(row) for row in await MessageTemplate.filter(tenant_id=tenant_id)}
    channels = loaded_channels()
    builtins = {key: builtin(key, channels) for key in BUILTIN if key not in own}
    return sorted({**builtins, **own}.values(), key=lambda t: t.key)


async def binding_for(tenant_id: UUID, key: str, channel: str, language: str | None) -> dict[str, Any]:
    """The template's binding for ``channel`` in ``language`` (else English); {} when there is none."""
    template = await find_template(tenant_id, key)
    return template.binding(channel, language) if template is not None else {}


def render(template: Template, variables: dict[str, Any], language: str | None = None) -> str:
    """The template's text in ``language`` (English if it has none) with ``variables`` filled in;
    raises DomainError for a missing or unusable value (every problem at once)."""
    text = template.text(language)
    errors: list[FieldError] = []
    values: dict[str, str] = {}
    for name in variables_of(text):
        value = variables.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors.append(FieldError(f"variables.{name}", ErrorCode.MISSING_VARIABLE, f"the template needs {{{name}}}"))
        elif not isinstance(value, (str, int, float)) or isinstance(value, bool):
            errors.append(FieldError(f"variables.{name}", ErrorCode.INVALID, "must be text or a number"))
        elif len(str(value)) > MAX_VALUE_LENGTH:
            errors.append(FieldError(f"variables.{name}", ErrorCode.INVALID, f"at most {MAX_VALUE_LENGTH} characters"))
        else:
            values[name] = str(value).strip()
    if errors:
        raise DomainError(*errors)
    return text.format_map(values)


def render_subject(template: Template, variables: dict[str, Any], language: str | None = None) -> str:
    """The mail subject of ``template`` in ``language`` (English if it has none), filled in as
    ``render`` fills the text; a tenant's version of a built-in template keeps the built-in's
    subject. "" when the template has none (the email channel then names the message itself)."""
    subjects = template.subjects or (BUILTIN[template.key].subjects if template.key in BUILTIN else {})
    text = subjects.get(language or FALLBACK_LANGUAGE) or subjects.get(FALLBACK_LANGUAGE)
    if not text:
        return ""
    return render(Template(template.key, template.purpose, {FALLBACK_LANGUAGE: text}), variables)


# -- a tenant's own templates ---------------------------------------------------------------

def _check_binding(where: str, info: ChannelInfo, binding: Any, variables: list[str]) -> list[FieldError]:
    if not isinstance(binding, dict):
        return [FieldError(where, ErrorCode.INVALID, "must be an object")]
    validate = getattr(info.adapter, "validate_binding", None)
    problems = validate(binding, variables) if validate is not None else []
    return [FieldError(f"{where}.{path}" if path else where, ErrorCode.INVALID, message) for path, message in problems]


def check_template(key: str, purpose: str, texts: dict[str, str], bindings: dict[str, dict[str, Any]],
                   channels: Mapping[str, ChannelInfo] | None = None) -> Template:
    """Validate a tenant's template: DomainError naming every problem. Bindings name channels
    of the loaded plugins (``channels``, default: all of them), whose adapters check them."""
    channels = loaded_channels() if channels is None else channels
    errors: list[FieldError] = []
    key = (key or "").strip()
    if not KEY.match(key):
        errors.append(FieldError("key", ErrorCode.INVALID, "lowercase letters, digits and _, starting with a letter"))
    try:
        purpose_value = Purpose((purpose or "").strip().lower())
    except ValueError:
        errors.append(FieldError("purpose", ErrorCode.INVALID, "service or marketing"))
        purpose_value = Purpose.SERVICE
    variables: list[str] = []
    if FALLBACK_LANGUAGE not in texts:
        errors.append(FieldError(f"texts.{FALLBACK_LANGUAGE}", ErrorCode.REQUIRED, "an English text is required (the fallback)"))
    per_language: dict[str, list[str]] = {}
    for language, text in texts.items():
        where = f"texts.{language}"
        if language not in LANGUAGES:
            errors.append(FieldError(where, ErrorCode.INVALID, f"languages are {', '.join(LANGUAGES)}"))
        elif not isinstance(text, str) or not text.strip():
            errors.append(FieldError(where, ErrorCode.REQUIRED, "must not be empty"))
        elif len(text) > MAX_TEXT:
            errors.append(FieldError(where, ErrorCode.INVALID, f"at most {MAX_TEXT} characters"))
        else:
            try:
                per_language[language] = variables_of(text)
            except ValueError as exc:
                errors.append(FieldError(where, ErrorCode.INVALID, str(exc)))
    variables = per_language.get(FALLBACK_LANGUAGE, [])
    for language, used in per_language.items():
        if set(used) != set(variables):
            errors.append(FieldError(f"texts.{language}", ErrorCode.INVALID,
                                     f"must use the same variables as the English text ({', '.join(variables) or 'none'})"))
    checked: dict[str, dict[str, Any]] = {}
    for channel, by_language in bindings.items():
        try:
            channel_id = check_channel(channel, channels, f"bindings.{channel}")
        except DomainError as exc:
            errors.extend(exc.errors)
            continue
        if not isinstance(by_language, dict):
            errors.append(FieldError(f"bindings.{channel}", ErrorCode.INVALID, "must map languages to bindings"))
            continue
        for language, binding in by_language.items():
            where = f"bindings.{channel}.{language}"
            if language not in LANGUAGES:
                errors.append(FieldError(where, ErrorCode.INVALID, f"languages are {', '.join(LANGUAGES)}"))
            else:
                errors.extend(_check_binding(where, channels[channel_id], binding, variables))
        checked[channel_id] = by_language
    if errors:
        raise DomainError(*errors)
    return Template(key, purpose_value, {k: v.strip() for k, v in texts.items()}, checked, builtin=False)


async def upsert_template(tenant_id: UUID, key: str, purpose: str, texts: dict[str, str],
                          bindings: dict[str, dict[str, Any]]) -> Template:
    """Create or replace the tenant's version of ``key`` (audited)."""
    from seva_crm.core.platform import audit
    from seva_crm.core.models import MessageTemplate

    template = check_template(key, purpose, texts, bindings)
    row, created = await MessageTemplate.get_or_create(
        tenant_id=tenant_id, key=template.key,
        defaults={"purpose": template.purpose.value, "texts": template.texts, "bindings": template.bindings})
    if not created:
        row.purpose, row.texts, row.bindings = template.purpose.value, template.texts, template.bindings
        await row.save(update_fields=["purpose", "texts", "bindings", "updated_at"])
    await audit.record(tenant_id, "template.created" if created else "template.updated", subject_type="template",
                       subject_id=row.id, details={"key": template.key, "languages": sorted(template.texts),
                                                   "channels": sorted(template.bindings)})
    return template
