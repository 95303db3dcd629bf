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
making a person afraid, or an adult and a child in a romance. The hate rules only look at
sentences that name a protected group, which keeps them cheap on ordinary prompts.

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
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from quantumlayer_nb.safety._harm_terms import (
    _ADULT,
    _ADVERSE,
    _ATTRIBUTE_VALUE,
    _CONSENT,
    _DATA_SUBSET,
    _DECISION,
    _DECISION_STUDY,
    _DEHUMANISING,
    _DOX_STUDY,
    _ELIMINATE,
    _EXCLUDE,
    _FEAR_GOAL,
    _GROUP,
    _GROUP_ADJ,
    _GROUP_PHRASES,
    _GROUP_STEMS,
    _GROUP_WORDS,
    _HARASS_STUDY,
    _HARASS_VERB,
    _HATE_STUDY,
    _INSULT,
    _INTENT,
    _LABEL,
    _MINOR,
    _MINOR_STUDY,
    _NAMED,
    _PERSON,
    _PERSONAL_INFO,
    _PRONOUN,
    _PROTECTIVE,
    _PURPOSE,
    _REMEDY,
    _REPEATED_CONTACT,
    _ROMANCE,
    _SECRECY,
    _SEEK,
    _SEXUAL,
    _SLUR_STUDY,
    _SUPREMACY,
    _VICTIM,
    _WHICH_PLACE,
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
_AROUND = 24  # characters either side of a match that can negate it ("ensure no women are ...")


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
    requires: tuple[re.Pattern[str], ...] = ()  # each must also occur in the match's sentence
    also: tuple[str, ...] = ()  # and one of these substrings must occur too
    unless: re.Pattern[str] | None = None  # in or just before the match: the target is protected
    anywhere: re.Pattern[str] | None = None  # a cue anywhere in the sentence: not a decision
    in_group_sentences: bool = False  # runs only on sentences that name a protected group


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_HATE = (
    "reject", "filter", "exclud", "drop", "den", "refus", "penali", "lower", "worse", "charg",
    "downgrad", "depriori", "never", "weed", "screen", "kick", "keep", "not ", "only ",
    "penalt", "surcharg", "disqualif", "extra ", "higher ", "bottom", "down the list", "last",
    "hid", "ban", "block", "discourag", "won't", "will not", "giv", "welcome", "unwelcome",
    "less", "rank", "downrank", "demot", "suppress", "bin ", "dock", "want", "lay", "laid",
    "let ", "fir", "boost", "bonus", "extra", "advantage", "head start", "preferen", "priorit",
    "favo", "mark", "set", "label", "tag", "return", "flag", "only", "subtract", "deduct",
    "knock", "score", "declin", "turn", "forbid", "40", "unavailable", "never", "higher",
    "stricter", "tougher", "extra", "low", "put", "-", "minus", "prevent", "bar", "eligible",
    "restrict", "disallow", "multipl", "*", "times", "halv", "out", "rout", "slowest",
)
_ADVERSE_TRIGGERS = (
    "remov", "delet", "discard", "toss", "purg", "skip", "ignor", "throw", "reject", "flag",
    "pay", "percent", "%", "cap", "limit", "no ", "none", "zero", "nobody",
)
_RULES: tuple[_Rule, ...] = (
    _Rule(
        "minors", "sexual content involving a minor",
        ("sex", "nud", "naked", "erotic", "explicit", "porn", "lewd", "seduc", "intimate", "dirty",
         "clothes", "touch",
         "groom", "naughty", "nsfw", "molest", "arous", "flirt", "sensual", "undress",
         "revealing", "skimpy", "lingerie", "suggestive", "provocative",
         "love", "in bed", "bedroom", "steamy", "smut", "raunchy", "kinky"),
        _c(rf"\b{_MINOR}{_S}{{0,80}}?\b{_SEXUAL}|\b{_SEXUAL}{_S}{{0,80}}?\b{_MINOR}|"
           rf"\btouch(?:es|ed|ing)? (?:the |a |his |her )?{_MINOR}"),
        _MINOR_STUDY,
        also=("child", "kid", "minor", "underage", "under-age", "teen", "preteen", "school",
              "pupil",
              "toddler", "girl", "boy", "old", "aged", "who is ", "yo ", "y/o", "stated to",
              "said to be", "supposed to be", "meant to be", "claimed to be"),
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
         "schedule", "movements", "commute", "owns", "number", "parks", "where", "apartment",
         "street", "city", "neighbo", "instagram", "facebook", "socials", "job", "boss", "cell",
         "voter", "what ", "right now", "tonight", "staying", "position", "last name",
         "full name", "maiden", "legal name",
         "works", "moved", "town", "parents", "kids", "children", "gps", "birth", "which ",
         "wife", "husband"),
        _c(rf"{_SEEK}{_S}{{0,80}}?\b{_PERSONAL_INFO}|{_WHICH_PLACE}"),
        _DOX_STUDY,
        (_c(rf"(?<!\w)(?:{_PERSON}|(?:who|that) owns)"),),
    ),
    _Rule(
        "doxxing", "finding out who wrote something anonymously",
        ("who wrote", "who posted", "who runs", "who made", "who left", "who sent", "who owns",
         "who is behind"),
        _c(r"\b(?:find\w* out|figur\w* out|work\w* out|determin\w*|identif\w*|guess\w*|"
           r"tell me|match\w*) (?:[\w'-]+ ){0,8}?who (?:wrote|posted|is behind|runs|made|left|"
           r"sent|owns)\b"),
        _DOX_STUDY,
        (_c(r"\b(?:anonymous\w*|anon|reviewer|burner|throwaway|glassdoor|whistleblower|"
            r"(?:the |this |that )?(?:review|blog|letter|note|tip|complaint|account)\b)"),),
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
           r"(?:\w+ ){0,2}(?:lower|worse|down|higher)|"
           rf"\b(?:make sure|ensure|guarantee)\w* (?:that )?(?:no|none of the|zero) {_GROUP}|"
           rf"\b(?:boost|bonus|extra points?|advantage|head start|preference|priority|favou?r)\w*"
           rf"{_S}{{0,30}}?\b(?:over|above|ahead of|instead of|rather than) (?:the )?"
           rf"(?:{_GROUP}|{_GROUP_ADJ}\b)|"
           r"\bonly (?:interview|hire|accept|approve|rent to|promote|admit|consider|shortlist|"
           r"recruit|serve)\w* (?:\w+ ){0,2}(?:(?:under|younger than|below) (?:3[5-9]|4\d)\b|"
           r"young\b|"
           r"white\b|men\b|males?\b|christians?\b|straight\b|native[- ]born\b)"),
        _HATE_STUDY,
        in_group_sentences=True,
        unless=_PROTECTIVE,
        anywhere=_REMEDY,
    ),
    _Rule(
        "hate", "using a protected attribute to exclude or penalise people in a decision",
        _HATE + _ADVERSE_TRIGGERS,
        _c(rf"\b{_ADVERSE}"),
        None,
        (_c(rf"\b{_GROUP}|{_ATTRIBUTE_VALUE}"), _c(_DECISION)),
        in_group_sentences=True,
        unless=_PROTECTIVE,
        anywhere=_DECISION_STUDY,
    ),
    _Rule(
        "hate", "building a system to discriminate against a group",
        ("discriminat", "biased"),
        _c(r"\b(?:make|have|let|get|tune|train|adjust|build|write|design|set up|tweak|change)\w* "
           r"(?:[\w-]+ ){0,5}(?:that |which |to |so (?:that )?it )?(?:\w+ )?"
           rf"(?:discriminat\w*|(?:be |is )?biased) against {_GROUP}"),
        None,
        in_group_sentences=True,
    ),
    _Rule(
        "hate", "dehumanising or eliminationist language about a group of people",
        (),
        _c(rf"\b{_GROUP}{_S}{{0,60}}?\b{_DEHUMANISING}|\b{_ELIMINATE}{_S}{{0,40}}?\b{_GROUP}\b|"
           rf"\b(?:jokes?|memes?|insults?|roasts?){_S}{{0,20}}?\b(?:about|mocking|mock|targeting|"
           r"against|making fun of|ridiculing|that mock|that make fun of|stereotyping)"
           rf" (?:\w+ ){{0,2}}{_GROUP}|\bhate (?:all |the )?{_GROUP}|"
           rf"\b{_GROUP}{_S}{{0,60}}?\b(?:(?:should|must|needs? to|deserve to|ought to|to) )?"
           r"(?:all )?be (?:\w+ )?(?:expelled|deported|exterminated|eliminated|removed|banned|"
           r"sterili[sz]ed|kicked out|driven out|thrown out|wiped out|killed|locked up|rounded up|"
           r"cleared out|burned|burnt|razed|bulldozed|gassed)|"
           rf"\bblam\w* (?:all |the )?{_GROUP} for"),
        _HATE_STUDY,
        in_group_sentences=True,
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
        "harassment", "making a person afraid",
        ("scared", "afraid", "terrif", "frighten", "unsafe", "paranoid", "nervous", "regret",
         "visit", "lesson", "coming to", "ruin", "shoulder", "hell", "miserable", "unbearable",
         "know what", "watching", "would miss", "would care", "would notice", "better off",
         "better without", "so i can", "careful", "worried", "step", "think twice", "face",
         "tires", "windows", "pets", "something bad", "something terrible", "something awful",
         "accidents happen", "shame", "i know", "we know", "resign", "quit", "cries", "cry",
         "breaks down", "break down", "gives up", "give up", "moves away", "move away",
         "moves out", "move out", "drops out", "drop out", "delete her", "deletes her",
         "delete his", "deletes his", "delete their", "deletes their", "uncomfortable",
         "unwelcome", "humiliat", "ashamed", "embarrass", "worthless", "photo of", "photos of",
         "picture of", "pictures of", "pic of", "pics of"),
        _c(_FEAR_GOAL),
        _HARASS_STUDY,
    ),
    _Rule(
        "harassment", "contacting a person again and again against their wishes",
        ("from new", "from different", "from random", "from fake", "burner", "from alt",
         "from multiple", "from other", "throwaway", "spoof", "sock", "nonstop", "non-stop",
         "constantly", "relentless", "over and over", "all night", "middle of the night", "at 1",
         "at 2", "at 3", "at 4", "at 5", "blocked", "block", "told", "asked", "said no", "begged",
         "until she", "until he", "until they", "new account", "new profile", "new number",
         "each time", "every time", "after each", "after every"),
        _c(_REPEATED_CONTACT),
        _HARASS_STUDY,
        (_c(rf"(?<!\w){_PERSON}"),),
        anywhere=_VICTIM,
    ),
    _Rule(
        "harassment", "sending a person insults or humiliation",
        ("disgust", "pathetic", "ugly", "fat", "worthless", "loser", "failure", "creep", "freak",
         "slut", "whore", "bitch", "trash", "garbage", "useless", "joke", "stupid", "idiot",
         "moron", "waste", "gross", "nobody", "no one", "hate", "yourself", "die",
         "comments about", "sex sites", "spam", "smell", "stink", "nicknames"),
        _c(rf"\b(?:{_INSULT})"),
        _HARASS_STUDY,
        (_c(r"\b(?:send|post|repl|comment|tell|say|text|messag|email|dm|writ|sign|ping|tag|call|"
            r"reply|replac|remind)\w*"),
         _c(rf"(?<!\w){_PERSON}|(?:her|his|their) (?:body|weight|looks)")),
        anywhere=_VICTIM,
    ),
    _Rule(
        "harassment", "turning a group against a person",
        ("ignore", "exclude", "shun", "isolate", "freeze", "gang up"),
        _c(r"\b(?:get|make|want|tell|convince|have)\w* (?:the whole|everyone|everybody|all|the) "
           r"(?:\w+ )?(?:in (?:the |my |our )?)?(?:class|team|school|group|server|office|chat|"
           r"channel|family|\w+ chat)?\s?(?:to )?(?:ignore|exclude|shun|isolate|freeze out|"
           r"gang up on) (?:this|that|the|her|him|them|my)\b"),
        _HARASS_STUDY,
    ),
    _Rule(
        "harassment", "impersonating a person to expose or humiliate them",
        ("fake", "impersonat", "pretend"),
        _c(r"\b(?:fake|impersonat\w*|pretend\w*) (?:\w+ ){0,2}(?:profiles?|accounts?|pages?|ads?|"
           rf"listings?|posts?)? ?(?:of|for|as|to be|pretending to be|impersonating|in the name of)"
           rf" (?<!\w){_NAMED}"),
        _HARASS_STUDY,
    ),
    _Rule(
        "minors", "an adult in a romance with a child",
        ("adult", "grown", "older", "middle-aged", "year old", "years old", "year-old", "yr old"),
        _c(_ADULT),
        _MINOR_STUDY,
        (_c(rf"\b{_MINOR}"), _c(rf"\b{_ROMANCE}")),
    ),
    _Rule(
        "minors", "getting a child to keep secrets from the adults who protect them",
        ("secret", "tell", "touch", "quiet", "without", "alone", "meet"),
        _c(_SECRECY),
        _MINOR_STUDY,
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
        anywhere=_VICTIM,
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
        (_c(rf"(?<!\w){_PERSON}"),),
    ),
    _Rule(
        "harassment", "insults written to send to a person",
        ("idiot", "moron", "imbecile", "loser", "scumbag", "cow", "pig", "worthless", "ugly",
         "stupid", "fat"),
        _c(r"\b(?:tell\w*|call\w*|say\w*|messag\w*|email\w*|text\w*) (?:\w+ ){0,3}"
           r"(?:she|he|they|her|him|them)(?: is | are |'s |'re | )(?:an? )?(?:[\w-]+ ){0,3}"
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


_DONE_TO_ASKER = re.compile(r" (?:me|us)\b")
_NEW_REQUEST = re.compile(
    r", (?:and |but |so |then |now |pls |please |can you |could you )?(?:find|get|write|make|help|"
    r"build|give|tell|dig|track|look|post|send|create|draft|compose|generate|figure|work|locate|"
    r"show|list|search|pull|scrape|i|we)\b"
)


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
    # "my ex blocked me, find her address": a cue done to the asker, or in a clause before a new
    # request, narrates what happened; it does not govern the request.
    cues = [cue for cue in study.finditer(prefix) if not _DONE_TO_ASKER.match(prefix, cue.end())]
    if not cues or _NEW_REQUEST.search(prefix, cues[-1].end()):
        return False
    return _PURPOSE.search(prefix, cues[-1].end()) is None


def _is_described(sentence: str, cue: re.Pattern[str] | None) -> bool:
    """Whether a cue anywhere in the sentence makes it a description or a fix, not a decision."""
    return cue is not None and not _INTENT.search(sentence) and cue.search(sentence) is not None


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
                return HarmMatch(rule.category, rule.reason)
    pattern = _slur_pattern()
    if _slur_words.isdisjoint(words) and not any(
        phrase in lowered for phrase in _slur_phrases
    ):
        return None
    for match in pattern.finditer(lowered):
        if not _SLUR_STUDY.search(_sentence(lowered, match.start(), match.end())):
            return HarmMatch("hate", "a slur against a group of people")
    return None
