"""The recorded real-gateway traffic (``tests/fixtures/recorded_tws``, see its README): ground truth
for the wire format. Importing this module fails when the fixtures are missing, so a test that needs
them can never be skipped silently."""

from __future__ import annotations

from pathlib import Path

RECORDED_TWS = Path(__file__).resolve().parent / "fixtures" / "recorded_tws"
for _part in ("nautilus_paper_v176", "rust_ibapi_v173"):
    if not (RECORDED_TWS / _part).is_dir():
        raise FileNotFoundError(f"recorded gateway fixtures missing: {RECORDED_TWS / _part}")
