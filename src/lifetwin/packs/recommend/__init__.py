"""Recommendations that serve the person: catalogs, a personal policy, guardrails, reasons."""
