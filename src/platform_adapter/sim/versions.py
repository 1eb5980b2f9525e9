"""Server version negotiation: the handshake's version range against what the simulator serves.

A client offers ``vMIN..MAX`` (ibapi 10.50: v100..226; ib_async 2.x: v157..178). The simulator
answers with the highest version both sides support, ``min(client max, its own version)``, the
way TWS does, and refuses (closes the socket, with a log line saying why) an offer it cannot
meet. Its own version can be anything from ``MIN_SUPPORTED_VERSION`` to ``MAX_SUPPORTED_VERSION``.
Connect options follow the range ("v100..226 +PACEAPI": pace my requests, TWS/Gateway 974+).
"""

from __future__ import annotations

import logging

from ibapi.server_versions import MAX_CLIENT_VER, MIN_CLIENT_VER

from .protocol import parse_version_range

log = logging.getLogger("platform_adapter.sim")

# The lowest version whose layouts the simulator's request parsers and reply encoders are written
# for (ibapi's MIN_CLIENT_VER: the bottom of every range ibapi offers); the highest is the installed
# ibapi's MAX_CLIENT_VER.
MIN_SUPPORTED_VERSION: int = MIN_CLIENT_VER
MAX_SUPPORTED_VERSION: int = MAX_CLIENT_VER


def check_server_version(version: int) -> int:
    """``version`` if the simulator can run at it, else ValueError."""
    if not MIN_SUPPORTED_VERSION <= version <= MAX_SUPPORTED_VERSION:
        raise ValueError(f"server version {version} outside {MIN_SUPPORTED_VERSION}.."
                         f"{MAX_SUPPORTED_VERSION}")
    return version


def connect_options(offer: str) -> frozenset[str]:
    """The connect options after the version range (ibapi's ``setConnectOptions``), e.g.
    {"+PACEAPI"} for "v100..226 +PACEAPI"."""
    return frozenset(offer.split()[1:])


def negotiate(offer: str, ours: int) -> int | None:
    """The version to serve a client offering ``offer`` (e.g. "v100..226"), or None (logged)."""
    try:
        lo, hi = parse_version_range(offer)
    except ValueError:
        log.warning("refusing client: unreadable version offer %r", offer)
        return None
    if lo > hi:
        log.warning("refusing client offering %s: empty range", offer)
        return None
    if lo > ours:
        log.warning("refusing client offering %s: its minimum %d is above this gateway's "
                    "server version %d", offer, lo, ours)
        return None
    version = min(hi, ours)
    if version < MIN_SUPPORTED_VERSION:
        log.warning("refusing client offering %s: its maximum %d is below the simulator's "
                    "minimum server version %d", offer, hi, MIN_SUPPORTED_VERSION)
        return None
    return version
