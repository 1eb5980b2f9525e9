"""The adapter as a service (spec phase 2): one IB session shared by many processes over ZeroMQ.

Run it with ``python -m platform_adapter.service`` (see ``__main__``); connect to it with
:class:`platform_adapter.remote.RemoteAdapter`. The wire format is in docs/service.md.
"""

from platform_adapter.service.protocol import SCHEMA_VERSION, ErrorCode, ProtocolError
from platform_adapter.service.server import Service, ServiceConfig

__all__ = ["SCHEMA_VERSION", "ErrorCode", "ProtocolError", "Service", "ServiceConfig"]
