"""SDMetrics' quality report of a synthetic table (run inside the Flower runtime venv).

``python -m lifetwin.population.sdm_quality DATA.json`` prints one JSON line:
overall, column_shapes and column_pair_trends scores. Both real-association
thresholds are set to 0 so that every column pair is scored.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path


def main(path: str) -> None:
    import pandas as pd
    from sdmetrics.reports.single_table import QualityReport

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    real = pd.DataFrame(data["real"], columns=data["columns"])
    synth = pd.DataFrame(data["synthetic"], columns=data["columns"])
    metadata = {
        "columns": {c: {"sdtype": t} for c, t in zip(data["columns"], data["sdtypes"], strict=True)}
    }
    report = QualityReport()
    report.real_association_threshold = 0
    report.real_correlation_threshold = 0
    report.generate(real, synth, metadata, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    out = {
        "overall": report.get_score(),
        "column_shapes": props["Column Shapes"],
        "column_pair_trends": props["Column Pair Trends"],
    }
    if any(math.isnan(float(v)) for v in out.values()):
        raise SystemExit("SDMetrics returned NaN: a property was not scored.")
    print(json.dumps({k: float(v) for k, v in out.items()}))


if __name__ == "__main__":
    main(sys.argv[1])
