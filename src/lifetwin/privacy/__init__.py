"""Privacy and governance: consent, lineage, audit, pseudonymization, release rules, MFA."""
