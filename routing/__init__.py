"""Dispatch decisions: the item 52 policy, locality and repeat detection (issue 4)."""
