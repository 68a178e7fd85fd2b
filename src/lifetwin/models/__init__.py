"""Per-person models: the typed contract (:mod:`lifetwin.models.contract`) and the
framework that keeps each person's model up to date in their vault
(:mod:`lifetwin.models.runner`). See docs/models.md."""
