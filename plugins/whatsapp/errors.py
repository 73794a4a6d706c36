"""What each documented Cloud API error code means for the outbox (shared/integrations.md)."""

from __future__ import annotations

RATE_PER_NUMBER = 130429  # the sending number's throughput: back off every message from it
RATE_PER_RECIPIENT = 131056  # pair rate limit: back off this recipient only
TEMPLATE_REQUIRED = 131047  # outside the 24-hour window: only templates
NOT_ON_WHATSAPP = 131026
MARKETING_STOPPED = 131050
AUTH = 190
BLOCKED = {368, 131031}

RETRYABLE = {1, 2, 4, 80007, 131000, 131016, 133004, 131057, RATE_PER_NUMBER, RATE_PER_RECIPIENT}
# never retried; the channel cannot carry this message, but the next channel may
FALLBACK = {NOT_ON_WHATSAPP, TEMPLATE_REQUIRED, AUTH, *BLOCKED}
# never retried and no other channel either: the message itself is wrong (template problems,
# bad parameters) or the customer stopped marketing
PERMANENT = {100, 131049, 131048, MARKETING_STOPPED, 132000, 132001, 132005, 132007, 132012, 132015, 132016}
ALERT = {AUTH, *BLOCKED}  # an operator must act (token expired, account blocked)

# seconds to wait (the Cloud API sends no Retry-After): about 1 s for the number's throughput,
# 6 s for the pair limit (about one message per 6 s to one user)
BACKOFF_SECONDS = {RATE_PER_NUMBER: 1.0, RATE_PER_RECIPIENT: 6.0}


def is_template_error(code: int) -> bool:
    return 132000 <= code < 133000
