"""The pyBKT side of benchmarks/learner.py: run in a SEPARATE environment with pyBKT 1.4.3.

    PYTHON learner_pybkt_peer.py ANSWERS.csv SEED

Fits pyBKT (one model per skill, 5 random starts) on the rows marked ``train`` and
predicts every ``test`` row from the answers before it; the last line is one JSON
object with the predictions (in the file's order), the answers and the fitted
parameters. pyBKT 1.4.3 needs numpy < 2.4 and scikit-learn < 1.8, so it never enters
LifeTwin's environment.
"""

from __future__ import annotations

import json
import sys
import time

import pandas as pd
from pyBKT.models import Model

table = pd.read_csv(sys.argv[1])
seed = int(sys.argv[2])
train = table[table["split"] == "train"].drop(columns="split")
test = table[table["split"] == "test"].drop(columns="split")
model = Model(seed=seed, num_fits=5)
started = time.perf_counter()
model.fit(data=train)
fit_s = time.perf_counter() - started
predicted = model.predict(data=test)
params = model.params().reset_index()
print(
    json.dumps(
        {
            "predictions": predicted["correct_predictions"].astype(float).tolist(),
            "correct": predicted["correct"].astype(int).tolist(),
            "params": {
                f"{row.skill}:{row.param}": float(row.value)
                for row in params.itertuples()
                if row.param in ("prior", "learns", "guesses", "slips")
            },
            "fit_s": fit_s,
        }
    )
)
