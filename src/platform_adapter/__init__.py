"""platform_adapter: Interactive Brokers TWS API adapter."""
