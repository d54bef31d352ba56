"""Texts for the tests: the 2024-11-19 story of DESIGN §1 and two articles that must not match."""

STORY_TITLE = "Türkiye’s spy chief met Shin Bet head over Gaza captives"
STORY = (
    "Turkey's intelligence chief İbrahim Kalın met Shin Bet director Ronen Bar in Türkiye "
    "to discuss the Israeli captives held in Gaza, officials said. Egypt, not Türkiye, is to "
    "mediate, after Qatar froze its mediation earlier this month. Meanwhile Netanyahu’s cabinet "
    "met with Mossad chief David Barnea, chief of staff Herzi Halevi and hostage envoy Nitzan Alon "
    "to review the negotiations."
)
BAR_STORY = (
    "A new cocktail bar opened in Tel Aviv this week. The Bar, run by a former sommelier, serves "
    "Turkish coffee martinis; bar staff say the terrace is full every night."
)
MIT_STORY = (
    "Researchers at MIT, the Massachusetts Institute of Technology in Cambridge, unveiled a battery "
    "that charges in minutes. The MIT team said the design is cheap to make."
)
