"""Learning from many twins without pooling their data.

Every job is split Flower-style into a per-person step that runs where the
vault is — reading only through the consent gate with purpose ``research`` and
the study as recipient, after charging the person's privacy budget — and an
aggregate step that sees only clipped, noised, securely aggregated updates or
DP releases.

Entry points (each returns a pydantic model; errors are one sentence):

- ``runtime.simulate_federated(home, FederatedConfig, nodes, workers=2)`` and
  ``runtime.deploy_federated(home, FederatedConfig, nodes=2)`` → ``FederatedReport``
  (Flower 1.42 with SecAgg+ and client-side fixed clipping DP; ε per round).
- ``dpstats.population_statistic(store, study, metric, kind, epsilon)`` → ``DPRelease``
  (OpenDP mean / quantiles / histogram).
- ``he_scoring.encrypted_sleep_risk(vault, scorer, weights, bias)`` → ``EncryptedScore``
  (TenSEAL CKKS; the scorer's side is ``he_scoring.score_encrypted``).
- ``synth.synthetic_cohort(store, study, epsilon)`` → ``SyntheticCohort`` (MST over
  OpenDP); ``synth.quality_report``, ``synth.distance_to_closest_record``,
  ``synth.membership_auc`` check it.
- ``fairness.audit_classifier`` / ``fairness.audit_errors`` → ``FairnessReport``;
  ``fairness.FairnessGate().require(report)`` refuses to deploy.
- ``scaleout.run_population_step(home, study, step, workers=…, address=…)`` →
  results and ``StepRun`` (Ray tasks over vault shards, or in-process).
- ``views.study_view(store, study, releases, runs)`` → ``StudyOperatorView``;
  ``views.contribution_view(vault)`` → ``ContributionView``;
  ``budget.set_budget_limit(vault, epsilon)`` for the person.
- ``cohort.make_cohort(home, n, seed=…)``: N synthetic twins in a real store.
"""
