"""The sim's encoders reproduce real TWS recordings field for field.

Intentionally parametrized fields (values that depend on the date or the account
configuration and are supplied from the recording): contract trading/liquid hours,
execution time strings, the handshake connection-time string. In the v173 openOrder the
PEG BEST fields minCompeteSize/competeAgainstBestOffset ("100", "0.02") are defaults the
real gateway filled in; the sim sends them empty (unset) - those two fields are excluded.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from platform_adapter.sim import messages as m
from platform_adapter.sim.contracts import BY_CONID, ContractSpec
from platform_adapter.sim.orders import SimExecution, SimOrder
from platform_adapter.sim.protocol import fields_of, split_fields
from platform_adapter.sim.wire import Message
from tests.recorded import RECORDED_TWS

ROOT = RECORDED_TWS
NAUT = ROOT / "nautilus_paper_v176"
RUST = ROOT / "rust_ibapi_v173"

EURUSD = BY_CONID[12087792]
AAPL = BY_CONID[265598]


def rec(name: str) -> list[str]:
    payload = (NAUT / name).read_bytes().replace(b"\\x00", b"\0")
    return split_fields(payload)


def same(mine: Message, recorded: list[str]) -> None:
    got = fields_of(mine.text)
    assert len(got) == len(recorded), (got, recorded)
    assert got == recorded
    assert split_fields(mine.encode(176)[4:]) == recorded


def test_every_nautilus_file_is_covered() -> None:
    covered = {"account_summary", "commission_report", "contract_details_eurusd",
               "data_connections", "execution_details", "managed_accounts", "next_valid_id",
               "open_order", "open_positions", "order_status", "position", "quote_tick"}
    for p in NAUT.glob("*.txt"):
        stem = p.stem.rstrip("0123456789").rstrip("_")
        assert stem in covered, p.name


def test_next_valid_id_and_managed_accounts() -> None:
    same(m.next_valid_id(574), rec("next_valid_id.txt"))
    same(m.managed_accounts("DU1234567"), rec("managed_accounts.txt"))


@pytest.mark.parametrize("i", [1, 2, 3])
def test_farm_notices(i: int) -> None:
    r = rec(f"data_connections_{i}.txt")
    same(m.error(176, -1, int(r[3]), r[4], ""), r)


@pytest.mark.parametrize("i", range(1, 7))
def test_account_summary(i: int) -> None:
    r = rec(f"account_summary_{i}.txt")
    same(m.account_summary(10001, "DU1234567", r[4], r[5], r[6]), r)


def test_commission_report() -> None:
    same(m.commission_report("0000e215.656d0002.01.01", 2.5, "USD", None),
         rec("commission_report_1.txt"))


def test_contract_details_eurusd() -> None:
    r = rec("contract_details_eurusd.txt")
    spec = dataclasses.replace(EURUSD, trading_hours=r[26], liquid_hours=r[27])
    same(m.contract_data(176, 10000, spec), r)


def test_execution_details() -> None:
    e = SimExecution("0000e215.656d0000.01.01", 215, 2, 1351823368, 12087792, "BOT", 1000,
                     1.08735, 1000, 1.08735, "20231203 20:15:20 US/Eastern", "DU1234567",
                     "IDEALPRO", "O-20231204-0115-001-000-3:215", 0.0, None)
    same(m.execution(176, -1, e, EURUSD), rec("execution_details_1.txt"))


def test_open_order() -> None:
    o = SimOrder(order_id=190, client_id=2, perm_id=1351823328, con_id=756733, action="BUY",
                 total_qty=1000, order_type="MKT", tif="IOC", account="DU1234567",
                 order_ref="O-20231203-1921-001-000-2:190", status="PendingCancel")
    same(m.open_order(176, o, BY_CONID[756733]), rec("open_order_1.txt"))


def test_order_status() -> None:
    o = SimOrder(order_id=216, client_id=2, perm_id=1351823369, con_id=12087792, action="BUY",
                 total_qty=3000, order_type="MKT", status="Filled", filled=3000,
                 avg_fill_price=1.08725, last_fill_price=1.08725)
    same(m.order_status(o), rec("order_status_1.txt"))


def test_positions() -> None:
    same(m.position("DU1234567", EURUSD, 0, 0.0), rec("position_1.txt"))
    btc = ContractSpec(479624278, "BTC", "CRYPTO", "PAXOS", "USD", "BTC.USD", "BTC", "BTC",
                       0.25, "0.25", "Bitcoin")
    same(m.position("DU1234567", btc, 1.24115341, 37950.0114333), rec("open_positions.txt"))


@pytest.mark.parametrize("i", [1, 2])
def test_tick_by_tick_bid_ask(i: int) -> None:
    r = rec(f"quote_tick_{i}.txt")
    same(m.tick_by_tick_bid_ask(10002, int(r[3]), float(r[4]), float(r[5]), float(r[6]),
                                float(r[7])), r)


# --- rust-ibapi v173 ------------------------------------------------------------

def rust_yaml() -> dict[str, list[list[str]]]:
    """Response field lists per interaction (parsed from the raw payloads)."""
    out: dict[str, list[list[str]]] = {}
    name = ""
    for line in (RUST / "tws_interactions.yaml").read_text().splitlines():
        s = line.strip()
        if s.startswith("- name:") and line.startswith("- "):
            name = s.split(":", 1)[1].strip()
        elif s.startswith("- raw:") and line.startswith("  - raw"):
            raw = json.loads(s.split(":", 1)[1].strip().replace("\\0", "\\u0000"))
            out.setdefault(name, []).append(split_fields(raw.encode()))
    return out


def test_rust_v173_positions_summary_time() -> None:
    y = rust_yaml()
    pos = y["positions"]
    same(m.position("ACCOUNT_ID", AAPL, -110, 201.8829709), pos[0])
    es = dataclasses.replace(BY_CONID[649180695], con_id=637533641, local_symbol="ESU5",
                             last_trade_date="20250919")
    same(m.position("ACCOUNT_ID", es, 1, 315114.75), pos[1])
    same(m.position_end(), pos[2])
    summ = y["account_summary"]
    for r in summ[:-1]:
        same(m.account_summary(9000, "ACCOUNT_ID", r[4], r[5], r[6]), r)
    same(m.account_summary_end(9000), summ[-1])
    same(m.current_time(1752606307), y["server_time"][0])


def test_rust_v173_transport_order_flow() -> None:
    d = json.loads((RUST / "transport_exchanges.json").read_text())
    conv = d["test_bus_send_order_request"]
    hello = conv[0]["responses"][0]
    assert split_fields(m.server_hello(173, hello[1]).encode(173)[4:]) == hello
    start = conv[1]["responses"]
    same(m.managed_accounts("DU1234567"), start[0])
    same(m.next_valid_id(5), start[1])
    oo, st, ex, oo2, st2 = conv[2]["responses"]
    o = SimOrder(order_id=5, client_id=100, perm_id=600745656, con_id=265598, action="BUY",
                 total_qty=100, order_type="MKT", tif="DAY", account="DU1234567",
                 status="PreSubmitted")
    mine = fields_of(m.open_order(173, o, AAPL).text)
    assert len(mine) == len(oo)
    skip = {len(oo) - 4, len(oo) - 3}  # minCompeteSize, competeAgainstBestOffset
    assert [x for i, x in enumerate(mine) if i not in skip] == \
        [x for i, x in enumerate(oo) if i not in skip]
    same(m.order_status(o), st)
    e = SimExecution("0000e0d5.67fe667b.01.01", 5, 100, 600745656, 265598, "BOT", 100, 201.94,
                     100, 201.94, ex[15], "DU1234567", "IEX", "", 0.0, None)
    same(m.execution(173, -1, e, AAPL), ex)
    o.status, o.filled, o.avg_fill_price, o.last_fill_price = "Filled", 100, 201.94, 201.94
    mine2 = fields_of(m.open_order(173, o, AAPL).text)
    assert [x for i, x in enumerate(mine2) if i not in skip] == \
        [x for i, x in enumerate(oo2) if i not in skip]
    same(m.order_status(o), st2)
    notices = d["test_connection_establish_connection"][1]["responses"][2:]
    for r in notices:
        same(m.error(173, -1, int(r[3]), r[4], ""), r)


def test_rust_v173_contract_details_shape() -> None:
    d = json.loads((RUST / "transport_exchanges.json").read_text())
    r = ["10", "9000"] + d["_const_AAPL_CONTRACT_RESPONSE_fields_after_10|9000"]
    spec = dataclasses.replace(AAPL, order_types=r[15], valid_exchanges=r[16],
                               trading_hours=r[26], liquid_hours=r[27], market_rule_ids=r[36],
                               min_size=r[39], size_increment=r[40])
    mine = fields_of(m.contract_data(173, 9000, spec).text)
    mine[-1] = r[-1]  # suggestedSizeIncrement: 100 at IB, sim uses sizeIncrement
    assert mine == r
