"""The built-in connectors, registered through the same hook as any plugin."""

from __future__ import annotations

from lifetwin.packs.learning.sources import AnkiConnector, ExerciseLogConnector
from lifetwin.sources.activity import FitConnector, GpxConnector, TcxConnector
from lifetwin.sources.apple_health import AppleHealthConnector
from lifetwin.sources.base import Connector, hookimpl
from lifetwin.sources.browsing import (
    BrowserHistoryConnector,
    MediaHistoryConnector,
    MyActivityConnector,
)
from lifetwin.sources.cgm import (
    DexcomClarityConnector,
    LibreViewConnector,
    NightscoutConnector,
    TidepoolConnector,
)
from lifetwin.sources.environment import OpenMeteoConnector, SmartHomeConnector
from lifetwin.sources.fhir import FhirConnector
from lifetwin.sources.finance import BankCsvConnector, OfxConnector
from lifetwin.sources.openmhealth import OpenMHealthConnector
from lifetwin.sources.tabular import TabularConnector
from lifetwin.sources.wearables import FitbitConnector, GoogleFitConnector, OuraConnector


@hookimpl
def lifetwin_connectors() -> list[Connector]:
    # Order matters for detection: specific formats before the generic one.
    return [
        AppleHealthConnector(),
        FitConnector(),
        TcxConnector(),
        GpxConnector(),
        DexcomClarityConnector(),
        LibreViewConnector(),
        FhirConnector(),
        FitbitConnector(),
        GoogleFitConnector(),
        OuraConnector(),
        OfxConnector(),
        BankCsvConnector(),
        BrowserHistoryConnector(),
        MyActivityConnector(),
        MediaHistoryConnector(),
        OpenMeteoConnector(),
        SmartHomeConnector(),
        OpenMHealthConnector(),
        NightscoutConnector(),
        TidepoolConnector(),
        AnkiConnector(),
        ExerciseLogConnector(),
        TabularConnector(),
    ]
