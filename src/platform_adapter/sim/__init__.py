"""Simulated IB Gateway speaking the real TWS socket protocol (see DESIGN.md section 6)."""

from .pacing import PacingConfig, PacingStats
from .server import GatewayStats, SimulatedGateway

__all__ = ["GatewayStats", "PacingConfig", "PacingStats", "SimulatedGateway"]
