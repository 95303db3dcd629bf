"""What a semantic hit must share with the stored request, beyond a close embedding.

WordLlama, the default embedder, is a bag of words: "rename column a to b" and "rename
column b to a" embed identically, and "sort ascending" sits close to "sort descending". So the
semantic path only compares requests whose *guard signature* is equal; the embedding then only
decides among requests that already agree on everything it cannot see.

The signature is the request reduced to its meaning-bearing tokens, in order:

- literals: quoted strings, numbers, file names, paths, code-like identifiers (``df_sales``,
  ``groupby()``, ``camelCase``, single letters), quoted text kept exactly as written. A
  quoted plain lower-case word equals the same word unquoted when the word is its own stem
  ("the `age` column" is "the age column"); nothing in a quoted text is ever stemmed ('https'
  stays apart from 'http');
- every other word except a list of filler words ("please", "the", "write a function
  that", "how do I", verbs that only ask to see: show, get, find, print...), reduced to a stem
  (plurals, ``-ly``, ``-ing``, ``-ed``) and mapped through a small synonym table (plot = chart
  = graph, mean = average, remove = drop = delete, ascending = increasing, no = without =
  not, ...) and phrase table ("highest first" = descending, "more than" = ``>``, "most
  frequent" = mode, "doesn't" = "does not"). Direction words (to, from, into, out, before,
  after, above, below, ...), antonyms and the function or aggregation named are words like any
  other, so a different one changes the signature; none of them is ever treated as filler.

A few rewrites put what users say in several orders into one: the library used as the tool
("with seaborn", "np:", "sklearn ...") goes to a set at the end, unless it stands next to a
direction word ("from pandas to polars"), and so do "vertically" and "recursively"; "group by
city, mean rent" and "mean rent grouped by city" are "mean rent by city"; trailing phrases led
by "with", "on" and "at" are sorted when each head appears once ("kmeans with 4 clusters on X"
is "kmeans on X with 4 clusters"); "make the names lowercase" is "lowercase the names";
"column" next to the column's name is dropped ("rename column `qty`", "the age column", "drop
columns a and b"), but not "string columns", and rows and columns stay apart. Selecting rows
is said one way ("rows with missing values", "filter df to rows where", "rows amount > 1000",
"select where x > 1"), and so is what adds nothing ("into a dataframe", "send a request to",
"run a query", an opening "list", "set", "train" or "fit").

Two requests can hit only if their signatures are equal, token for token and in the same order.
A paraphrase that reorders its words otherwise, or words something in a way the tables do not
know, misses: a lost saving, never a wrong answer. Each rewrite has a paraphrase it must merge
and a near miss it must not (``tests/test_cache_guards.py``).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re

__all__ = ["GUARD_VERSION", "guard_signature", "semantic_group"]

GUARD_VERSION = 3


def _words(text: str) -> list[str]:
    return text.split()


# Backticks, double quotes, single quotes around text (not an apostrophe), and an empty or
# space-led single-quoted string: "re.sub(r'\\s+', '', s)" is not "re.sub(r'\\s+', ' ', s)",
# and "split on ' to '" is not "split on 'to'".
_QUOTED = re.compile(r"`([^`]*)`|\"([^\"]*)\"|'([^'\s][^']*)'|(?<![\w'])'(\s[^']*|)'(?![\w'])")
# A lone "a" before a comma, a bracket or an operator is a name ("np.where(mask, a, b)",
# "where a > 1"), not the article.
_NAMED_A = re.compile(r"\b[aA]\b(?=\s*[,)\]=:<>!+*/^%&|~@≥≤≠-])|(?<=[@*/^%&|~=<>]\s)[aA]\b"
                       r"|(?<=[@*^%&|~=<>])[aA]\b")
# A token: a word (letters, digits, _ . / \ - : inside), a number, or an operator.
_TOKEN = re.compile(
    r"[./~]*[A-Za-z_][\w.\\/:-]*\w|[A-Za-z_]|\d[\w.,:/-]*\w%?|\d%?|[<>!=]=?|[+*/^%&|~@-]|"
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
        and or to from by with into than vs versus between then
        """
    )
)
# The article "a" is never followed by these ("check if a is in b", "a within b").
_NEVER_AFTER_ARTICLE = frozenset(
    _words("is are was has have had in inside within of then contains equals becomes does")
)
# ... and last after these ("the mean of a").
_BEFORE_LAST_NAME = frozenset(_words("of in on for over"))
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
    ("groupby", "group by"),
    ("linear regression|regressions", "linearregression"),
    ("logistic regression|regressions", "logisticregression"),
    ("random forest|forests classifier|classifiers", "randomforestclassifier"),
    ("random forest|forests regressor|regressors", "randomforestregressor"),
    ("standard scaler", "standardscaler"),
    ("min max|minmax scaler", "minmaxscaler"),
    ("k means", "kmeans"),
    ("end|ends with|in", "end with"),
    ("each", "by"),
    ("row wise|wize", "by row"),
    ("rowwise", "by row"),
    ("column wise|wize", "by column"),
    ("columnwise", "by column"),
    ("into|to|as [a|the|one|single|pandas] dataframe|df|frame", ""),
    ("into|to|as [a|the|one|single|pandas] data frame", ""),
    ("select|filter|keep to|for row|rows", "select row"),
    ("add [a|the] new", "new"),
    ("send [a|an] [get|http] request|requests to", ""),
    ("run [a|the] [sql|duckdb] query", ""),
    ("[sql] query", ""),
    ("running|run sum|total", "cumulative sum"),
    ("duplicate|duplicated row|rows", "duplicate"),
    ("most frequent|common value|values|one|item|element", "mode"),
    ("most frequent|common", "mode"),
    ("standard deviation|deviations", "std"),
    ("begin|begins|start|starts with", "start with"),
    ("max|maximum|largest|highest|biggest|newest|latest first", "descending"),
    ("min|minimum|smallest|lowest|oldest|earliest first", "ascending"),
    ("greater|more|larger|bigger than or equal to", ">="),
    ("less|fewer|smaller than or equal to", "<="),
    ("greater|more|larger|bigger than", ">"),
    ("less|fewer|smaller than", "<"),
    ("at least", ">="),
    ("at most", "<="),
    ("exceed|exceeds", ">"),
    ("replace|impute missing", "fill missing"),
    ("forward fill", "fill forward"),
    ("ffill", "fill forward"),
    ("backward|back fill", "fill backward"),
    ("bfill", "fill backward"),
    ("check|test|determine|see if|whether", "check if"),
    ("open [a] connection to", "connect to"),
    ("get|gets rid of", "remove"),
    ("change|changes [the] name|names of", "rename"),
    ("lower case", "lowercase"),
    ("upper case", "uppercase"),
    ("title case", "titlecase"),
    ("time zone|zones", "timezone"),
    ("data type|types", "dtype"),
):
    for _words_of in _expand(_pattern):
        _PHRASE_RULES[_words_of] = tuple(_replacement.split())  # "" drops the phrase
for _thing in _words("query sql function loop script regex class test program"):
    for _article in ("", "a", "an", "the"):  # "write a query": the query, not a file written
        _PHRASE_RULES[tuple(f"write {_article} {_thing}".split())] = (
            (_thing,) if _thing != "query" else ())
for _format in _FORMATS:  # a file named by its format: "the csv file" is "the csv"
    _PHRASE_RULES[(_format, "file")] = _PHRASE_RULES[(_format, "files")] = (_format,)
_LONGEST_PHRASE = max(len(k) for k in _PHRASE_RULES)
_SLASHED = re.compile(r"[a-z]{2,}(?:/[a-z]{2,})+")
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
        calculate calc is are be value values of get show display print find return give
        fetch obtain retrieve extract take locate detect identify have has had do does did
        which what create make build generate produce dataframe df frame pandas panda pd
        == equal equals eq in inside within model run named called item items
        """
    )
)

def _canonical(table: dict[str, str]) -> dict[str, str]:
    """Each word of each value to its key: {"plot": "plot chart"} is {"plot": ..., "chart": ...}."""
    return {word: canonical for canonical, words in table.items() for word in words.split()}


# Stems and synonyms, applied after lower-casing: each maps to one canonical token.
_SYNONYMS = _canonical({
    "plot": "plot chart graph visualize visualise draw figure",
    "remove": "remove drop delete eliminate discard strip trim",
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
    "unique": "unique distinct",
    "correlation": "correlation corr",
    "lowercase": "lowercase lowercased",
    "uppercase": "uppercase uppercased",
    "titlecase": "titlecase titlecased",
    "one": "one single",
    "first": "first head",
    "last": "last tail",
    "var": "var variance",
    "concat": "concat concatenate",
    "convert": "convert transform turn parse cast",
    "save": "save write export",
    "duplicate": "duplicate dupe duplicated",
    "rename": "rename relabel",
    "train": "train fit",
    "with": "with using via",
    "to": "to into as",
    "all": "all every",
    "select": "select keep filter",
    "fill": "fill impute",
    "where": "where whose",
    "not": "not no never without nor dont",
})

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
    canonical = _SYNONYMS.get(stem) or (  # removing -> remove
        _SYNONYMS.get(stem + "e") if len(stem) >= 4 else None)
    return canonical if canonical is not None else stem


def guard_signature(text: str) -> tuple[str, ...]:
    """The meaning-bearing tokens of a request, in order (see the module docstring).

    Args:
        text: The last user message.

    Returns:
        The signature; two requests may share a semantic hit only if theirs are equal.
    """
    literals: list[str] = []
    words, libraries = _libraries(_without_leading_verb(_request_words(text, literals)))
    words = _rephrase(words)
    out: list[str] = []
    for at, word in enumerate(words):
        if word.startswith("\x00"):
            token: str | None = literals[int(word[1:])] or None
        else:
            token = _token(word, words[at - 1].lower() if at else "",
                           words[at + 1].lower() if at + 1 < len(words) else "")
        if token is None or (out and token == out[-1] and token.isalpha()):
            continue  # "count how many" is one count
        if token == "column" and _names_a_column(words, at, out):
            continue  # "the `age` column" is age, "column `age`" too
        if word.lower() in _SPATIAL_COMPARISONS and at + 1 < len(words) and _NUMBER.fullmatch(
                words[at + 1]):
            token = _SPATIAL_COMPARISONS[word.lower()]  # "above 100" is "> 100"
        if token == "with" and out and out[-1] == "row":
            token = "where"  # "rows with missing values" are "rows where values are missing"
        out.append(token)
    out = _in_one_order(_rows_selected(out))
    manners = sorted({token for token in out if token in _MANNERS})
    out = [token for token in out if token not in _MANNERS]
    return tuple(out) + tuple(f"+{name}" for name in [*sorted(libraries), *manners])


def _request_words(text: str, literals: list[str]) -> list[str]:
    """The words of a request after its opening phrase; each literal (a quoted string, a
    lone "a" that is a name) is appended to ``literals`` and stands as "\x00<index>"."""
    rest = []
    last = 0

    def keep(token: str) -> str:
        literals.append(token)
        return f" \x00{len(literals) - 1} "

    def unquoted(segment: str) -> str:
        return _NAMED_A.sub(lambda m: keep("=" + m.group()), segment)

    text = _ARROW.sub(" to ", _spelled_out_outside_quotes(text))
    for match in _QUOTED.finditer(text):
        rest.append(unquoted(text[last : match.start()]))
        rest.append(keep(_quoted_token(next(g for g in match.groups() if g is not None))))
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
            elif _SLASHED.fullmatch(word):  # train/test, top/right: the words apart
                words.extend(word.split("/"))
            elif word:
                words.append(word)
    return words


def _without_leading_verb(words: list[str]) -> list[str]:
    """Drop an opening verb that adds nothing ("list the columns", "set x as the index",
    "train a random forest"); "order the rows by date" is "sort"."""
    first = words[0].lower() if words else ""
    if first == "order":
        return ["sort", *words[1:]]
    if len(words) > 1 and (first in ("list", "set") or (
            first in ("train", "fit") and words[1].lower() not in _NOT_A_MODEL)):
        return words[1:]
    return words


def _rows_selected(out: list[str]) -> list[str]:
    """ "filter df to rows where", "rows amount > 1000", "select where x > 1": one way to
    select rows."""
    out = [token for at, token in enumerate(out)
           if not (token in ("to", "for") and out[at - 1 : at] == ["select"]
                   and out[at + 1 : at + 2] == ["row"])
           and not (token == "group" and at > 0 and out[at + 1 : at + 2] == ["by"])]
    for at in range(len(out) - 2, 0, -1):
        if out[at - 1] == "row" and out[at + 1] in _COMPARISONS and out[at] not in _COMPARISONS:
            out.insert(at, "where")
    if out[:1] in (["select"], ["remove"]) and out[1:2] == ["where"]:
        out.insert(1, "row")
    elif out[:2] == ["row", "where"]:
        out.insert(0, "select")
    return out


def _in_one_order(out: list[str]) -> list[str]:
    """What users say in several orders, in one (each rewrite has its paraphrase and its near
    miss in ``tests/test_cache_guards.py``)."""
    out = _modifiers_sorted(_aggregation_first(out))
    out = [token for at, token in enumerate(out)  # "a histogram with 40 bins": 40 bins
           if token != "with" or at + 1 == len(out) or not _NUMBER.fullmatch(out[at + 1][1:])]
    if out and out[0] == "remove" and not _DIRECTIONS.intersection(out[1:]) - {"from"}:
        out = [token for token in out if token != "from"]  # "strip x from y" is "strip x in y"
    if len(out) > 1 and out[-1] in _TRAILING_VERBS:
        out = [out[-1], *out[:-1]]  # "make the names lowercase" is "lowercase the names"
    if len(out) == 4 and out[0] == "sort" and out[1] in _ORDERS and out[2] == "by":
        out = [out[0], out[2], out[3], out[1]]  # "sort descending by x" is "sort by x descending"
    return out


def _modifiers_sorted(tokens: list[str]) -> list[str]:
    """ "kmeans with 4 clusters on X" is "kmeans on X with 4 clusters": the phrases led by
    "with", "on" or "at" that end a request are put in one order, when each head is used once."""
    starts = [at for at, token in enumerate(tokens) if token in _MODIFIER_HEADS and at > 0]
    heads = [tokens[at] for at in starts]
    if len(starts) < 2 or len(set(heads)) != len(heads):
        return tokens
    chunks = [tokens[a:b] for a, b in zip(starts, [*starts[1:], len(tokens)], strict=True)]
    return tokens[: starts[0]] + [token for chunk in sorted(chunks) for token in chunk]


def _aggregation_first(tokens: list[str]) -> list[str]:
    """ "group by city, mean rent" is "mean rent by city": the grouping said first or last."""
    start = 2 if tokens[:2] == ["group", "by"] else 1 if tokens[:1] == ["by"] else 0
    if not start:
        return tokens
    for at in range(start + 1, len(tokens)):
        if tokens[at] in _AGGREGATIONS:
            return [*tokens[at:], "by", *tokens[start:at]]
    return tokens


def _is_name(word: str) -> bool:
    return word.startswith("\x00") or bool(_CODE_LIKE.search(word)) or (
        len(word) == 1 and word.isalpha() and word.lower() not in ("a", "i"))


def _names_a_column(words: list[str], at: int, out: list[str]) -> bool:
    """Whether the word "column" at ``at`` only says that a name next to it is a column."""
    before = words[at - 1] if at else ""
    after = words[at + 1] if at + 1 < len(words) else ""
    if _is_name(after) or (out and out[-1].startswith("=")) or before.startswith("\x00"):
        return True
    if after.lower() == "a" and (at + 2 == len(words) or words[at + 2].lower() in _JOINING):
        return True  # "drop columns a and b"
    # "the age column", "in the income column": a plain word between an article or a
    # preposition and "column" is the column's name, unless it says what kind of column.
    return (at >= 2 and before.lower() not in _BEFORE_COLUMN and not _is_name(before)
            and words[at - 2].lower() in _BEFORE_NAME)


def _libraries(words: list[str]) -> tuple[list[str], set[str]]:
    """Take out the libraries a request names as its tool ("with seaborn", "np:", "sklearn
    linear regression"): where in the sentence they stand does not change the code. A library
    next to a direction word ("from pandas to polars") stays where it is."""
    kept: list[str] = []
    named: set[str] = set()
    for at, word in enumerate(words):
        library = _LIBRARIES.get(word.lower())
        after = words[at + 1].lower() if at + 1 < len(words) else ""
        before = kept[-1].lower() if kept else ""
        if library is None or before in _DIRECTIONS or after in _DIRECTIONS:
            kept.append(word)
            continue
        if before in _TOOL_WORDS:
            kept.pop()
        if library:
            named.add(library)
    return kept, named


# Library names, each to one canonical name ("" for pandas, which every request may assume).
_LIBRARIES = _canonical({
    "matplotlib": "matplotlib plt pyplot",
    "seaborn": "seaborn sns",
    "plotly": "plotly px",
    "numpy": "numpy np",
    "sklearn": "sklearn scikit-learn scikit",
    "scipy": "scipy",
    "statsmodels": "statsmodels statsmodel",
    "torch": "torch pytorch",
    "polars": "polars",
    "duckdb": "duckdb",
    "": "pandas pd",
})
_COMPARISONS = frozenset(_words("> < >= <= != ≥ ≤ ≠"))
_NOT_A_MODEL = frozenset(_words("test set sets data and / split"))
_SPATIAL_COMPARISONS = {"above": ">", "over": ">", "below": "<", "under": "<"}
_NUMBER = re.compile(r"[-+]?\d[\d,.]*%?")
_TRAILING_VERBS = frozenset(_words("lowercase uppercase titlecase count"))
_ORDERS = frozenset(_words("ascending descending"))
# How something is done, wherever the request says it ("vertically concat a and b").
_MANNERS = frozenset(_words("vertical horizontal recursive"))
_MODIFIER_HEADS = frozenset(_words("with on at"))
_AGGREGATIONS = frozenset(
    _words("mean sum count max min median std var mode first last nunique size quantile prod")
)
_TOOL_WORDS = frozenset(_words("with using in via by for"))
_DIRECTIONS = frozenset(_words("to from into than vs versus"))
_BEFORE_NAME = frozenset(_words("the a an of in from on for to into by with its their our my"))
# Words after which "column" says which kind of column, not just that a name is one.
_BEFORE_COLUMN = frozenset(
    _words(
        """
        row by all each every new numeric string text date datetime categorical object bool
        boolean float int integer index one single multiple other another first last second
        remaining empty missing duplicate constant unique two three both any no to from with
        """
    )
)


def _quoted_token(text: str) -> str:
    """A quoted literal, kept as written and marked. A plain lower-case word that can only be
    read as itself keeps no mark, so it equals the same word unquoted ("the `age` column" is
    "the age column"); `sales` stays apart from sales (read as "sale"), `sum` from "total"."""
    if text in ("df", "dataframe"):
        return ""  # `df` is the dataframe every request is about
    if _PLAIN_WORD.fullmatch(text) and text not in _reserved() and _stem(text) == text:
        return text
    return "=" + text  # as written: 'https' is not 'http', `sum` is not "total"


@functools.cache
def _reserved() -> frozenset[str]:
    """Words an unquoted request may reach from another word (synonyms, phrases, libraries)
    or drop (filler): a quoted one of these stays a literal."""
    phrases = {word for replacement in _PHRASE_RULES.values() for word in replacement}
    return frozenset({*_SYNONYMS, *_SYNONYMS.values(), *phrases, *_FILLER, *_LIBRARIES,
                      *_PERIODS})


# Outside backticks and double quotes, "doesn't" is "does not" and "yesterday's date" is
# "yesterday date" (their apostrophes would otherwise open a quoted string).
_SHORT_FORMS = re.compile(r"(`[^`]*`|\"[^\"]*\")|\b(\w+)n['’]t\b|\b([A-Za-z]\w*)['’]s\b")
# "utc -> Asia/Tokyo" is "utc to Asia/Tokyo"; "split on '->'" keeps its literal.
_ARROW = re.compile(r"(?<=[\w\s])\s*(?:->|→)\s*(?=[\w\s])")
_IRREGULAR = {"ca": "can", "wo": "will", "sha": "shall"}


def _spelled_out_outside_quotes(text: str) -> str:
    """Spell out short forms, unless an apostrophe of the text may open a quoted literal
    ("count 'don't' in text" keeps its literal)."""
    rest = _SHORT_FORMS.sub(lambda m: m.group(1) or "", text)
    return text if "'" in rest or "’" in rest else _SHORT_FORMS.sub(_spelled_out, text)


def _spelled_out(match: re.Match[str]) -> str:
    quoted, negated, owner = match.groups()
    if quoted is not None:
        return quoted
    if negated is not None:
        return f"{_IRREGULAR.get(negated.lower(), negated)} not"
    return str(owner)


_PLAIN_WORD = re.compile(r"[a-z]{2,}")


def _token(word: str, before: str, after: str) -> str | None:
    """The signature token of one word, given its neighbours; None for filler."""
    lower = word.lower()
    if not word or lower == "i":
        return None
    if word == "A" and before:  # a capital A inside a sentence is a name ("B @ A")
        return "=A"
    if lower == "a":  # the article, unless it stands where a name does
        named = before in _NAME_NOUNS or after in _JOINING or after in _NEVER_AFTER_ARTICLE or (
            (before in _JOINING or before in _BEFORE_LAST_NAME)
            and (not after or after in _JOINING))
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
