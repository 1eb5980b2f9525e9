"""The adapters: ``market_data.py``, ``order_execution.py`` and ``account_manager.py`` (the spec's
three), each with its parts in a folder of its domain (``market/``, ``orders/``, ``account/``);
``contracts.py`` and ``derivatives.py`` resolve contracts for all three; ``base_adapter.py`` is
their base class."""
