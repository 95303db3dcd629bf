"""Our own rules for harm aimed at a group or a person (the content policy's categories).

A request is harmful when it puts a **target** (a protected group, a specific person, a child)
together with a **goal of harm** (reject or score lower, dehumanise, harass or threaten, find
where someone lives, sexualise). Words alone never match: ``kill the process``, ``master/slave``
or ``inject the session`` have no target, and profanity is the offensive-language model's job.

Some rules are structural: a sentence that makes a **decision about people** (hiring, renting,
lending, ranking, admitting) and uses a **protected attribute** (a group, ``religion ==
"sikh"``, "applicants from Pakistan", a proxy such as a headscarf or a mosque) together with an
**adverse action** (drop, dock points, deny, never show) is hate in any word order; so is
contact that goes on against a person's wishes (new accounts, 3am calls, "until she quits"),
making a person afraid, or an adult and a child in a romance. A branch on who a person is ("if
the claimant is autistic, ...") or on what they say they are ("anyone who says they're from
Nigeria") names the attribute as plainly as a column does; following one person from place to
place, and sending someone pictures of their home with no word or every morning, are harassment.
The hate rules only look at sentences that name a protected group, which keeps them cheap on
ordinary prompts.

Requests that **study** harm pass: when a study verb (detect, flag, measure, audit, mask, ...)
comes before the harmful phrase in the same sentence, with no purpose clause in between ("so
we can", "in order to"), the phrase is the object of the study, not its goal. "Check whether
the model rejects women" passes; "flag resumes with gaps so we can reject those women" does not.
A cue done to the asker ("my ex blocked me, find her address") is not a study. Decisions also
pass when the sentence asks how to fix them or names a lawful basis ("how do we fix that?",
"for OFAC sanctions"), and when the group is what the content attacks ("remove slurs against
muslims") or the harm is negated ("make sure no women are excluded").

Slurs live in ``harm_slurs.txt`` beside this module (ROT13-encoded) and match as whole words;
a slur in a sentence about a word list, a filter or a lexicon passes.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

from quantumlayer_nb.safety._harm_rules import (
    _AROUND,
    _RULES,
    HarmCategory,
)
from quantumlayer_nb.safety._harm_terms import (
    _CONDEMNATION,
    _CONDEMNED_SUBJECT,
    _CONSENT,
    _DATA_SUBSET,
    _EVADING,
    _GROOMING_STUDY,
    _GROUP_PHRASES,
    _GROUP_STEMS,
    _GROUP_WORDS,
    _HATE_STUDY,
    _INTENT,
    _LABEL,
    _MINOR_STUDY,
    _NARRATED,
    _PURPOSE,
    _SLUR_STUDY,
)

__all__ = [
    "CATEGORIES",
    "DEFAULT_REFUSE",
    "VETO_CONTEXT_WORDS",
    "HarmCategory",
    "HarmMatch",
    "find_harm",
    "harm_matches",
]

CATEGORIES: tuple[HarmCategory, ...] = ("hate", "harassment", "doxxing", "minors", "profanity")
DEFAULT_REFUSE: tuple[HarmCategory, ...] = ("hate", "harassment", "doxxing", "minors")
"""Refused unless the settings say otherwise; profanity alone is only noted."""


OVERRULABLE = frozenset({
    "harassing, intimidating or driving out a person",
    "finding or publishing where a specific person lives or who they are",
    "sexual content involving a minor",
    "promoting a supremacist movement or a genocide",
    "excluding or scoring people lower for who they are",
})
"""The rules whose matches the learned stage may overrule: measured on the labelled rounds
(``benchmarks/hap_learned.py``), their false matches are requests that study, report or
defend against harm. A threat, a protected attribute deciding an outcome in code, or a person
contacted against their wishes is never overruled: there the overruled matches were harm."""


VETO_CONTEXT_WORDS = 3
"""The fewest words besides the match its sentence needs before the learned stage may overrule
it. Every overruled false match in the labelled rounds has at least three."""


@dataclass(frozen=True)
class HarmMatch:
    """What a rule found (never a quote of the text).

    Attributes:
        category: The category of harm.
        reason: A short description of the rule that matched.
        start: Where the match begins in the normalised text.
        end: Where it ends.
    """

    category: HarmCategory
    reason: str
    start: int = 0
    end: int = 0

    @property
    def overrulable(self) -> bool:
        """Whether the learned stage may overrule this match (see :data:`OVERRULABLE`)."""
        return self.reason in OVERRULABLE

    def sentence(self, lowered: str) -> str:
        """The sentence of ``lowered`` (the text the rules ran on) that holds the match."""
        return _sentence(lowered, self.start, self.end)

    def overrulable_in(self, lowered: str) -> bool:
        """Whether the learned stage may overrule this match in ``lowered``.

        Only a rule of :data:`OVERRULABLE`, and only when its sentence has at least
        :data:`VETO_CONTEXT_WORDS` words besides the match: the veto reads a study or a report
        in those words, and a sentence that is nothing but the match ("what school does the
        daughter of that news anchor go to") has none to read.
        """
        if not self.overrulable:
            return False
        around = len(_WORD.findall(self.sentence(lowered)))
        return around - len(_WORD.findall(lowered[self.start : self.end])) >= VETO_CONTEXT_WORDS


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


def _is_stop(lowered: str, index: int) -> bool:
    """Whether the mark at ``index`` ends a sentence ("applicant.religion" and "0.5" do not)."""
    return lowered[index] != "." or index + 1 == len(lowered) or lowered[index + 1].isspace()


def _sentence_prefix(lowered: str, start: int) -> str:
    begin = max(lowered.rfind(mark, 0, start) for mark in "!?;\n")
    dot = lowered.rfind(".", 0, start)
    while dot > begin and not _is_stop(lowered, dot):
        dot = lowered.rfind(".", 0, dot)
    return lowered[max(begin, dot) + 1 : start]


def _sentence(lowered: str, start: int, end: int) -> str:
    stops = [i for i in (lowered.find(mark, end) for mark in "!?;\n") if i >= 0]
    stop = min(stops, default=len(lowered))
    dot = lowered.find(".", end, stop)
    while dot >= 0 and not _is_stop(lowered, dot):
        dot = lowered.find(".", dot + 1, stop)
    return _sentence_prefix(lowered, start) + lowered[start : stop if dot < 0 else dot]


_DONE_TO_ASKER = re.compile(r" (?:me|us)\b")
_NEW_REQUEST = re.compile(
    r", (?:and |but |so |then |now |pls |please |can you |could you )?(?:find|get|write|make|help|"
    r"build|give|tell|dig|track|look|post|send|create|draft|compose|generate|figure|work|locate|"
    r"show|list|search|pull|scrape|i|we)\b"
)


# A report of harm done to the asker or to someone they speak for: "i'm being harassed by an
# anonymous account", "my son is being threatened by a classmate" (the harm in the passive,
# its victim the subject), "my ex keeps finding out where i live", "her boyfriend tracks her
# location" (a third party close to the victim does it). Such a sentence narrates; the
# request, if any, follows it and is judged on its own.
_PASSIVE_VICTIM = re.compile(
    r"\b(?:i|we|she|he|they|who|someone|somebody|(?:my|our) (?:[\w'-]+ ){0,2}[\w'-]+|(?:a|an) "
    r"(?:[\w'-]+ )?(?:kid|girl|boy|man|woman|person|student|child|teen|teenager|pupil|colleague|"
    r"coworker|employee|\d+-year-old))"
    r"(?:'m|'re|'s| am| is| are| was|"
    r" were| have| has| had)?(?: been| being| getting| keeps? getting| got)? $"
)
# Harm carried by what the victim receives: "my sister has been receiving threatening messages
# from an ex", "maya, sixteen, has been getting anonymous messages in a group chat mocking her".
# Not when the sentence wants it to go on ("so he keeps getting messages mocking him").
_RECEIVED = re.compile(
    r"\b(?:i|we|she|he|they|(?:my|our) (?:[\w'-]+ ){0,2}[\w'-]+|[a-z]+, [\w-]+,)"
    r"(?:'s|'ve| am| is| are| was| were| have| has| had)?(?: been)? (?:receiv\w*|getting|got|gets|"
    r"keeps? (?:getting|receiving)) (?:(?:[\w'-]+ ){0,3}(?:messages?|texts?|dms?|emails?|calls?|"
    r"comments?|replies|threats?|voicemails?|posts?)\b[^.;!?,]{0,50})?$"
)
# The harm in the passive inside the match, its victim before it: "a 15-year-old who is being
# bullied", "a student who was threatened".
_PASSIVE_IN_MATCH = re.compile(
    r"\b(?:who|that) (?:is|are|was|were|has been|have been|had been)(?: being| getting)? "
    r"(?:harass|threaten|stalk|bulli|dox|doxx|blackmail|humiliat|intimidat|mock|insult|abus|"
    r"troll|torment|sham|target)\w*ed\b"
)
_WANTED = re.compile(r"\b(?:so|until|make sure|ensure|make|want|wants|keep him|keep her)\b")
_HARM_DONE = re.compile(
    r"(?:harass|threaten|stalk|bulli|dox|doxx|blackmail|track|follow|humiliat|target|"
    r"intimidat|spi|mock|insult|abus|troll|torment|teas|sham|pil|terrifi|frighten|scar)\w*ed\b"
)
# The doer, at the start of a clause: not "texts to my ex", "photos my ex posted".
_THIRD_PARTY = re.compile(
    r"(?:^|\b(?:thinks?|says?|said|told (?:me|us)|worried|afraid|scared|because|since|when|and|"
    r"but|that|wants?|want|where|whose|weeks?|months?|years?|days?|ago|recently|lately|yesterday|"
    r"today|tonight) |, )"
    r"(?:(?:my|her|his|our|their) (?:[\w'-]+ )?(?:ex|ex-\w+|boyfriend|girlfriend|partner|"
    r"husband|wife|classmate|coworker|co-worker|coach|neighbou?r|stalker|harasser|bully|abuser|"
    r"landlord|stepfather|stepdad|uncle)|(?:(?<=where )|(?<=whose ))(?:some |other |older )?"
    r"(?:classmates|"
    r"kids|students|coworkers|co-workers|bullies)|"
    # anyone else who did it, in the past or present: "someone will break his legs" is a threat
    r"(?:(?:a|an|some|one|this|a group of|a bunch of|a few|several|a couple of|some of the) "
    r"(?:[\w'-]+ )?(?:classmate|guy|man|woman|stranger|user|account|student|kid|troll|"
    r"commenter|poster|coworker|colleague|neighbou?r|member|boy|girl)s?|someone|somebody|"
    r"(?:other )?(?:people|users|viewers|trolls|commenters|accounts))"
    r"(?! (?:will|would|could|can|might|may|should|to)\b))"
    r"(?: (?:is|are|was|were|keep|keeps|kept|"
    r"has been|have been|always|still|"
    r"somehow|sometimes|constantly|won't|will|can|could|posting|posted|sending|sent|sharing|"
    r"shared|spreading|spread|making|made|leaving|left|passing around|passed around|"
    r"circulating))*(?: to)? $"
)
# "we are not trying to figure out who wrote them": the harm named is what the asker will not do;
# "without scaring them", "no sharing location with strangers", "with no sexual content": what
# the text must avoid.
_NEGATED_INTENT = re.compile(
    r"(?:\b(?:not|never|no intention of)|n't) (?:(?:trying|wanting|going|planning|looking|"
    r"attempting|asking(?: you)?|here|want|mean|intend|plan|try|need) )?to $"
    r"|\bwithout (?:\w+ing (?:(?:them|him|her|you|anyone|people) )?)?$"
    r"|(?:^|[,:;(] |\bwith |\band |\bor )no $"
)
# A fear of what someone else may do: "i'm terrified my ex will find my new address".
_FEARED = re.compile(
    r"\b(?:terrified|scared|afraid|frightened|worried|worry|fear|fears|feared|paranoid)"
    r"(?: that)? (?:(?:my|her|his|our|their) (?:[\w'-]+ ){0,2}[\w'-]+|someone|somebody|he|she|"
    r"they|people|the (?:[\w'-]+ )?(?:stalker|abuser|harasser|man|guy|woman|bully|bullies))"
    r" (?:will|would|could|might|may|can|is going to|are going to)(?: \w+ly| still| eventually)?"
    r"(?: be able to| try to)? $"
)
# What a story's characters do: "a thriller where the villain stalks the protagonist by
# tracking her car". Not when a real person is named ("my coworker", "@handle", "real").
_STORY_DOER = re.compile(
    r"\b(?:story|stories|thriller|novel|novella|scene|film|movie|book|screenplay|script|chapter|"
    r"episode|play|drama|comic|game|short)(?: \w+)? (?:where|in which|about how|about a|about an)"
    r" (?:the |a |an |her |his |their )?(?:[\w'-]+ ){0,2}(?:villain|antagonist|stalker|killer|"
    r"bully|bullies|character|man|woman|ex|boyfriend|girlfriend|husband|wife|neighbou?r|"
    r"coworker|teacher|stranger|troll|trolls|classmates|gang|detective|hacker|cult|narrator|"
    r"girl|boy|kid|teen|teenager|student)s?\b"
)
_REAL_TARGET = re.compile(r"\b(?:my|real|actual|this|these)\b|@\w")
# A description of what other people do: "posts where people share other users' home addresses
# to intimidate them". The doer acts ("share", "posted"), rather than being acted on.
_WHERE_OTHERS_DO = re.compile(
    r"\b(?<!bot )(?<!app )(?<!tool )(?<!site )(?<!platform )(?<!service )(?<!form )(?<!page )"
    r"(?<!portal )(?<!script )(?<!system )(?<!server )(?<!channel )(?<!group )(?<!game )"
    r"(?<!chat )(?<!feature )(?<!website )(?<!dashboard )"
    r"(?:where|in which|when) (?:other |some |random )?(?:people|someone|somebody|trolls|"
    r"strangers)"
    r"(?: (?!(?:get|gets|are|is|were|was|will|would|could|can|might|may|should|in|on|at|from|of|"
    r"who|that|with|like|to)\b)\w+\b[^.;!?]*| )$"
)
# What someone else did, told from the start of the clause: "they made a fake account with his
# photo and post humiliating stuff about him", "one worker shouted a slur at a colleague and
# threatened him". Not when the sentence wants it ("so", "until") or turns to a request.
_THEN_WANTED = re.compile(
    r"\b(?:so (?:that )?(?:i|we|you)\b|so (?:just )?(?:find|get|post|send|make|track|give|tell)\b|"
    r"until\b|then (?:find|get|post|send|track|give|tell|make)\b)"
)
_ASKER_ASKS = re.compile(
    r"\b(?:how (?:do|can|could|would|should) (?:i|we)|help me|can you|could you|i want|i need|"
    r"i'd like|let me|so (?:that )?(?:i|we))\b"
)
_OTHERS_DID = re.compile(
    r"(?:^ ?|: |\b(?:and|but|then|when|after) )"
    r"(?:(?:yesterday|today|last \w+|recently|then|now),? )?"
    r"(?:they|he|she|someone|somebody|(?:other )?(?:classmates|students|kids|coworkers|colleagues|"
    r"bullies|trolls)|(?:a|an|one|another|some|the|this) (?:[\w'-]+ )?(?:worker|"
    r"colleague|coworker|co-worker|student|classmate|guy|man|woman|customer|player|user|member|"
    r"kid|boy|girl|neighbou?r|manager|stranger|passenger|driver|parent|account|troll|commenter|"
    r"poster)s?|(?:my|her|his|our|their) (?:[\w'-]+ )?(?:ex|ex-\w+|boyfriend|girlfriend|partner|"
    r"husband|wife|classmates?|coworkers?|neighbou?rs?|boss|manager))"
    r" (?:\w+ed|made|sent|put|wrote|took|got|kept|posted|shared|spread|told|said|began|set up|"
    r"started|keeps?|posts?|shares?|sends?|spreads?|calls?|mocks?|leaves?)\b[^.;!?,]*$"
)
# "works out which old forum post leaked her location": tracing a leak that already happened.
_LEAK_TRACED = re.compile(r"\bwhich (?:[\w'-]+ ){0,3}(?:leaked|exposed|revealed|gave away)\b")
_THEN_USED = re.compile(
    r"\bso (?:that )?(?:i|we|they|he|she)\b|\b(?:then|and) (?:post|share|go|visit|show up|find|"
    r"send|use)\b"
)
_NOT_A_VERB = re.compile(r"(?:so|and|but|if|or|i|she|he|they|we|you|it|that|this|the|a|an|to)\b")


def _reports_harm_done(lowered: str, match: re.Match[str]) -> bool:
    """Whether the match narrates harm done to the asker or to someone they speak for."""
    if _NEW_REQUEST.search(match.group()):
        return False  # the match runs on into a request: "my ex ..., write a script that logs"
    prefix = _sentence_prefix(lowered, match.start())
    if _HARM_DONE.match(match.group()) and _PASSIVE_VICTIM.search(prefix):
        return True
    sentence = _sentence(lowered, match.start(), match.end())
    rest = sentence[len(prefix) + len(match.group()):]  # "..., so find hers first" wants more
    if not _THEN_WANTED.search(rest):
        if _PASSIVE_IN_MATCH.search(match.group()) and not _WANTED.search(prefix + match.group()):
            return True  # "a fictional boy who is being humiliated in a group chat"
        if _FEARED.search(prefix) or _WHERE_OTHERS_DO.search(prefix):
            return True
        if (_OTHERS_DID.search(prefix) and not _WANTED.search(prefix + match.group())
                and not _NEW_REQUEST.search(prefix) and not _ASKER_ASKS.search(prefix)):
            return True
        story = _STORY_DOER.search(prefix)
        if story is not None and not _NEW_REQUEST.search(prefix, story.end()) and not (
            _REAL_TARGET.search(sentence, story.end())
        ):
            return True
    head = match.group()[: match.group().rfind(" ") + 1]  # "my sister has been receiving"
    if (_RECEIVED.search(prefix) or _RECEIVED.search(prefix + head)) and not _WANTED.search(
        prefix + head
    ):
        return True
    return _THIRD_PARTY.search(prefix) is not None and not _NOT_A_VERB.match(match.group())


_NARRATION = re.compile(rf"\b{_NARRATED}")
_GROOMING_TAIL = 20  # "... known grooming indicators": the study word may follow the match


def _asker_intends(sentence: str) -> bool:
    """Whether an intent adverb ("on purpose", "quietly") says the harm is wanted.

    Not when it sits inside what someone discovers or suspects: in "i suspect it quietly
    penalises older applicants" the intent is the system's, and the asker is checking it.
    """
    intent = _INTENT.search(sentence)
    return intent is not None and _NARRATION.search(sentence, 0, intent.start()) is None


def _is_study(lowered: str, match: re.Match[str], study: re.Pattern[str] | None) -> bool:
    """Whether the matched phrase is the object of a study verb earlier in its sentence."""
    if study is None:
        return False
    sentence = _sentence(lowered, match.start(), match.end())
    if _asker_intends(sentence):
        return False
    if _CONSENT.search(sentence):
        return True
    if study is _HATE_STUDY and _DATA_SUBSET.search(sentence):
        return True
    if (study is _MINOR_STUDY
            and _GROOMING_STUDY.search(lowered, match.start(), match.end() + _GROOMING_TAIL)
            and not _EVADING.search(sentence)):
        return True  # "a grooming-detection model for our kids' app": the harm is the object
    prefix = _sentence_prefix(lowered, match.start()) + lowered[match.start() : match.start() + 1]
    # "my ex blocked me, find her address": a cue done to the asker, or in a clause before a new
    # request, narrates what happened; it does not govern the request.
    cues = sorted(
        (cue for pattern in (study, _NARRATION) for cue in pattern.finditer(prefix)
         if not _DONE_TO_ASKER.match(prefix, cue.end())),
        key=lambda cue: cue.end(),
    )  # a story's "she realises her husband put a tracker on her car" narrates, too
    if not cues or _NEW_REQUEST.search(prefix, cues[-1].end()):
        return False
    return _PURPOSE.search(prefix, cues[-1].end()) is None


def _is_condemned(lowered: str, match: re.Match[str]) -> bool:
    """Whether the matched phrase opens a clause that condemns it ("... is not okay")."""
    return _CONDEMNED_SUBJECT.search(_sentence_prefix(lowered, match.start())) is not None and (
        _CONDEMNATION.match(lowered, match.end()) is not None
    )


def _is_described(sentence: str, cue: re.Pattern[str] | None) -> bool:
    """Whether a cue anywhere in the sentence makes it a description or a fix, not a decision."""
    return cue is not None and not _asker_intends(sentence) and cue.search(sentence) is not None


def normalise(text: str) -> str:
    """Lower-case, with curly quotes and dashes made plain (the rules are written for these)."""
    return (
        text.lower()
        .replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u2013", "-")
        .replace("\u2014", " - ")
    )


_Triggers = tuple[dict[str, tuple[str, ...]], tuple[str, ...]]
_split: dict[int, _Triggers] = {}


def _split_triggers(triggers: tuple[str, ...]) -> _Triggers:
    """Word-start stems indexed by their first 4 letters, and the rest (substrings).

    A stem of 4 letters or more counts only at the start of a word, so it is looked up from the
    text's word starts (a few set lookups) rather than searched for; the rules run on every
    prompt, and most prompts match none of them.
    """
    key = id(triggers)
    if key not in _split:
        stems: dict[str, tuple[str, ...]] = {}
        others: list[str] = []
        for trigger in triggers:
            if len(trigger) >= 4 and trigger.isalpha():
                stems[trigger[:4]] = (*stems.get(trigger[:4], ()), trigger)
            else:
                others.append(trigger)
        _split[key] = (stems, tuple(others))
    return _split[key]


_SENTENCE_SPAN = re.compile(r"(?:[^.!?;\n]|\.(?=\S))+")  # "df.age" and "0.5" stay whole
_GROUP_STEM_INDEX: dict[str, tuple[str, ...]] = {}
for _stem in _GROUP_STEMS:
    _GROUP_STEM_INDEX[_stem[:4]] = (*_GROUP_STEM_INDEX.get(_stem[:4], ()), _stem)


def _names_a_group(sentence: str, words: list[str] | None = None) -> bool:
    """Whether a word or phrase that can name a protected group occurs (a cheap first test)."""
    if words is None:
        words = _WORD.findall(sentence)
    if not _GROUP_WORDS.isdisjoint(words):
        return True
    if not _GROUP_STEM_INDEX.keys().isdisjoint(word[:4] for word in words) and any(
        word.startswith(stem) for word in words for stem in _GROUP_STEM_INDEX.get(word[:4], ())
    ):
        return True
    return any(phrase in sentence for phrase in _GROUP_PHRASES)


def _group_sentences(lowered: str, words: list[str]) -> list[tuple[int, int]]:
    """The spans of the sentences that can name a protected group (the hate rules look there)."""
    if not _names_a_group(lowered, words):
        return []
    return [m.span() for m in _SENTENCE_SPAN.finditer(lowered) if _names_a_group(m.group())]


def find_harm(lowered: str) -> HarmMatch | None:
    """The first category of harm the rules find in ``lowered`` (see :func:`normalise`).

    Args:
        lowered: The text, normalised.

    Returns:
        The category and the rule's description, or None.
    """
    return next(harm_matches(lowered), None)


def harm_matches(lowered: str) -> Iterator[HarmMatch]:
    """Every match of the rules in ``lowered``, in the order :func:`find_harm` tries them.

    A caller that overrules one match (the learned stage's veto) goes on to the next, so a
    report of harm cannot shield a request for harm elsewhere in the text.
    """
    words = _WORD.findall(lowered)
    starts = {word[:4] for word in words}
    present: dict[int, bool] = {}  # trigger lists shared by rules are scanned once
    whole = [(0, len(lowered))]
    group_spans: list[tuple[int, int]] | None = None

    def occurs(triggers: tuple[str, ...]) -> bool:
        key = id(triggers)
        if key not in present:
            stems, others = _split_triggers(triggers)
            present[key] = any(
                stem in lowered for start in stems.keys() & starts for stem in stems[start]
            ) or any(other in lowered for other in others)
        return present[key]

    for rule in _RULES:
        if rule.in_group_sentences:
            if group_spans is None:
                group_spans = _group_sentences(lowered, words)
            if not group_spans:
                continue
            spans = group_spans
        else:
            spans = whole
        if rule.triggers and not occurs(rule.triggers):
            continue
        if rule.also and not occurs(rule.also):
            continue
        matches = (m for begin, end in spans for m in rule.pattern.finditer(lowered, begin, end))
        for match in matches:
            if _LABEL.search(match.group()):
                continue  # an identifier such as "sexual/minors" names a category
            if _is_condemned(lowered, match):
                continue
            if rule.category in ("harassment", "doxxing") and _reports_harm_done(lowered, match):
                continue
            if _NEGATED_INTENT.search(_sentence_prefix(lowered, match.start())):
                continue
            if rule.category == "doxxing" and _LEAK_TRACED.search(match.group()) and not (
                    _THEN_USED.search(_sentence(lowered, match.start(), match.end()))):
                continue
            if rule.unless is not None and rule.unless.search(
                lowered, max(0, match.start() - _AROUND), match.end() + _AROUND
            ):
                continue
            if rule.requires or rule.anywhere is not None:
                sentence = _sentence(lowered, match.start(), match.end())
                if not all(pattern.search(sentence) for pattern in rule.requires):
                    continue
                if _is_described(sentence, rule.anywhere):
                    continue
            if not _is_study(lowered, match, rule.study):
                yield HarmMatch(rule.category, rule.reason, match.start(), match.end())
    pattern = _slur_pattern()
    if _slur_words.isdisjoint(words) and not any(
        phrase in lowered for phrase in _slur_phrases
    ):
        return
    for match in pattern.finditer(lowered):
        if not _SLUR_STUDY.search(_sentence(lowered, match.start(), match.end())):
            yield HarmMatch("hate", "a slur against a group of people", match.start(),
                            match.end())
