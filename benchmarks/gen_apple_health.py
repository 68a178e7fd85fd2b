"""Write a synthetic Apple Health export.xml of N records in the real layout.

    python benchmarks/gen_apple_health.py OUT.xml [--records 1000000] [--seed 1]

The layout follows real exports: the internal DTD Apple ships, ExportDate, Me,
Records of mixed quantity and category types (minute heart rate, step and
energy intervals, distance, sleep stages, SpO2 as a fraction, a type LifeTwin
does not read), MetadataEntry children on some records, Workouts with
statistics, events and metadata, and an ActivitySummary per day. Values are
random but plausible; the generator never looks at what the importer does.
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta
from pathlib import Path

DTD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate value CDATA #REQUIRED>
<!ELEMENT Me EMPTY>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record type CDATA #REQUIRED unit CDATA #IMPLIED value CDATA #IMPLIED
  sourceName CDATA #REQUIRED sourceVersion CDATA #IMPLIED device CDATA #IMPLIED
  creationDate CDATA #IMPLIED startDate CDATA #REQUIRED endDate CDATA #REQUIRED>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry key CDATA #REQUIRED value CDATA #REQUIRED>
<!ELEMENT Workout ((MetadataEntry|WorkoutEvent|WorkoutRoute|WorkoutStatistics)*)>
<!ELEMENT ActivitySummary EMPTY>
]>
"""
WATCH = (
    "&lt;&lt;HKDevice: 0x28{n:07x}&gt;, name:Apple Watch, manufacturer:Apple Inc., "
    "model:Watch, hardware:Watch6,7, software:10.2&gt;"
)
KINDS = [  # (type, unit, share, value maker, duration seconds)
    ("HKQuantityTypeIdentifierHeartRate", "count/min", 0.50, lambda r: f"{r.randint(48, 165)}", 0),
    ("HKQuantityTypeIdentifierStepCount", "count", 0.18, lambda r: f"{r.randint(0, 900)}", 600),
    (
        "HKQuantityTypeIdentifierActiveEnergyBurned",
        "kcal",
        0.14,
        lambda r: f"{r.uniform(0.01, 9):.3f}",
        60,
    ),
    (
        "HKQuantityTypeIdentifierBasalEnergyBurned",
        "kcal",
        0.06,
        lambda r: f"{r.uniform(0.5, 2):.3f}",
        60,
    ),
    (
        "HKQuantityTypeIdentifierDistanceWalkingRunning",
        "km",
        0.06,
        lambda r: f"{r.uniform(0, 0.8):.5f}",
        600,
    ),
    (
        "HKQuantityTypeIdentifierOxygenSaturation",
        "%",
        0.02,
        lambda r: f"{r.uniform(0.92, 1):.2f}",
        0,
    ),
    (
        "HKQuantityTypeIdentifierHeadphoneAudioExposure",
        "dBASPL",
        0.02,
        lambda r: f"{r.uniform(40, 90):.2f}",
        300,
    ),
    ("HKQuantityTypeIdentifierNumberOfTimesFallen", "count", 0.01, lambda r: "1", 0),
    (
        "HKCategoryTypeIdentifierSleepAnalysis",
        None,
        0.01,
        lambda r: r.choice(
            [
                "HKCategoryValueSleepAnalysisAsleepCore",
                "HKCategoryValueSleepAnalysisAsleepDeep",
                "HKCategoryValueSleepAnalysisAsleepREM",
                "HKCategoryValueSleepAnalysisAwake",
            ]
        ),
        1800,
    ),
]


def fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S +0100")


def generate(path: Path, records: int, seed: int = 1) -> None:
    r = random.Random(seed)
    start = datetime(2023, 1, 1)
    step = timedelta(seconds=max(1, int(365 * 86400 / records)))
    weights = [k[2] for k in KINDS]
    with path.open("w", encoding="utf-8") as out:
        out.write(DTD)
        out.write('<HealthData locale="en_NL">\n <ExportDate value="2024-01-02 08:00:00 +0100"/>\n')
        out.write(
            ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1990-05-20" '
            'HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>\n'
        )
        when = start
        day = start.date()
        for i in range(records):
            when += step
            kind, unit, _share, value, seconds = r.choices(KINDS, weights)[0]
            end = when + timedelta(seconds=seconds)
            unit_attr = f' unit="{unit}"' if unit else ""
            head = (
                f' <Record type="{kind}" sourceName="Ada\u2019s Apple\u00a0Watch" '
                f'sourceVersion="10.2" device="{WATCH.format(n=i % 4096)}"{unit_attr} '
                f'creationDate="{fmt(end)}" startDate="{fmt(when)}" endDate="{fmt(end)}" '
                f'value="{value(r)}"'
            )
            if i % 10 == 0:
                out.write(
                    head + '>\n  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" '
                    'value="0"/>\n </Record>\n'
                )
            else:
                out.write(head + "/>\n")
            if when.date() != day:
                out.write(
                    f' <ActivitySummary dateComponents="{day.isoformat()}" '
                    f'activeEnergyBurned="{r.uniform(200, 900):.3f}" '
                    'activeEnergyBurnedGoal="600" activeEnergyBurnedUnit="kcal" '
                    f'appleExerciseTime="{r.randint(0, 90)}" appleExerciseTimeGoal="30" '
                    f'appleStandHours="{r.randint(4, 16)}" appleStandHoursGoal="12"/>\n'
                )
                if r.random() < 0.3:
                    w_end = when + timedelta(minutes=40)
                    out.write(
                        f' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" '
                        'duration="40" durationUnit="min" '
                        'sourceName="Ada\u2019s Apple\u00a0Watch" '
                        f'startDate="{fmt(when)}" endDate="{fmt(w_end)}">\n'
                        '  <MetadataEntry key="HKTimeZone" value="Europe/Amsterdam"/>\n'
                        f'  <WorkoutEvent type="HKWorkoutEventTypeSegment" date="{fmt(when)}" '
                        'duration="10" durationUnit="min"/>\n'
                        "  <WorkoutStatistics "
                        'type="HKQuantityTypeIdentifierDistanceWalkingRunning" '
                        f'startDate="{fmt(when)}" endDate="{fmt(w_end)}" '
                        f'sum="{r.uniform(4, 9):.3f}"'
                        ' unit="km"/>\n </Workout>\n'
                    )
                day = when.date()
        out.write("</HealthData>\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.out, args.records, args.seed)


if __name__ == "__main__":
    main()
