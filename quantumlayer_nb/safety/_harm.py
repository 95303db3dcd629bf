"""Our own rules for harm aimed at a group or a person (the content policy's categories).

A request is harmful when it puts a **target** (a protected group, a specific person, a child)
together with a **goal of harm** (reject or score lower, dehumanise, harass or threaten, find
where someone lives, sexualise). Words alone never match: ``kill the process``, ``master/slave``
or ``inject the session`` have no target, and profanity is the offensive-language model's job.

Requests that **study** harm pass: when a study verb (detect, flag, measure, audit, mask, ...)
comes before the harmful phrase in the same sentence, with no purpose clause in between ("so
we can", "in order to"), the phrase is the object of the study, not its goal. "Check whether
the model rejects women" passes; "flag resumes with gaps so we can reject those women" does not.

Slurs live in ``harm_slurs.txt`` beside this module (ROT13-encoded) and match as whole words;
a slur in a sentence about a word list, a filter or a lexicon passes.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from quantumlayer_nb.safety._harm_terms import (
    _CONSENT,
    _DATA_SUBSET,
    _DEHUMANISING,
    _DOX_STUDY,
    _ELIMINATE,
    _EXCLUDE,
    _GROUP,
    _HARASS_STUDY,
    _HARASS_VERB,
    _HATE_STUDY,
    _INTENT,
    _LABEL,
    _MINOR,
    _MINOR_STUDY,
    _NAMED,
    _PERSON,
    _PERSONAL_INFO,
    _PRONOUN,
    _PURPOSE,
    _SEEK,
    _SEXUAL,
    _SLUR_STUDY,
    _SUPREMACY,
)

__all__ = [
    "CATEGORIES",
    "DEFAULT_REFUSE",
    "HarmCategory",
    "HarmMatch",
    "find_harm",
]

HarmCategory = Literal["hate", "harassment", "doxxing", "minors", "profanity"]
CATEGORIES: tuple[HarmCategory, ...] = ("hate", "harassment", "doxxing", "minors", "profanity")
DEFAULT_REFUSE: tuple[HarmCategory, ...] = ("hate", "harassment", "doxxing", "minors")
"""Refused unless the settings say otherwise; profanity alone is only noted."""

_S = r"[^.!?;\n]"  # any character within the same sentence


@dataclass(frozen=True)
class HarmMatch:
    """What a rule found (never a quote of the text).

    Attributes:
        category: The category of harm.
        reason: A short description of the rule that matched.
    """

    category: HarmCategory
    reason: str


@dataclass(frozen=True)
class _Rule:
    category: HarmCategory
    reason: str
    triggers: tuple[str, ...]  # the rule runs only when one of these substrings occurs
    pattern: re.Pattern[str]
    study: re.Pattern[str] | None  # a cue before the match that makes it a study of harm
    requires: re.Pattern[str] | None = None  # must also occur in the match's sentence
    also: tuple[str, ...] = ()  # and one of these substrings must occur too


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_GROUP_TRIGGERS = (
    "wom", "female", "girl", "immigr", "migrant", "refugee", "foreign", "muslim", "jew",
    "christian", "hindu", "sikh", "catholic", "atheist", "asian", "africa", "arab", "mexican",
    "indian", "chinese", "roma", "gyps", "latin", "hispanic", "gay", "lesbian", "homosex", "lgbt",
    "elderly", "disab", "black", "white ", "brown", "trans", "queer", "deaf", "blind", "autis",
    "older", "indigenous", "native", "pregnan", " race", "religion", "ethnic", "sexuality",
    "skin", "nationality", "sounding", "over 4", "over 5", "over 6", "because they",
    "because she", "because he", "since they", "since she", "since he", "somali",
    "nigeria", "pakistan", "syria", "afghan", "turk", "palestin", "haiti", "filipin", "vietnam",
    "korea", "kurd", "romania", "polish", "wheelchair", "hijab", "turban", "headscar", "accent",
)
_HATE = (
    "reject", "filter", "exclud", "drop", "den", "refus", "penali", "lower", "worse", "charg",
    "downgrad", "depriori", "never", "weed", "screen", "kick", "keep", "not ", "only ",
    "penalt", "surcharg", "disqualif", "extra ", "higher ", "bottom", "down the list", "last",
    "hid", "ban", "block", "discourag", "won't", "will not", "giv", "welcome", "unwelcome",
    "less", "rank", "downrank", "demot", "suppress",
)
_RULES: tuple[_Rule, ...] = (
    _Rule(
        "minors", "sexual content involving a minor",
        ("sex", "nud", "naked", "erotic", "explicit", "porn", "lewd", "seduc", "intimate",
         "groom", "naughty", "nsfw", "molest", "arous", "flirt", "sensual", "undress",
         "love", "in bed", "bedroom", "steamy", "smut", "raunchy", "kinky"),
        _c(rf"\b{_MINOR}{_S}{{0,80}}?\b{_SEXUAL}|\b{_SEXUAL}{_S}{{0,80}}?\b{_MINOR}"),
        _MINOR_STUDY,
        also=("child", "kid", "minor", "underage", "under-age", "teen", "preteen", "school",
              "pupil",
              "toddler", "girl", "boy", "old", "aged", "who is "),
    ),
    _Rule(
        "doxxing", "finding or publishing where a specific person lives or who they are",
        ("dox",),
        _c(rf"\bdox(?:x?(?:es|ed|ing)?)? (?<!\w)(?:{_PERSON}|people|anyone|someone)|"
           r"\bdoxx?(?:ing)? (?:campaign|thread|post) (?:against|on|about)\b"),
        _DOX_STUDY,
    ),
    _Rule(
        "doxxing", "finding or publishing where a specific person lives or who they are",
        ("unmask", "anonymi", "deanonymi", "identif", "reveal", "expos", "behind"),
        _c(r"\b(?:unmask\w*|de-?anonymi[sz]\w*|identif\w*|reveal\w*|expos\w*)"
           rf"{_S}{{0,30}}?\b(?:anonymous|person behind|whistleblower|real identity|"
           r"account behind|who is behind)"),
        _DOX_STUDY,
    ),
    _Rule(
        "doxxing", "finding or publishing where a specific person lives or who they are",
        ("address", "live", "name", "identit", "phone", "employer", "workplace", "family",
         "routine", "location", "whereabouts", "school", "plate", "house", "home", "stay",
         "works", "moved", "town", "parents", "kids", "children", "gps", "birth", "which ",
         "wife", "husband"),
        _c(rf"{_SEEK}{_S}{{0,80}}?\b{_PERSONAL_INFO}"),
        _DOX_STUDY,
        _c(rf"(?<!\w){_PERSON}"),
    ),
    _Rule(
        "doxxing", "tracking where a specific person is",
        ("monitor", "track", "watch", "spy", "follow"),
        _c(r"\b(?:monitor|track|watch|spy(?:ing)? on|follow)\w* (?:[\w'-]+ ){0,3}"
           rf"(?:(?:when|where) (?:{_PERSON}) (?:is|are|goes|leaves|sleeps|arrives)\b|"
           rf"{_PRONOUN} (?:location|phone|car|movements|whereabouts|activity)\b|"
           r"my (?:\w+ )?ex(?:-\w+|\w*)(?:'s)? (?:location|phone|car|movements|whereabouts))"),
        _DOX_STUDY,
    ),
    _Rule(
        "hate", "excluding or scoring people lower for who they are",
        _HATE,
        _c(rf"\b{_EXCLUDE}{_S}{{0,60}}?\b{_GROUP}|\b{_GROUP}{_S}{{0,60}}?\b{_EXCLUDE}|"
           rf"\b(?:rank|score|rate|weight|price|grade)\w* (?:all |the |any )?{_GROUP} "
           r"(?:\w+ ){0,2}(?:lower|worse|down|higher)"),
        _HATE_STUDY,
        also=_GROUP_TRIGGERS,
    ),
    _Rule(
        "hate", "dehumanising or eliminationist language about a group of people",
        _GROUP_TRIGGERS,
        _c(rf"\b{_GROUP}{_S}{{0,60}}?\b{_DEHUMANISING}|\b{_ELIMINATE}{_S}{{0,40}}?\b{_GROUP}\b|"
           rf"\b(?:jokes?|memes?|insults?){_S}{{0,20}}?\b(?:about|mocking|mock|targeting|against)"
           rf" (?:\w+ ){{0,2}}{_GROUP}|\bhate (?:all |the )?{_GROUP}"),
        _HATE_STUDY,
    ),
    _Rule(
        "hate", "promoting a supremacist movement or a genocide",
        ("white", "nazi", "neonazi", "kkk", "ethnic", "genocide", "race war", "replacement"),
        _c(rf"\b(?:recruit\w*|flyers?|propaganda|manifesto|promot\w*|glorif\w*|celebrat\w*|"
           rf"join|rally|pamphlet|speech|post){_S}{{0,60}}?{_SUPREMACY}|"
           rf"{_SUPREMACY}{_S}{{0,40}}?\b(?:recruit\w*|flyers?|propaganda|manifesto|rally)"),
        _HATE_STUDY,
    ),
    _Rule(
        "harassment", "a threat against a person",
        ("i will", "i'll", "i'm going", "i am going", "gonna", "we will", "we'll"),
        _c(r"\b(?:i will|i'll|i'm going to|i am going to|i'm gonna|gonna|we will|we'll)\s+"
           r"(?:\w+\s+){0,2}(?:kill|hurt|beat|punch|stab|shoot|smash|burn|strangle|find|get|"
           r"ruin|destroy|make|break|poison|rape|hunt)\s+(?:you|her|him|them|(?:your|his|their) "
           r"\w+)\b"),
        _HARASS_STUDY,
    ),
    _Rule(
        "harassment", "a threat aimed at a person",
        ("regret", "sorry", "police", "cops", "anyone", " hr"),
        _c(r"\b(?:she|he|you|they)(?:'ll| will) (?:regret|be sorry)\b|"
           r"\bif (?:she|he|you|they) (?:goes|go|calls?|tells?|reports?) (?:to )?(?:the police|"
           r"the cops|anyone|hr)\b"),
        _HARASS_STUDY,
    ),
    _Rule(
        "harassment", "a threat, intimidation or self-harm incitement aimed at a person",
        ("back", "where", "safe", "every move", "make", "better", "miserable", "worthless",
         "break", "show up", "block", "i know", "burn", "yourself", "himself", "herself",
         "themselves", "kys", "die", "pay"),
        _c(r"\bwatch(?:es|ing)? (?:his|her|your|their) back|"
           r"\bi know (?:her|his|your|their) (?:new )?(?:address|house|home|school|workplace|"
           r"car)\b|"
           r"\b(?:know|knows|find out) where (?:you|he|she|they|his \w+|her \w+|their \w+) "
           r"(?:lives?|go(?:es)? to school|works?|sleeps?)|\bnever feels? safe|"
           r"\bwatching (?:her|his|your|their) every move|"
           rf"\bmake (?:her|him|them|you|{_NAMED}) (?:\w+ ){{0,2}}(?:cry|suffer|quit|leave|afraid|"
           r"scared|miserable|pay|self-conscious|ashamed|insecure|embarrassed|"
           r"hate (?:her|him|them)sel\w+)"
           r"\b|\bbreak (?:her|his|your|their) (?:legs?|arms?|neck|face|nose|jaw|fingers)\b|"
           r"\bshow up at (?:her|his|their) (?:place|house|home|door|work|office|school)\b|"
           r"\bevery time (?:she|he|they) blocks?\b|\b(?:evad|get around|bypass)\w* "
           r"(?:\w+ ){0,2}blocks?\b|\b(?:she|he|they|you)(?:'d| had) better\b|"
           r"\bso miserable (?:that )?(?:she|he|they)|\bfeels? worthless|"
           r"\bburn down (?:\w+ ){0,2}(?:house|home|car|shop)|"
           r"\b(?:kill|hang|hurt) (?:yourself|himself|herself|themselves)\b|\bkys\b|\bgo die\b|"
           r"\bdie in a fire\b|\bi hope (?:you|he|she|they) (?:die|suffer)\b"),
        _HARASS_STUDY,
    ),
    _Rule(
        "harassment", "harassing, intimidating or driving out a person",
        ("harass", "bull", "intimidat", "stalk", "torment", "humiliat", "threaten", "terrori",
         "scar", "spam", "frighten", "terrif", "anonymous calls", "insult", "mock", "dogpil",
         "brigad", "report", "go after", "gang up", "flood", "abusive", "hate ", "threat",
         "bomb", "pile", "campaign"),
        _c(rf"\b{_HARASS_VERB}"
           rf"(?:{_S}{{0,50}}?(?<!\w){_NAMED}|(?: \w+){{0,2}} {_PRONOUN})"),
        _HARASS_STUDY,
    ),
    _Rule(
        "harassment", "harassing, intimidating or driving out a person",
        ("humiliat", "insult", "threatening", "abusive"),
        _c(rf"(?<!\w){_PERSON}{_S}{{0,40}}?\b(?:humiliat\w*|insult(?:s|ing)?\b|threatening|"
           r"abusive (?:dms?|messages?|comments?))"),
        _HARASS_STUDY,
    ),
    _Rule(
        "harassment", "harassing, intimidating or driving out a person",
        ("out", "off", "until", "so she", "so he", "so they", "keep"),
        _c(rf"\b(?:driv\w*|forc\w*|push\w*|run|harass\w*|bully\w*|scar\w*) {_S}{{0,40}}?"
           r"(?:out of|off|away from) (?:the|our|this|her|his|their) (?:server|forum|company|"
           r"platform|team|job|town|neighbou?rhood|school|site|channel|community|internet)|"
           r"\bkeep\w* (?:calling|messaging|texting|emailing|contacting|following|dming) "
           rf"{_PERSON}"),
        _HARASS_STUDY,
    ),
    _Rule(
        "harassment", "revenge or false accusations aimed at a person",
        ("get back at", "revenge", "payback", "fake", "false"),
        _c(rf"\b(?:get(?:ting)? back at|(?:get|take|plan)\w* revenge on|revenge on|payback on)"
           rf" (?<!\w){_PERSON}|\b(?:fake|false) (?:complaints?|reports?|reviews?|accusations?|"
           rf"allegations?) (?:about|against|on|of) (?<!\w){_PERSON}"),
        _HARASS_STUDY,
    ),
    _Rule(
        "harassment", "inciting people to attack or harass someone",
        ("encourag", "urg", "incit", "call", "rally", "tell", "get people", "get others"),
        _c(r"\b(?:encourag\w*|urg\w*|incit\w*|call\w* (?:on|for)|rally\w*|tell\w* (?:people|"
           r"everyone|my followers)|get (?:people|others|my followers)) (?:[\w-]+ ){0,4}"
           r"(?:to )?(?:attack|hurt|beat|kill|assault|harass|hunt down|go after|burn|punish|"
           r"swat)\b"),
        _HARASS_STUDY,
    ),
    _Rule(
        "harassment", "spreading someone's private or embarrassing images",
        ("embarrass", "nude", "naked", "private", "intimate", "compromising"),
        _c(r"\b(?:post|share|spread|leak|send|upload|publish)\w* (?:[\w'-]+ ){0,3}(?:embarrassing|"
           r"nude|naked|private|intimate|compromising) (?:photos?|pictures?|pics|videos?|images?)"),
        _HARASS_STUDY,
        _c(rf"(?<!\w){_PERSON}"),
    ),
    _Rule(
        "harassment", "insults written to send to a person",
        ("idiot", "moron", "imbecile", "loser", "scumbag", "cow", "pig", "worthless", "ugly",
         "stupid", "fat"),
        _c(r"\b(?:tell\w*|call\w*|say\w*|messag\w*|email\w*|text\w*) (?:\w+ ){0,3}"
           r"(?:she|he|they|her|him|them) (?:is |are |'s |'re )?(?:an? )?(?:[\w-]+ ){0,3}"
           r"(?:idiot|moron|imbecile|loser|scumbag|cow|pig|worthless|ugly|fat|stupid)\b"),
        _HARASS_STUDY,
    ),
)

_slurs: re.Pattern[str] | None = None
_slur_words: frozenset[str] = frozenset()
_slur_phrases: tuple[str, ...] = ()
_WORD = re.compile(r"[a-z]+")


def _slur_pattern() -> re.Pattern[str]:
    global _slurs, _slur_words, _slur_phrases
    if _slurs is None:
        text = resources.files("quantumlayer_nb.safety").joinpath("harm_slurs.txt").read_text(
            encoding="utf-8"
        )
        words = [
            codecs.decode(line.strip(), "rot13")
            for line in text.splitlines()
            if line.strip() and not line.startswith("#")
        ]
        words.sort(key=len, reverse=True)
        _slur_words = frozenset(w for w in words if " " not in w)
        _slur_phrases = tuple(w for w in words if " " in w)
        _slurs = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b")
    return _slurs


def _sentence_prefix(lowered: str, start: int) -> str:
    begin = max(lowered.rfind(mark, 0, start) for mark in ".!?;\n") + 1
    return lowered[begin:start]


def _sentence(lowered: str, start: int, end: int) -> str:
    stops = [i for i in (lowered.find(mark, end) for mark in ".!?;\n") if i >= 0]
    return _sentence_prefix(lowered, start) + lowered[start : min(stops, default=len(lowered))]


def _is_study(lowered: str, match: re.Match[str], study: re.Pattern[str] | None) -> bool:
    """Whether the matched phrase is the object of a study verb earlier in its sentence."""
    if study is None:
        return False
    sentence = _sentence(lowered, match.start(), match.end())
    if _INTENT.search(sentence):
        return False
    if _CONSENT.search(sentence):
        return True
    if study is _HATE_STUDY and _DATA_SUBSET.search(sentence):
        return True
    prefix = _sentence_prefix(lowered, match.start()) + lowered[match.start() : match.start() + 1]
    cues = list(study.finditer(prefix))
    if not cues:
        return False
    return _PURPOSE.search(prefix, cues[-1].end()) is None


def normalise(text: str) -> str:
    """Lower-case, with curly quotes and dashes made plain (the rules are written for these)."""
    return (
        text.lower()
        .replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u2013", "-")
        .replace("\u2014", " - ")
    )


_split: dict[int, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {}


def _split_triggers(
    triggers: tuple[str, ...],
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """Word-start stems (checked against the words' first 4 letters first) and the rest.

    A stem of 4 letters or more counts only at the start of a word; a substring test over the
    whole text costs far more than a set lookup, and the rules run on every prompt.
    """
    key = id(triggers)
    if key not in _split:
        stems = tuple((t[:4], t) for t in triggers if len(t) >= 4 and t.isalpha())
        others = tuple(t for t in triggers if not (len(t) >= 4 and t.isalpha()))
        _split[key] = (stems, others)
    return _split[key]


def find_harm(lowered: str) -> HarmMatch | None:
    """The first category of harm the rules find in ``lowered`` (see :func:`normalise`).

    Args:
        lowered: The text, normalised.

    Returns:
        The category and the rule's description, or None.
    """
    starts = {word[:4] for word in _WORD.findall(lowered)}
    present: dict[int, bool] = {}  # trigger lists shared by rules are scanned once

    def occurs(triggers: tuple[str, ...]) -> bool:
        key = id(triggers)
        if key not in present:
            stems, others = _split_triggers(triggers)
            present[key] = any(p in starts and t in lowered for p, t in stems) or any(
                t in lowered for t in others
            )
        return present[key]

    for rule in _RULES:
        if rule.triggers and not occurs(rule.triggers):
            continue
        if rule.also and not occurs(rule.also):
            continue
        for match in rule.pattern.finditer(lowered):
            if _LABEL.search(match.group()):
                continue  # an identifier such as "sexual/minors" names a category
            if rule.requires is not None and not rule.requires.search(
                _sentence(lowered, match.start(), match.end())
            ):
                continue
            if not _is_study(lowered, match, rule.study):
                return HarmMatch(rule.category, rule.reason)
    pattern = _slur_pattern()
    if _slur_words.isdisjoint(_WORD.findall(lowered)) and not any(
        phrase in lowered for phrase in _slur_phrases
    ):
        return None
    for match in pattern.finditer(lowered):
        if not _SLUR_STUDY.search(_sentence(lowered, match.start(), match.end())):
            return HarmMatch("hate", "a slur against a group of people")
    return None
