"""Feed-health alerting: when a failing or silent feed is worth telling an operator, once. Pure.

No I/O and no imports of other monitor packages: the store reads each feed's facts and the
alerts already raised (monitor/store/feed_health.py), the use case feeds them here
(monitor/usecases/feed_health.py). See README, "Feed-health alerts".
"""

from monitor.feedhealth.rule import (
    ERROR_HINTS,
    Alerted,
    FeedFacts,
    HealthEvent,
    HealthRule,
    Judgement,
    hint_for,
    judge,
    record_gap,
    usual_interval,
)

__all__ = [
    "ERROR_HINTS", "Alerted", "FeedFacts", "HealthEvent", "HealthRule", "Judgement", "hint_for", "judge",
    "record_gap", "usual_interval",
]
