"""Workflows: check the rules, change the models, record the activity. They flush, never commit."""
