"""Parts of the account manager (``adapters/account_manager.py``): account values and the choice of
managed account."""
