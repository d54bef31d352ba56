"""Compiled query nodes: evaluated against a Scan, they say whether they hold and which spans made them."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.match.scan import PatternTable, Scan, Span

DEFAULT_FIELDS: frozenset[str] = frozenset({"title", "body"})  # where unfielded words and aliases are sought


class CNode:
    """A compiled query node."""

    __slots__ = ()

    def true(self, sc: Scan) -> bool:
        """Whether the node holds for the scanned document."""
        raise NotImplementedError

    def spans(self, sc: Scan) -> list[Span]:
        """Token spans of the node's occurrences (positional nodes only)."""
        raise NotImplementedError

    def highlight(self, sc: Scan, out: list[Span]) -> None:
        """Add the spans that make this (true) node true; NOT branches add nothing."""

    def triggers(self, table: PatternTable) -> tuple[str | int, ...] | None:
        """Pattern ids of which at least one must occur for the node to hold; None if none need to."""
        return best(self.required(table), table)

    def required(self, table: PatternTable) -> list[tuple[str | int, ...]]:
        """Sets of pattern ids that must *each* have one occurring for the node to hold (may be none)."""
        return []


class CPatterns(CNode):
    """Any of some patterns (a word, a phrase, or an actor's aliases), in some fields."""

    __slots__ = ("pids", "fields", "keys")

    def __init__(self, pids: Sequence[int], fields: frozenset[str], table: PatternTable) -> None:
        self.pids = tuple(pids)
        self.fields = fields
        self.keys = tuple(dict.fromkeys(table.keys[p] for p in self.pids))  # as in `Scan.found`

    def spans(self, sc: Scan) -> list[Span]:
        if len(self.pids) == 1:
            return sc.spans(self.pids[0], self.fields)
        return sorted(s for p in self.pids for s in sc.spans(p, self.fields))

    def true(self, sc: Scan) -> bool:
        fields = self.fields
        if sc.scanned <= fields:  # every scanned field counts: one set operation in C
            return not sc.found.isdisjoint(self.keys)
        for p in self.pids:  # a loop, not any(genexpr): this is the innermost call of matching
            if sc.has(p, fields):
                return True
        return False

    def highlight(self, sc: Scan, out: list[Span]) -> None:
        out.extend(self.spans(sc))

    def required(self, table: PatternTable) -> list[tuple[str | int, ...]]:
        return [self.keys]


class CActor(CNode):
    """An actor: any of its names or aliases, unless its `exclude` query holds (memoised per document).

    `within` None: the exclude vetoes the whole article (`exclude_scope: article`). A number: it vetoes
    only the occurrences of the names it overlaps or has at most that many tokens between
    (`exclude_scope: occurrence`), so "Cyber Monday" silences "Monday" there and nowhere else.
    """

    __slots__ = ("names", "exclude", "key", "within")

    def __init__(self, names: CPatterns, exclude: CNode | None, key: int, within: int | None = None) -> None:
        self.names = names
        self.exclude = exclude
        self.key = key
        self.within = within

    def _excluded(self, sc: Scan) -> bool:
        if self.exclude is None:
            return False
        cached = sc.memo.get(self.key)
        if cached is None:
            cached = sc.memo[self.key] = self.exclude.true(sc)
        return bool(cached)

    def _vetoes(self, sc: Scan) -> list[Span]:
        """The occurrences of an occurrence-scoped exclude (memoised: every field restriction shares them)."""
        assert self.exclude is not None
        cached = sc.memo.get(self.key)
        if cached is None:
            cached = sc.memo[self.key] = self.exclude.spans(sc) if self.exclude.true(sc) else []
        return cached  # type: ignore[return-value]

    def _kept(self, sc: Scan) -> list[Span]:
        """The names' occurrences that no vetoing occurrence overlaps or sits within `within` tokens of."""
        found = self.names.spans(sc)
        vetoes = self._vetoes(sc) if found else []
        if not vetoes:
            return found
        n = self.within or 0
        return [s for s in found if not any(v[0] == s[0] and v[1] <= s[2] + n and s[1] <= v[2] + n for v in vetoes)]

    def true(self, sc: Scan) -> bool:
        if not self.names.true(sc):
            return False
        if self.within is None:
            return not self._excluded(sc)
        return self.exclude is None or bool(self._kept(sc))

    def spans(self, sc: Scan) -> list[Span]:
        if self.within is not None:
            return self._kept(sc) if self.exclude is not None else self.names.spans(sc)
        found = self.names.spans(sc)
        return found if found and not self._excluded(sc) else []

    def highlight(self, sc: Scan, out: list[Span]) -> None:
        out.extend(self.spans(sc))

    def required(self, table: PatternTable) -> list[tuple[str | int, ...]]:
        return self.names.required(table)

    def with_fields(self, fields: frozenset[str], table: PatternTable) -> CActor:
        """The same actor sought only in some fields (`title:@actor`)."""
        return CActor(CPatterns(self.names.pids, fields, table), self.exclude, self.key, self.within)


class CLang(CNode):
    """The article's language, compared on the primary subtag ("ar" matches "ar-EG")."""

    __slots__ = ("code",)

    def __init__(self, code: str) -> None:
        self.code = code

    def true(self, sc: Scan) -> bool:
        lang = (sc.doc.language or "").lower().replace("_", "-")
        return lang == self.code or lang.split("-")[0] == self.code


class CTag(CNode):
    """A feed tag of the article (case-insensitive)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def true(self, sc: Scan) -> bool:
        return any(t.casefold() == self.name for t in sc.doc.tags)


class CAnd(CNode):
    """All children."""

    __slots__ = ("children",)

    def __init__(self, children: Sequence[CNode]) -> None:
        self.children = tuple(children)

    def true(self, sc: Scan) -> bool:
        for c in self.children:
            if not c.true(sc):
                return False
        return True

    def highlight(self, sc: Scan, out: list[Span]) -> None:
        for c in self.children:
            c.highlight(sc, out)

    def required(self, table: PatternTable) -> list[tuple[str | int, ...]]:
        # Every child's requirements are requirements of the AND.
        return list(dict.fromkeys(r for c in self.children for r in c.required(table)))


class COr(CNode):
    """Any child."""

    __slots__ = ("children",)

    def __init__(self, children: Sequence[CNode]) -> None:
        self.children = tuple(children)

    def true(self, sc: Scan) -> bool:
        for c in self.children:
            if c.true(sc):
                return True
        return False

    def spans(self, sc: Scan) -> list[Span]:
        return sorted(s for c in self.children for s in c.spans(sc))

    def highlight(self, sc: Scan, out: list[Span]) -> None:
        for c in self.children:
            if c.true(sc):
                c.highlight(sc, out)

    def required(self, table: PatternTable) -> list[tuple[str | int, ...]]:
        # One requirement: some child's (each child's likely rarest), unless a child needs nothing.
        union: set[str | int] = set()
        for c in self.children:
            t = best(c.required(table), table)
            if t is None:
                return []
            union.update(t)
        return [tuple(union)]


class CNot(CNode):
    """The child does not hold."""

    __slots__ = ("child",)

    def __init__(self, child: CNode) -> None:
        self.child = child

    def true(self, sc: Scan) -> bool:
        return not self.child.true(sc)


class CNear(CNode):
    """Two positional nodes in the same field with at most `distance` tokens between them."""

    __slots__ = ("left", "right", "distance", "ordered")

    def __init__(self, left: CNode, right: CNode, distance: int, ordered: bool) -> None:
        self.left, self.right, self.distance, self.ordered = left, right, distance, ordered

    def pairs(self, sc: Scan) -> list[tuple[Span, Span]]:
        """Every (left, right) occurrence pair within the distance."""
        lefts = self.left.spans(sc)
        if not lefts:
            return []
        rights = self.right.spans(sc)
        out = []
        n = self.distance
        for a in lefts:
            for b in rights:
                if a[0] != b[0]:
                    continue
                if 0 <= b[1] - a[2] <= n or (not self.ordered and 0 <= a[1] - b[2] <= n):
                    out.append((a, b))
        return out

    def true(self, sc: Scan) -> bool:
        return bool(self.pairs(sc))

    def spans(self, sc: Scan) -> list[Span]:
        return sorted({(a[0], min(a[1], b[1]), max(a[2], b[2])) for a, b in self.pairs(sc)})

    def highlight(self, sc: Scan, out: list[Span]) -> None:
        for a, b in self.pairs(sc):
            out.append(a)
            out.append(b)

    def required(self, table: PatternTable) -> list[tuple[str | int, ...]]:
        return list(dict.fromkeys([*self.left.required(table), *self.right.required(table)]))


def best(required: list[tuple[str | int, ...]], table: PatternTable) -> tuple[str | int, ...] | None:
    """The requirement likely to hold least often (the presearch indexes entries by it)."""
    return min(required, key=lambda t: cost(t, table)) if required else None


def cost(keys: tuple[str | int, ...], table: PatternTable) -> float:
    """Rough expected frequency of a trigger set: phrases are rarer than words, prefixes commoner."""
    total = 0.0
    for k in keys:
        if isinstance(k, str):  # a single word
            total += 2.0 / max(1, len(k) - 2)
            continue
        tokens = table.tokens[k]
        total += 1.0 if len(tokens) > 1 else (4.0 if table.prefix[k] else 2.0) / max(1, len(tokens[0]) - 2)
    return total
