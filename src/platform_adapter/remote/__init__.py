"""The client of the adapter service: :class:`RemoteAdapter` has ``PlatformAdapter``'s interface.

    from platform_adapter.remote import RemoteAdapter
    pa = RemoteAdapter("tcp://127.0.0.1:5555", name="strategy-a")
"""

from platform_adapter.remote.adapter import RemoteAdapter
from platform_adapter.service.protocol import ErrorCode, ProtocolError

__all__ = ["ErrorCode", "ProtocolError", "RemoteAdapter"]
