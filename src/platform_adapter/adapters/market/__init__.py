"""Parts of the market data adapter (``adapters/market_data.py``): subscriptions and IB lines,
the quote sink, the typed market-data events and historical queries."""
