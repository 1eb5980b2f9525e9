"""Per-message costs of the hot messages at server version 200 (text) and 226 (protobuf): ibapi's
own decoding (the decoder of record) against the adapter's fast path, the placeOrder encoding
(ibapi's ``EClient.placeOrder`` against the template encoder), and the dispatcher's throughput
over a burst of ticks. Prints one line per figure (microseconds per message, best of 5 runs).

    python scripts/bench_protobuf_decode.py
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ibapi.client import EClient
from ibapi.client_utils import createContractProto, createOrderProto
from ibapi.contract import Contract
from ibapi.decoder import Decoder
from ibapi.protobuf.AccountValue_pb2 import AccountValue
from ibapi.protobuf.OpenOrder_pb2 import OpenOrder
from ibapi.protobuf.OrderState_pb2 import OrderState
from ibapi.protobuf.OrderStatus_pb2 import OrderStatus
from ibapi.protobuf.TickPrice_pb2 import TickPrice
from ibapi.protobuf.TickSize_pb2 import TickSize
from ibapi.wrapper import EWrapper

from platform_adapter.adapters.orders.encoding import PlaceOrderEncoder
from platform_adapter.adapters.orders.models import build_ib_order
from platform_adapter.core.fast_decode import build_frame_fast_path
from platform_adapter.core.transport import Dispatcher
from platform_adapter.core.wrapper import Wrapper
from platform_adapter.models.contract import ContractSpec
from platform_adapter.models.order import OrderAction, OrderRequest, OrderType, TimeInForce
from platform_adapter.sim import messages
from platform_adapter.sim.contracts import UNIVERSE
from platform_adapter.sim.orders import SimOrder
from platform_adapter.sim.protocol import payload


class Capture(EClient):  # type: ignore[misc]
    """An EClient that drops what it would send."""

    def __init__(self, server_version: int) -> None:
        super().__init__(EWrapper())
        self.serverVersion_ = server_version

    def isConnected(self) -> bool:  # noqa: N802
        return True

    def sendMsg(self, *_: Any) -> None: ...  # noqa: N802
    def sendMsgProtoBuf(self, *_: Any) -> None: ...  # noqa: N802


def per_call(fn: Callable[[], object], number: int = 20_000) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def wire(msg_id: int, body: bytes) -> bytes:
    return msg_id.to_bytes(4, "big") + body


def ibapi_text(decoder: Decoder, frame: bytes) -> None:
    cut = frame.index(b"\0")
    decoder.interpret(tuple(frame[cut + 1:].split(b"\0")[:-1]), int(frame[:cut]))


def main() -> None:
    w = Wrapper()  # the handler interfaces' null handlers: the costs are the decoders' and the Wrapper's
    d200, d226 = Decoder(w, 200), Decoder(w, 226)
    path200, path226 = build_frame_fast_path(w, 200), build_frame_fast_path(w, 226)
    assert path200 is not None and path226 is not None
    fast200, fast226 = path200.decode, path226.decode
    order = SimOrder(7, 3, 1351823000, UNIVERSE[0].con_id, "BUY", 100, "LMT", 189.5, account="DU1",
                     order_ref="pa-1", status="Submitted")
    text = {
        "tickPrice": b"1\x006\x007\x001\x00101.25\x00300\x001\x00",
        "tickSize": b"2\x006\x007\x000\x00300\x00",
        "orderStatus": payload(messages.order_status(order).text),
        "openOrder": payload(messages.open_order(200, order, UNIVERSE[0]).text),
        "accountValue": b"6\x002\x00NetLiquidation\x001000123.45\x00USD\x00DU1\x00",
    }
    # openOrder as protobuf: ibapi's own objects for the text frame, re-encoded by ibapi's createXProto
    got: dict[str, Any] = {}

    class Keep(EWrapper):  # type: ignore[misc]
        def openOrder(self, oid: int, c: Any, o: Any, s: Any) -> None:  # noqa: N802
            got.update(oid=oid, c=c, o=o, s=s)

    ibapi_text(Decoder(Keep(), 200), text["openOrder"])
    open_order = OpenOrder(orderId=got["oid"], contract=createContractProto(got["c"], got["o"]),
                           order=createOrderProto(got["o"]), orderState=OrderState(status=got["s"].status))
    proto = {
        "tickPrice": wire(201, TickPrice(reqId=7, tickType=1, price=101.25, size="300",
                                         attrMask=1).SerializeToString()),
        "tickSize": wire(202, TickSize(reqId=7, tickType=0, size="300").SerializeToString()),
        "orderStatus": wire(203, OrderStatus(orderId=7, status="Submitted", filled="0", remaining="100",
                                             avgFillPrice=0.0, permId=1351823000, parentId=0, lastFillPrice=0.0,
                                             clientId=3, whyHeld="", mktCapPrice=0.0).SerializeToString()),
        "openOrder": wire(205, open_order.SerializeToString()),
        "accountValue": wire(206, AccountValue(key="NetLiquidation", value="1000123.45", currency="USD",
                                               accountName="DU1").SerializeToString()),
    }
    print("message       | ibapi text (200) | fast text (200) | ibapi protobuf (226) | fast protobuf (226)")
    for name in text:
        t_frame, p_frame = text[name], proto[name]
        cells = [per_call(lambda f=t_frame: ibapi_text(d200, f)),
                 per_call(lambda f=t_frame: fast200(f)) if fast200(t_frame) else float("nan"),
                 per_call(lambda f=p_frame: d226.processProtoBuf(f[4:], int.from_bytes(f[:4], "big") - 200))]
        took = fast226(p_frame)
        cells.append(per_call(lambda f=p_frame: fast226(f)) if took else float("nan"))
        print(f"{name:13} | " + " | ".join(f"{c:8.2f} us" for c in cells) + ("" if took else "  (ibapi's)"))

    contract = Contract()
    contract.conId, contract.symbol, contract.secType, contract.exchange, contract.currency = (
        265598, "AAPL", "STK", "SMART", "USD")
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(100), OrderType.LIMIT, 189.5, None,
                           TimeInForce.DAY, False, "DU1", "pa-1")
    encoder = PlaceOrderEncoder()
    for version in (200, 202, 203, 226):
        client = Capture(version)
        stock = per_call(lambda c=client: c.placeOrder(7, contract, build_ib_order(request)), 5000)
        ours = per_call(lambda v=version: encoder.encode(v, "AAPL", contract, 7, request), 5000)
        print(f"placeOrder at {version}: ibapi {stock:6.2f} us, template encoder {ours:6.2f} us")

    for label, version, frames in (("text 200", 200, [text["tickPrice"], text["tickSize"]]),
                                   ("protobuf 226", 226, [proto["tickPrice"], proto["tickSize"]])):
        batch = frames * 50_000
        decoder = Decoder(w, version)
        for fast_label, fast in (("ibapi only", None), ("fast path", build_frame_fast_path(w, version))):
            def handle(frame: bytes, d: Decoder = decoder, v: int = version) -> None:
                if v >= 201:
                    d.processProtoBuf(frame[4:], int.from_bytes(frame[:4], "big") - 200)
                else:
                    ibapi_text(d, frame)
            dispatcher = Dispatcher(handle, fast.decode if fast else None, fast.flush if fast else None)
            seconds = min(timeit.repeat(lambda disp=dispatcher, b=batch: disp.process(b), number=1, repeat=3))
            print(f"burst of {len(batch)} ticks, {label}, {fast_label}: {len(batch) / seconds / 1000:6.0f}k msg/s")


if __name__ == "__main__":
    main()
