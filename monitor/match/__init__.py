"""The matching stage: query language, text folding, compiled watchlists, explained matches."""

from monitor.match.check import check_watchlists
from monitor.match.compile import QueryProblem
from monitor.match.fold import fold, fold_exact, fold_tokens, tokenize
from monitor.match.matcher import AdhocQuery, CompiledWatchlists, compile_adhoc, make_snippet
from monitor.match.query import FIELDS, parse_query

__all__ = [
    "FIELDS",
    "AdhocQuery",
    "CompiledWatchlists",
    "QueryProblem",
    "check_watchlists",
    "compile_adhoc",
    "fold",
    "fold_exact",
    "fold_tokens",
    "make_snippet",
    "parse_query",
    "tokenize",
]
