"""Hypothesis strategies: hostile feed bytes (mutated seeds, generated XML) and queries, documents, YAML."""

from __future__ import annotations

import codecs
from pathlib import Path

from hypothesis import strategies as st

# ------------------------------------------------------------------ byte mutations


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Path]) -> bytes:
    """A seed file read in place, then byte flips, truncation, splicing, insertion and duplication."""
    data = bytearray(draw(st.sampled_from(seeds)).read_bytes())
    for _ in range(draw(st.integers(0, 8))):
        op = draw(st.sampled_from(["flip", "truncate", "splice", "insert", "delete", "duplicate", "magic"]))
        n = len(data)
        if op == "flip" and n:
            i = draw(st.integers(0, n - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate" and n:
            del data[draw(st.integers(0, n)):]
        elif op == "splice":
            other = draw(st.sampled_from(seeds)).read_bytes()
            a = draw(st.integers(0, len(other)))
            b = draw(st.integers(a, len(other)))
            at = draw(st.integers(0, n))
            data[at:at] = other[a:b]
        elif op == "insert":
            at = draw(st.integers(0, n))
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif op == "delete" and n:
            a = draw(st.integers(0, n - 1))
            del data[a : a + draw(st.integers(1, 64))]
        elif op == "duplicate" and n:
            a = draw(st.integers(0, n - 1))
            b = draw(st.integers(a, min(n, a + 4096)))
            data[b:b] = data[a:b] * draw(st.integers(1, 50))
        elif op == "magic":
            at = draw(st.integers(0, n))
            data[at:at] = draw(st.sampled_from(MAGIC))
    return bytes(data)


MAGIC = [
    b"<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\">]>", b"&a;", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<?xml ?>",
    b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00", b"&#0;", b"&#x110000;", b"&#99999999999;", b"&amp;",
    b"<script>alert(1)</script>", b"<img src=x onerror=alert(1)>", b"<a href=\"javascript:alert(1)\">x</a>",
    b"xml:base=\"javascript:alert(1)//\"", b"<![CDATA[<script>x</script>]]>", b"<", b">", b"\"", b"'", b"]",
    b"<!ENTITY % p SYSTEM \"file:///etc/passwd\">%p;", b"encoding=\"utf-16\"", b"encoding=\"bogus-enc\"",
    b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\r\n", b"\t",
]

# ------------------------------------------------------------------ structured XML

FEED_NAMES = ["rss", "channel", "item", "title", "link", "description", "guid", "pubDate", "author", "language",
              "ttl", "content:encoded", "dc:creator", "dc:date", "feed", "entry", "id", "updated", "published",
              "summary", "content", "name", "rdf:RDF", "html", "body", "x", "atom:link", "media:content"]
ROOTS = ["rss", "feed", "rdf:RDF", "channel", "html", "x", "RSS", "Feed"]
NAMESPACES = {
    "xmlns": "http://www.w3.org/2005/Atom",
    "xmlns:content": "http://purl.org/rss/1.0/modules/content/",
    "xmlns:dc": "http://purl.org/dc/elements/1.1/",
    "xmlns:rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmlns:atom": "http://www.w3.org/2005/Atom",
}
XSS = [
    "<script>alert(1)</script>", "<SCRIPT SRC=//evil/x.js></SCRIPT>", "<img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">j</a>", "<a href=\"  JaVaScRiPt:alert(1)\">j</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">j</a>", "<a href=\"java\tscript:alert(1)\">t</a>",
    "<a href=\"&#106;avascript:alert(1)\">e</a>", "<a href=\"vbscript:msgbox(1)\">v</a>",
    "<a href=\"data:text/html,<script>alert(1)</script>\">d</a>", "<svg onload=alert(1)><circle/></svg>",
    "<iframe src=\"javascript:alert(1)\"></iframe>", "<body onload=alert(1)>", "<div style=\"x:expression(alert(1))\">s</div>",
    "<math><mi xlink:href=\"javascript:alert(1)\">m</mi></math>", "<form action=\"javascript:alert(1)\"><button>b</button></form>",
    "<base href=\"javascript:alert(1)//\">", "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
    "<object data=\"javascript:alert(1)\"></object>", "<img src=\"x\" ONERROR = \"alert(1)\">",
    "<scr<script>ipt>alert(1)</scr</script>ipt>", "<a href=\"relative/x\" onclick=\"alert(1)\">r</a>",
    "<<script>script>alert(1)<</script>/script>", "<img/src=x/onerror=alert(1)>", "<style>@import 'x'</style>",
    "<p>fine <b>text</b></p>", "<a href=\"https://example.org/\">ok</a>", "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&amp;lt;b&amp;gt;", "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
]
ENCODINGS = ["utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "iso-8859-1", "windows-1252", "koi8-r",
             "shift_jis", "iso-8859-9", "ascii", "gb18030"]
BOMS = {"utf-8": codecs.BOM_UTF8, "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}

_text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40
) | st.sampled_from(["Ibrahim Kalın", "İstanbul", "ﬁnal", "العربية", "עברית", "\u200b", "a&amp;b", "x]]>y"])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def text_content(draw: st.DrawFn, entities: list[str]) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["text", "raw", "entity", "charref", "cdata", "xss", "escaped_xss"]))
        if kind == "text":
            parts.append(_escape(draw(_text)))
        elif kind == "raw":
            parts.append(draw(_text))
        elif kind == "entity":
            names = entities + ["amp", "lt", "gt", "quot", "apos", "nbsp", "eacute", "undefined"]
            parts.append(f"&{draw(st.sampled_from(names))};")
        elif kind == "charref":
            parts.append(draw(st.sampled_from(["&#0;", "&#x41;", "&#1114111;", "&#1114112;", "&#xD800;", "&#65;",
                                               "&#x;", "&#99999999999999999999;", "&#9;"])))
        elif kind == "cdata":
            parts.append(f"<![CDATA[{draw(st.sampled_from(XSS))}{draw(_text).replace(']]>', '')}]]>")
        elif kind == "xss":
            parts.append(draw(st.sampled_from(XSS)))
        else:
            parts.append(_escape(draw(st.sampled_from(XSS))))
    return "".join(parts)


@st.composite
def attributes(draw: st.DrawFn, huge: bool = False) -> str:
    """Attributes of one element; with `huge`, values may be repeated up to 1 MB (the root only, so one
    document stays within a few MB and the generator itself never runs out of memory)."""
    out = []
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(["type", "xml:base", "xml:lang", "href", "rel", "mode", "isPermaLink",
                                     "version", "lang", "src", "onload", "x"]))
        value = draw(st.sampled_from(["html", "xhtml", "text", "escaped", "text/html", "application/xhtml+xml",
                                      "javascript:alert(1)//", "http://example.org/a/", "../up", "//evil.example/",
                                      "2.0", "tr-TR", "en", "", "x" * 7000]) | _text.map(_escape))
        if huge and draw(st.booleans()):
            value = value[:100] * draw(st.integers(1, 10_000))  # huge attribute values, up to 1 MB
        out.append(f' {name}="{value.replace(chr(34), "&quot;")}"')
    return "".join(out)


def element(entities: list[str]) -> st.SearchStrategy[str]:
    leaf = st.builds(
        lambda name, attrs, body: f"<{name}{attrs}>{body}</{name}>",
        st.sampled_from(FEED_NAMES), attributes(), text_content(entities),
    ) | st.builds(lambda name, attrs: f"<{name}{attrs}/>", st.sampled_from(FEED_NAMES), attributes())

    def extend(children: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
        return st.builds(
            lambda name, attrs, kids, close: f"<{name}{attrs}>{''.join(kids)}" + (f"</{name}>" if close else ""),
            st.sampled_from(FEED_NAMES), attributes(), st.lists(children, max_size=5), st.booleans() | st.just(True),
        )

    return st.recursive(leaf, lambda kids: extend(kids), max_leaves=25)  # type: ignore[arg-type]


@st.composite
def doctype(draw: st.DrawFn, root: str) -> tuple[str, list[str]]:
    """A DOCTYPE with entity declarations: plain, billion laughs, quadratic blowup, external, parameter."""
    shape = draw(st.sampled_from(["none", "plain", "laughs", "quadratic", "external", "parameter", "broken"]))
    if shape == "none":
        return "", []
    if shape == "plain":
        return f'<!DOCTYPE {root} [<!ENTITY e1 "{_escape(draw(_text))}">]>', ["e1"]
    if shape == "laughs":
        levels = draw(st.integers(2, 12))
        fanout = draw(st.integers(2, 12))
        decls = ['<!ENTITY l0 "lol">']
        for i in range(1, levels + 1):
            decls.append(f'<!ENTITY l{i} "{f"&l{i - 1};" * fanout}">')
        return f"<!DOCTYPE {root} [{''.join(decls)}]>", [f"l{levels}"]
    if shape == "quadratic":
        size = draw(st.integers(1000, 200_000))
        return f'<!DOCTYPE {root} [<!ENTITY q "{"a" * size}">]>', ["q"] * 50
    if shape == "external":
        target = draw(st.sampled_from(["file:///etc/passwd", "http://127.0.0.1:9/x", "/etc/hostname", "x.dtd"]))
        return f'<!DOCTYPE {root} [<!ENTITY ext SYSTEM "{target}">]>', ["ext"]
    if shape == "parameter":
        return (f'<!DOCTYPE {root} [<!ENTITY % p SYSTEM "file:///etc/passwd"><!ENTITY % q "<!ENTITY r \'x\'>">'
                f"%q;%p;]>", ["r"])
    return f"<!DOCTYPE {root} [<!ENTITY broken \"{draw(_text)}", ["broken"]


@st.composite
def xml_feed(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """A generated feed document (bytes) and the content type it is served with."""
    root = draw(st.sampled_from(ROOTS))
    dtd, entities = draw(doctype(root))
    ns = "".join(f' {k}="{v}"' for k, v in NAMESPACES.items() if draw(st.booleans()))
    version = ' version="2.0"' if root == "rss" and draw(st.booleans()) else ""
    kids = draw(st.lists(element(entities), max_size=6))
    if root == "rss" and draw(st.booleans()):
        kids = [f"<channel><title>{draw(text_content(entities))}</title>{''.join(kids)}</channel>"]
    close = f"</{root}>" if draw(st.integers(0, 3)) else ""
    body = f"<{root}{ns}{version}{draw(attributes(huge=True))}>{''.join(kids)}{close}"
    encoding = draw(st.sampled_from(ENCODINGS))
    declared = draw(st.sampled_from([encoding, encoding, "utf-8", "utf-16", "bogus", None]))
    decl = "" if declared is None and draw(st.booleans()) else f'<?xml version="1.0" encoding="{declared or "utf-8"}"?>'
    comment = draw(st.sampled_from(["", "<!-- <!DOCTYPE x [<!ENTITY a 'b'>]> -->", "<?pi x?>", "\n"]))
    text = f"{decl}{comment}{dtd}{body}"
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()) and encoding in BOMS:
        data = BOMS[encoding] + data
    content_type = draw(st.sampled_from([None, "application/rss+xml", "application/atom+xml", "text/xml",
                                         "application/xml; charset=utf-16", f"text/xml; charset={encoding}",
                                         "text/html", "text/plain", "application/octet-stream", "text/xml; charset=bogus"]))
    return data, content_type


CONTENT_TYPES = st.sampled_from([None, "application/rss+xml", "application/atom+xml", "text/xml", "text/html",
                                 "text/html; charset=utf-16", "text/plain", "text/plain; charset=koi8-r",
                                 "application/xhtml+xml", "text/html; charset=bogus", "", ";;;charset="])
BASE_URLS = st.sampled_from(["https://example.org/feed/", "http://example.org", "https://[::1]/x", "file:///tmp/x",
                             "", "not a url", "http://[bad/", "javascript:alert(1)//"])


# ------------------------------------------------------------------ entity declarations anywhere (issue 13.1)

MARKER = "QZXJ"
"""The replacement text of every generated entity: counting it in the parsed output shows any expansion."""
STRAY = ["<:x/>", "<_x>", "<_:y/>", "<\u00e9/>", "<\x80/>", "<?pi x?>", "<?xml-stylesheet href='s'?>", "<!-- c -->",
         "<![CDATA[c]]>", "</x>", "<", "<x", "\n", " \t", "\ufeff"]


@st.composite
def entity_declarations(draw: st.DrawFn) -> str:
    """One DOCTYPE (or bare ENTITY declarations) defining `a` as MARKER text, spelled in any case."""
    keyword = draw(st.sampled_from(["ENTITY", "entity", "Entity", "eNtItY"]))
    doctype = draw(st.sampled_from(["DOCTYPE", "doctype", "DocType"]))
    value = MARKER * draw(st.integers(1, 50))
    shape = draw(st.sampled_from(["plain", "parameter", "nested", "bare", "two"]))
    if shape == "plain":
        subset = f'<!{keyword} a "{value}">'
    elif shape == "parameter":
        subset = f"<!{keyword} % p \"<!{keyword} a '{value}'>\">%p;"
    elif shape == "nested":
        subset = f'<!{keyword} b "{value}"><!{keyword} a "&b;&b;&b;&b;">'
    elif shape == "bare":
        return f'<!{keyword} a "{value}">'
    else:
        subset = f'<!{keyword} a "{value}">\n]>\n<!{doctype} x [\n<!{keyword} c "{value}">'
    spacing = draw(st.sampled_from(["\n", "", " ", "\r\n"]))
    return f"<!{doctype} rss [{spacing}{subset}{spacing}]>"


@st.composite
def entity_bypass_feed(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """A feed that references `&a;` many times, with entity declarations hidden where a scanner may miss them:
    after stray tags, PIs, comments or BOMs before the root, inside the root, CDATA, comments, PIs or
    attribute values; in UTF-8, UTF-16/32 (BOM, or only the served charset) or a declared UTF-7."""
    if draw(st.booleans()):
        # The reproducer, varied: a tag feedparser does not take for the root, then a DOCTYPE on
        # lines of its own (feedparser's scrubber only sees declarations at the start of a line).
        stray = draw(st.sampled_from(["<:x/>", "<\u00e9/>", "<\x80/>", "<:x/><!-- c -->", "<?pi?><:a/>", "<:x>\n"]))
        value = MARKER * draw(st.integers(1, 50))
        declarations = f'\n<!DOCTYPE rss [\n<!ENTITY a "{value}">\n]>\n'
        place = "prolog"
    else:
        # Anything else: spellings, shapes and places a scanner may miss (spaces are the evasive case).
        newline = draw(st.sampled_from(["\n", "\n", "", " ", "\r\n"]))
        declarations = newline + draw(entity_declarations()) + newline
        place = draw(st.sampled_from(["prolog", "after_root", "cdata", "comment", "pi", "attribute", "channel_end"]))
        stray = "".join(draw(st.lists(st.sampled_from(STRAY), max_size=4)))
    refs = "&a;" * draw(st.integers(4, 300))
    slot = {place: declarations}
    head = draw(st.sampled_from(["", '<?xml version="1.0"?>', "<?xml version='1.0' encoding='ENC'?>"]))
    before = draw(st.sampled_from(["", "\n", "  "]))
    document = (
        before + head + stray + slot.get("prolog", "")
        + '<rss version="2.0"' + (f' t="{declarations}"' if place == "attribute" else "") + ">"
        + slot.get("after_root", "")
        + "<channel><title>t</title>"
        + (f"<![CDATA[{declarations}]]>" if place == "cdata" else "")
        + (f"<!-- {declarations} -->" if place == "comment" else "")
        + (f"<?pi {declarations} ?>" if place == "pi" else "")
        + f"<item><title>x{refs}</title><link>http://e.org/1</link><description>{refs}</description></item>"
        + slot.get("channel_end", "")
        + "</channel></rss>"
    )
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
                                     "utf-7", "served-utf-16-be"]))
    content_type: str | None = draw(st.sampled_from([None, "application/xml", "text/xml", "application/rss+xml"]))
    if encoding == "served-utf-16-be":
        document = document.replace("ENC", "utf-16")
        return document.encode("utf-16-be", errors="replace"), "application/xml; charset=utf-16be"
    document = document.replace("ENC", encoding.removesuffix("-sig"))
    body = document.encode(encoding, errors="replace")
    if encoding in ("utf-16-le", "utf-16-be"):
        body = BOMS[encoding] + body
    return body, content_type
