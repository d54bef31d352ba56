"""Story texts written for the cluster tests: one wire story, its update, and another story on the topic."""

from __future__ import annotations

WIRE_TITLE = "Qatar keeps Gaza mediation on hold, says parties must show seriousness"
WIRE = [
    "DOHA - Qatar said on Saturday that its mediation between Israel and Hamas remains frozen until "
    "both sides show willingness and seriousness to end the war in Gaza.",
    "The decision leaves talks on a ceasefire and the release of hostages without their main broker, "
    "weeks after negotiators last met in Cairo.",
    "A foreign ministry spokesman said Doha would resume its role when conditions allowed, and denied "
    "reports that the Hamas political office in the capital had been closed.",
    "Egypt and the United States have kept up separate contacts with the parties, diplomats said, "
    "but no new round of talks has been scheduled.",
    "Families of the hostages held in Gaza urged the mediators to return to the table before winter.",
]
UPDATE_TITLE = "UPDATE 1-Qatar pauses Gaza mediation; Hamas office stays open, Doha says"
UPDATE = [
    WIRE[0],
    WIRE[1],
    "Majed al-Ansari, the foreign ministry spokesman, told reporters on Sunday that the Hamas office "
    "in Doha remained open and that Qatar would return to mediation once both parties were ready.",
    WIRE[3],
    WIRE[4],
]
OTHER_TITLE = "Egypt floats phased prisoner exchange plan to restart Gaza talks"
OTHER = [
    "CAIRO - Egypt has proposed a phased prisoner exchange to Israel and Hamas, officials said on "
    "Tuesday, in an attempt to restart negotiations stalled since Qatar froze its mediation.",
    "Under the plan, a small number of hostages held in Gaza would be freed in return for Palestinian "
    "prisoners during a short truce, followed by talks on a longer ceasefire.",
    "Egyptian intelligence officials presented the outline to a Hamas delegation in Cairo, and an "
    "Israeli team is expected next week, two sources said.",
    "Israel's prime minister told families of the hostages that a deal was closer than before, "
    "without giving details.",
]
