"""What a semantic hit must share with the stored request, beyond a close embedding.

WordLlama, the default embedder, is a bag of words: "rename column a to b" and "rename
column b to a" embed identically, and "sort ascending" sits close to "sort descending". So the
semantic path only compares requests whose *guard signature* is equal; the embedding then only
decides among requests that already agree on everything it cannot see.

The signature is the request reduced to its meaning-bearing tokens, in order:

- literals: quoted strings, numbers, file names, paths, code-like identifiers (``df_sales``,
  ``groupby()``, ``camelCase``, single letters), case kept for quoted text;
- every other word except a short list of filler words ("please", "the", "write a function
  that", "how do I", ...), reduced to a stem (plurals, ``-ly``, ``-ing``, ``-ed``) and mapped
  through a small synonym table (plot = chart = graph, mean = average, remove = drop = delete,
  ascending = increasing, ...). Direction words (to, from, into, out, before, after, above,
  below, ...), antonyms and the function or aggregation named are words like any other, so a
  different one changes the signature; none of them is ever treated as filler.

Two requests can hit only if their signatures are equal, token for token and in the same order.
A paraphrase that reorders its words, or words something in a way the table does not know,
misses: a lost saving, never a wrong answer.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re

__all__ = ["GUARD_VERSION", "guard_signature", "semantic_group"]

GUARD_VERSION = 2

def _words(text: str) -> list[str]:
    return text.split()


# Backticks, double quotes, single quotes around text (not an apostrophe), and an empty or
# all-space single-quoted string ("re.sub(r'\\s+', '', s)" is not "re.sub(r'\\s+', ' ', s)").
_QUOTED = re.compile(r"`([^`]*)`|\"([^\"]*)\"|'([^'\s][^']*)'|(?<![\w'])'( *)'(?![\w'])")
# A lone "a" before a comma, a bracket or an operator is a name ("np.where(mask, a, b)",
# "where a > 1"), not the article.
_NAMED_A = re.compile(r"\b[aA]\b(?=\s*[,)\]=:<>!+*/^%&|~≥≤≠-])")
# A token: a word (letters, digits, _ . / \ - : inside), a number, or an operator.
_TOKEN = re.compile(
    r"[./~]*[A-Za-z_][\w.\\/:-]*\w|[A-Za-z_]|\d[\w.,:/-]*\w%?|\d%?|[<>!=]=?|[+*/^%&|~-]|"
    r"[≥≤≠→←⇒×÷±]"
)
_CODE_LIKE = re.compile(r"[_\\/.\d]|^[a-z]+[A-Z]")  # searched, not matched
# A lone "a" is a name ("rename b to a", "subtract a from b"), not the article, after these
# nouns, before these joining words, or last after one of them.
_NAME_NOUNS = frozenset(
    _words(
        """
        column col variable var field array list matrix vector
        """
    )
)
_JOINING = frozenset(
    _words(
        """
        and or to from by with into than vs versus between
        """
    )
)
_CHART_WORDS = frozenset(
    _words(
        """
        histogram hist bar line scatter box boxplot pie heatmap violin area density kde
        donut strip
        """
    )
)
_CHART_VERBS = frozenset(_words("plot draw create make build generate produce show"))
_FORMATS = _words(
    """
    csv tsv json jsonl parquet excel xlsx txt text yaml yml xml html pdf zip log pickle sql
    sqlite
    """
)


def _expand(pattern: str) -> list[tuple[str, ...]]:
    """Word sequences of a pattern: "a|b c [d]" is (a c), (b c), (a c d), (b c d)."""
    options: list[list[tuple[str, ...]]] = []
    for part in pattern.split():
        optional = part.startswith("[")
        choices: list[tuple[str, ...]] = [(w,) for w in part.strip("[]").split("|")]
        options.append([*choices, ()] if optional else choices)
    return [tuple(w for piece in combo for w in piece) for combo in itertools.product(*options)]


# Phrases that say one thing several ways, rewritten word by word before the words are read.
_PHRASE_RULES: dict[tuple[str, ...], tuple[str, ...]] = {}
for _pattern, _replacement in (
    ("that|which|who have|has|contain|contains", "with"),
    ("having|containing", "with"),
    ("for|of|in|within|across each|every", "by"),
    ("[in] ascending order", "ascending"),
    ("[from] smallest|lowest|low to largest|highest|high", "ascending"),
    ("[in] descending order", "descending"),
    ("[from] largest|highest|high to smallest|lowest|low", "descending"),
    ("number of", "count"),
    ("how many", "count"),
    ("data frame", "dataframe"),
    ("pandas dataframe|df", "dataframe"),
    ("pandas series", "series"),
    ("missing|nan|null value|values", "missing"),
    ("nans|nulls", "missing"),
    ("regular expression|expressions", "regex"),
    ("decimal place|places", "decimals"),
    ("filter out", "remove"),
    ("forward fill", "fill forward"),
    ("ffill", "fill forward"),
    ("backward|back fill", "fill backward"),
    ("bfill", "fill backward"),
    ("check|test|determine|see if|whether", "check if"),
    ("open [a] connection to", "connect to"),
):
    for _words_of in _expand(_pattern):
        _PHRASE_RULES[_words_of] = tuple(_replacement.split())
for _format in _FORMATS:  # a file named by its format: "the csv file" is "the csv"
    _PHRASE_RULES[(_format, "file")] = _PHRASE_RULES[(_format, "files")] = (_format,)
_LONGEST_PHRASE = max(len(k) for k in _PHRASE_RULES)
_HYPHENATED = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)+|\d+-[A-Za-z]+")


def _rephrase(words: list[str]) -> list[str]:
    """Apply the phrase rules, and drop the verb of "plot a histogram" (the chart says it)."""
    lower = [w.lower() for w in words]
    out: list[str] = []
    at = 0
    while at < len(words):
        for length in range(min(_LONGEST_PHRASE, len(words) - at), 0, -1):
            replacement = _PHRASE_RULES.get(tuple(lower[at : at + length]))
            if replacement is not None:
                out.extend(replacement)
                at += length
                break
        else:
            if lower[at] in _CHART_VERBS:
                after = at + 1 + (at + 1 < len(words) and lower[at + 1] in ("a", "an", "the"))
                if after < len(words) and lower[after] in _CHART_WORDS:
                    at = after
                    continue
            out.append(words[at])
            at += 1
    return out


# Opening phrases that ask for code without saying anything about it.
_LEADING = re.compile(
    r"^(?:(?:please|pls|hey|ok|okay|now|so)[,\s]+)*"
    r"(?:(?:can|could|would|will) you(?: please)?\s+|"
    r"(?:i (?:want|need|would like|'d like) to|i want|i need|help me(?: to)?|"
    r"show me how to|tell me how to|how (?:do|can|should|would) (?:i|we|you)|how to|"
    r"is there a way to|what is the (?:best |easiest |fastest )?way to|"
    r"what(?: is|'s| are)|"
    r"give me (?:the )?(?:code|python|a snippet|a function)?(?: to| that| which)?|"
    r"let's|lets)\s+)*"
    r"(?:(?:write|generate|create|make|give me|produce)\s+"
    r"(?:(?:a|an|some|the|me|python|pandas|short|small|simple|quick|little|one-liner|"
    r"one|line|of|code|snippet|function|script|cell|program)\s+)*"
    r"(?:that|which|to|for|in order to)\s+)?",
    re.IGNORECASE,
)

_FILLER = frozenset(
    _words(
        """
        a an the please pls kindly me my our we us you your i it its this that these those some
        just also then code python snippet program script cell here there quickly simply easily
        properly nicely correctly use given so well only and actually really compute
        calculate calc is are be
        """
    )
)

# Stems and synonyms, applied after lower-casing: each maps to one canonical token.
_SYNONYMS: dict[str, str] = {}
for canonical, words in {
    "plot": "plot chart graph visualize visualise draw figure",
    "show": "show display print output",
    "remove": "remove drop delete eliminate discard strip trim",
    "dataframe": "dataframe df frame",
    "column": "column col",
    "row": "row record",
    "mean": "mean average avg",
    "max": "max maximum largest biggest highest greatest",
    "min": "min minimum smallest lowest least",
    "sum": "sum total",
    "ascending": "ascending asc increasing",
    "descending": "descending desc decreasing",
    "sort": "sort arrange",
    "missing": "missing null nan na",
    "read": "read load",
    "by": "by per",
    "count": "count tally",
    "histogram": "histogram hist",
    "regex": "regex regexp",
    "find": "find locate detect identify",
    "get": "get fetch obtain retrieve extract take",
    "duplicate": "duplicate dupe duplicated",
    "convert": "convert transform turn",
    "rename": "rename relabel",
    "train": "train fit",
    "with": "with using via",
    "to": "to into as",
    "all": "all every",
    "select": "select keep filter",
    "fill": "fill impute",
    "create": "create make build generate",
}.items():
    for word in words.split():
        _SYNONYMS[word] = canonical

# Words a suffix rule would damage (stem them to themselves).
_KEEP = frozenset(
    _words(
        """
        is was has does less unless this its bias axis analysis series status class process
        address alias gas plus minus yes pass mass loss access cross boss basis thus always news
        during string thing nothing something everything ring spring bring morning evening need
        feed seed speed bed red shed embed only daily early apply reply supply fly july italy
        family monthly weekly yearly hourly quarterly
        """
    )
)
_PERIODS = {"monthly": "month", "weekly": "week", "yearly": "year", "hourly": "hour",
            "daily": "day", "quarterly": "quarter", "annually": "year", "annual": "year"}


def _stem(word: str) -> str:
    if word in _PERIODS:
        return _PERIODS[word]
    if word in _KEEP or len(word) <= 3:
        return word
    for suffix, cut in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""),
                        ("s", ""), ("ly", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: len(word) - len(suffix)] + cut
            if suffix in ("ing", "ed") and len(stem) > 3 and stem[-1] == stem[-2]:
                stem = stem[:-1]  # sorting -> sort, dropped -> drop (dropp -> drop)
            if suffix == "es" and not stem.endswith(("s", "x", "z", "ch", "sh")):
                stem = word[:-1]  # "values" -> "value", but "boxes" -> "box"
            return stem
    return word


@functools.lru_cache(maxsize=4096)
def _word_token(word: str) -> str | None:
    lower = word.lower()
    if lower in _FILLER:
        return None
    canonical = _SYNONYMS.get(lower)
    if canonical is not None:
        return canonical
    stem = _stem(lower)
    return _SYNONYMS.get(stem, stem)


def guard_signature(text: str) -> tuple[str, ...]:
    """The meaning-bearing tokens of a request, in order (see the module docstring).

    Args:
        text: The last user message.

    Returns:
        The signature; two requests may share a semantic hit only if theirs are equal.
    """
    tokens: list[str] = []
    rest = []
    last = 0

    def keep(token: str) -> str:
        tokens.append(token)
        return f" \x00{len(tokens) - 1} "

    def unquoted(segment: str) -> str:
        return _NAMED_A.sub(lambda m: keep("=" + m.group()), segment)

    for match in _QUOTED.finditer(text):
        rest.append(unquoted(text[last : match.start()]))
        rest.append(keep("=" + next(g for g in match.groups() if g is not None)))
        last = match.end()
    rest.append(unquoted(text[last:]))
    body = _LEADING.sub("", "".join(rest).strip(), count=1)
    words: list[str] = []
    for part in re.split(r"(\x00\d+)", body):
        if part.startswith("\x00"):
            words.append(part)
            continue
        for raw in _TOKEN.findall(part):
            word = raw.rstrip(".:")
            if _HYPHENATED.fullmatch(word):  # one-hot, cross-validation, 5-fold: the words apart
                words.extend(word.split("-"))
            elif word:
                words.append(word)
    words = _rephrase(words)
    out: list[str] = []
    for at, word in enumerate(words):
        if word.startswith("\x00"):
            out.append(tokens[int(word[1:])])
            continue
        token = _token(word, words[at - 1].lower() if at else "",
                       words[at + 1].lower() if at + 1 < len(words) else "")
        if token == "column" and out and out[-1].startswith("="):
            continue  # "the full_name column" is full_name
        if token is not None:
            out.append(token)
    return tuple(out)


def _token(word: str, before: str, after: str) -> str | None:
    """The signature token of one word, given its neighbours; None for filler."""
    lower = word.lower()
    if not word or lower == "i":
        return None
    if lower == "a":  # the article, unless it stands where a name does
        named = before in _NAME_NOUNS or after in _JOINING or (
            before in _JOINING and (not after or after in _JOINING))
        return "=a" if named else None
    if (len(word) == 1 and word.isalpha()) or _CODE_LIKE.search(word):
        return "=" + word  # a name in the user's code or data: kept as written
    return _word_token(word)


def semantic_group(base_group: str, text: str | None) -> str | None:
    """The index group a request's paraphrases must share: its base group and signature.

    Args:
        base_group: The request's group from ``describe`` (scope, model, system prompt,
            parameters, earlier turns, numbers and negations).
        text: The last user message.

    Returns:
        A hex digest, or None when the request has no signature to hold on to (nothing but
        filler): such a request is never answered semantically.
    """
    if not text:
        return None
    signature = guard_signature(text)
    if not signature:
        return None
    payload = "\x1f".join((f"g{GUARD_VERSION}", base_group, *signature))
    return hashlib.sha256(payload.encode("utf-8", "replace")).hexdigest()
