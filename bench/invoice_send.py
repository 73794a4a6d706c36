"""What rendering an invoice's PDF at send time costs: the outbox's ``deliver`` of ``--messages``
messages carrying an invoice's PDF (a reference, rendered at each send: ``core/billing/sending.py``)
against the same messages without it, interleaved in rounds (alternating which goes first), to a
channel that keeps what it is given and does nothing else.

Both sides send the same bodies to the same customer; the script checks that every message was
sent once, that each send with the attachment carried a PDF of that invoice, and that none without
it did. Prints the mean time per send (ms) of each side and their ratio, min / median / max over
the rounds, and the PDF's size.

    .venv/bin/python bench/invoice_send.py [--messages 40] [--rounds 5]
    .venv/bin/python bench/invoice_send.py --postgres      # throwaway database on 127.0.0.1:5432
"""

from __future__ import annotations

import time
import uuid

from _common import bench_parser, database, interleaved, ratios, run, spread, tenant  # bench/_common.py


def parse_args():
    p = bench_parser(__doc__)
    p.add_argument("--messages", type=int, default=40)
    p.add_argument("--rounds", type=int, default=5)
    return p.parse_args()


async def bench(args, label: str) -> None:
    from seva_crm.core import jobs
    from seva_crm.core.billing import invoices, sending
    from seva_crm.core.common.enums import MessageStatus
    from seva_crm.core.common.principal import TenantScope
    from seva_crm.core.customers.customers import create_customer
    from seva_crm.core.messaging import outbox
    from seva_crm.core.models import Message
    from seva_crm.core.platform.plugins import Plugins, set_plugins
    from seva_crm.plugin_api import PluginManifest, Purpose, SendResult, hookimpl

    kept: dict = {}

    class Keeper:
        name = kind = "keeper"
        attachments = True

        def can_reach(self, recipient) -> bool:
            return True

        async def send(self, message, settings) -> SendResult:
            kept[message.id] = message.attachment
            return SendResult(provider_id=f"kept-{message.id.hex}")

    class KeeperPlugin:
        @hookimpl
        def seva_manifest(self) -> PluginManifest:
            return PluginManifest(id="bench-keeper", name="Bench keeper", version="0", enabled_by_default=True)

        @hookimpl
        def seva_notification_channels(self) -> list:
            return [Keeper()]

    async with database():
        set_plugins(Plugins(discover=False, extra=(KeeperPlugin(),)))
        jobs.setup_jobs("", namespace=f"bench-{uuid.uuid4().hex[:8]}")  # sends are enqueued there and never run: we deliver
        t = await tenant()
        scope = TenantScope(t.id, t.region)
        customer = await create_customer(scope, {"name": "आशा देवी", "email": "asha@bench.example.com", "language": "hi"})
        invoice = await invoices.create_invoice(scope, {"customer_id": customer.id, "lines": [
            {"description": "Annual plan", "unit_amount": 15000000, "tax_rate_bp": 1800, "hsn_sac": "998422"}]})
        reference = {"kind": sending.KIND, "id": str(invoice.id), "language": "hi"}

        async def batch(with_pdf: bool) -> float:
            ids = [(await outbox.queue_message(t.id, customer.id, purpose=Purpose.SERVICE, template=sending.TEMPLATE,
                                               body=f"Invoice {invoice.number}", only_channel="keeper",
                                               attachment=reference if with_pdf else None)).id
                   for _ in range(args.messages)]
            t0 = time.perf_counter()
            for message_id in ids:
                assert await outbox.deliver(message_id) is MessageStatus.SENT
            elapsed = time.perf_counter() - t0
            for message_id in ids:
                document = kept.pop(message_id)
                if with_pdf:
                    assert document.filename == f"{invoice.number}.pdf" and document.content.startswith(b"%PDF")
                else:
                    assert document is None
            return elapsed / args.messages * 1000

        async def with_pdf() -> float:
            return await batch(True)

        async def without() -> float:
            return await batch(False)

        await with_pdf()  # warm up (fonts, shaping)
        await without()
        times = await interleaved(args.rounds, {"with": with_pdf, "without": without})
        sent = await Message.filter(tenant_id=t.id, status=MessageStatus.SENT).count()
        assert sent == (args.rounds + 1) * 2 * args.messages, sent
        size = len((await sending._render(t.id, reference)).content)
    print(f"database: {label} | {args.messages} messages per side per round | {args.rounds} rounds (min / median / max)")
    print(f"ms per send, PDF rendered at send: {spread(times['with'])}  (PDF {size / 1024:.0f} KiB)")
    print(f"ms per send, no attachment:        {spread(times['without'])}")
    print(f"ratio with / without:              {spread(ratios(times['with'], times['without']))}")


if __name__ == "__main__":
    run(parse_args(), bench)
