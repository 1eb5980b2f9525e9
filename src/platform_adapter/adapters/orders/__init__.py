"""Parts of the order execution adapter (``adapters/order_execution.py``): validation, order
models and encoding, groups and previews, fills, reconciliation, and the order journal with its
intent log and order-id allocator."""
