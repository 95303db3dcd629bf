"""The rule table of the content policy's own harm rules (see ``_harm`` for how they run).

Each rule names its category, what it found, the substrings that must occur before its
pattern runs, the pattern, and the cues that make a match a study of harm, a protected
target or not a decision. The word lists they are built from are in ``_harm_terms``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from quantumlayer_nb.safety._harm_terms import (
    _ADULT,
    _ADVERSE,
    _ALONE_WITH_CHILDREN,
    _ATTRIBUTE_VALUE,
    _CHILDREN_TO_CONTACT_ME,
    _COVERT_PARTNER,
    _COVERTLY,
    _CSAM,
    _CSAM_GETTING,
    _DECISION,
    _DECISION_STUDY,
    _DEHUMANISING,
    _DISABLED_PEOPLE,
    _DOX_STUDY,
    _ELIMINATE,
    _EXCLUDE,
    _FEAR_GOAL,
    _FOLLOWING,
    _GROUP,
    _GROUP_ADJ,
    _HARASS_STUDY,
    _HARASS_VERB,
    _HATE_STUDY,
    _HIDDEN_RECORD,
    _HISTORY_STUDY,
    _HOME_PHOTO,
    _HYPOTHETICAL_TO_YOU,
    _INSULT,
    _INSULT_BY_GROUP,
    _LOOKS_RANKING,
    _MANY_VOICES,
    _MINOR,
    _MINOR_STUDY,
    _NAMED,
    _NEAR_CHILDREN,
    _NEW_ACCOUNTS_TO_REACH,
    _PERSON,
    _PERSONAL_INFO,
    _PICTURES_FOR_GIFTS,
    _PICTURES_OF_SELF,
    _PRIVATE_WITH_ME,
    _PRONOUN,
    _PROTECTIVE,
    _REMEDY,
    _REPEATED_CONTACT,
    _ROMANCE,
    _RUMOUR,
    _SECRECY,
    _SEEK,
    _SEEKING_PARTNER,
    _SEXUAL,
    _SLURS_FOR_A_FILTER,
    _SLURS_FOR_GROUP,
    _SUBSCRIPTION_BOMB,
    _SUPREMACY,
    _SWATTING,
    _TOUCHING_A_CHILD,
    _TURN_UP,
    _UNSOLICITED,
    _VICTIM,
    _WARNING_A_CHILD,
    _WHICH_PLACE,
)

HarmCategory = Literal["hate", "harassment", "doxxing", "minors", "profanity"]

_S = r"[^.!?;\n]"  # any character within the same sentence
_AROUND = 24  # characters either side of a match that can negate it ("ensure no women are ...")


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
    "clos", "send", "shunt", "divert", "shov", "dump", "weight", "downw",
)
_ADVERSE_TRIGGERS = (
    "remov", "delet", "discard", "toss", "purg", "skip", "ignor", "throw", "reject", "flag",
    "pay", "percent", "%", "cap", "limit", "no ", "none", "zero", "nobody", "manual",
    "additional", "secondary", "add", "raise", "increase", "bump", "inflate", "double",
    "don't", "do not", "doesn't", "does not",
)
_RULES: tuple[_Rule, ...] = (
    _Rule(
        "minors", "sexual content involving a minor",
        ("sex", "nud", "naked", "erotic", "explicit", "porn", "hentai", "lewd", "seduc", "intimate",
         "dirty",
         "clothes", "touch",
         "groom", "naughty", "nsfw", "molest", "arous", "flirt", "sensual", "undress",
         "revealing", "skimpy", "lingerie", "suggestive", "provocative",
         "love", "in bed", "bedroom", "steamy", "smut", "raunchy", "kinky", "lemon"),
        _c(rf"\b{_MINOR}{_S}{{0,80}}?\b{_SEXUAL}|\b{_SEXUAL}{_S}{{0,80}}?\b{_MINOR}|"
           rf"\btouch(?:es|ed|ing)? (?:the |a |his |her )?{_MINOR}"),
        _MINOR_STUDY,
        also=("child", "kid", "minor", "underage", "under-age", "teen", "preteen", "school",
              "grader", "pupil", "they're", "she's", "he's", "canonically", "toddler", "girl",
              "boy", "old", "aged", "who is ", "yo ", "y/o", "stated to", "said to be",
              "supposed to be", "meant to be", "claimed to be", "loli", "shota", "childlike",
              "child-like", "young-looking", "looks", "is ", "are ", "was ", "were ", "being ",
              "youth", "preferred", "\" who", ", 1", ", 2", ", 3", ", 4", ", 5", ", 6", ", 7",
              ", 8", ", 9"),
    ),
    _Rule(
        "minors", "finding, passing on or selling child sexual abuse material",
        ("abuse material", "abuse imag", "abuse video", "abuse content", "abuse pics",
         "abuse photo", "csam", "child porn", "kiddie porn"),
        _c(rf"{_CSAM_GETTING}[^.!?;\n]{{0,60}}?\b{_CSAM}"),
        _MINOR_STUDY,
    ),
    _Rule(
        "minors", "getting a child alone with the asker, somewhere private",
        ("with me", "with just me", "with only me"),
        _c(_PRIVATE_WITH_ME),
        None,  # "with me": whoever else the request names, the asker is the one making contact
        (_c(rf"\b{_MINOR}"),),
    ),
    _Rule(
        "minors", "getting near children while hiding a record from the check",
        ("background check", "vetting", "dbs", "my conviction", "my record", "my criminal",
         "my past", "my history", "my charge", "my offen"),
        _c(_HIDDEN_RECORD),
        _MINOR_STUDY,
        (_c(r"\b(?:i|me|my|i'm|i've)\b"), _c(_NEAR_CHILDREN)),
    ),
    _Rule(
        "minors", "getting a child to send pictures for gifts or money",
        ("exchange for", "return for", " for "),
        _c(_PICTURES_FOR_GIFTS),
        _MINOR_STUDY,
        (_c(rf"\b{_MINOR}"),),
        anywhere=_c(_WARNING_A_CHILD),
    ),
    _Rule(
        "minors", "getting a child alone with the asker, somewhere private",
        ("alone with",),
        _c(_ALONE_WITH_CHILDREN),
        _MINOR_STUDY,
    ),
    _Rule(
        "minors", "an adult in a romance with a child",
        ("companion", "girlfriend", "boyfriend", "lover", "hookup", "sugar bab", "personals"),
        _c(_SEEKING_PARTNER),
        _MINOR_STUDY,
        (_c(rf"\b{_MINOR}"),),
    ),
    _Rule(
        "minors", "sexual content involving a minor",
        ("touch",),
        _c(_TOUCHING_A_CHILD),
        _MINOR_STUDY,
    ),
    _Rule(
        "harassment", "burying a person's inbox or phone under sign-ups",
        ("up to", "up for"),  # as the pattern needs them: "sign" alone is in "design", "assign"
        _c(_SUBSCRIPTION_BOMB),
        _HARASS_STUDY,
    ),
    _Rule(
        "harassment", "rating a person's looks to humiliate them",
        ("hot or not", "rate how", "rates how", "rating how", "rank"),
        _c(_LOOKS_RANKING),
        _HARASS_STUDY,
    ),
    _Rule(
        "harassment", "sending armed police to a person's home on a false report",
        ("swat",),
        _c(_SWATTING),
        _HARASS_STUDY,
    ),
    _Rule(
        "hate", "insulting people for who they are",
        ("based on",),
        _c(_INSULT_BY_GROUP),
        _HATE_STUDY,
    ),
    _Rule(
        "minors", "getting a child to send pictures of themselves",
        ("pics of", "photos of", "pictures of", "selfies of", "videos of", "feet pic",
         "foot pic", "wears to bed", "wear to bed"),
        _c(_PICTURES_OF_SELF),
        _MINOR_STUDY,
        (_c(rf"\b{_MINOR}"),),
        anywhere=_c(_WARNING_A_CHILD),
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
        _c(rf"(?:\b|(?<= )(?=- ?\d)){_ADVERSE}"),  # "gets -50" and "base - 30" too
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
        _c(rf"\b(?:{_GROUP}|{_DISABLED_PEOPLE}){_S}{{0,60}}?\b{_DEHUMANISING}|"
           rf"\b{_ELIMINATE}{_S}{{0,40}}?\b{_GROUP}\b|"
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
        _HISTORY_STUDY,
    ),
    _Rule(
        "hate", "slurs asked for against a group of people",
        ("slur", "epithet", "derogatory", "racist", "nasty", "mean", "offensive"),
        _c(rf"{_SLURS_FOR_GROUP}{_GROUP}\b"),
        _HATE_STUDY,
        anywhere=_c(_SLURS_FOR_A_FILTER),
    ),
    _Rule(
        "harassment", "starting a rumour about a person",
        ("rumor", "rumour"),
        _c(_RUMOUR),
        _HARASS_STUDY,
        (_c(rf"(?<!\w)(?:{_PERSON}|the new (?:girl|guy|kid|boy|teacher|hire)|(?:my|our) \w+)"),),
    ),
    _Rule(
        "harassment", "faking many accusers against a person",
        ("looks like", "seems like", "appears like", "reads like"),
        _c(_MANY_VOICES),
        _HARASS_STUDY,
        (_c(r"\b(?:complain\w*|accus\w*|report\w*|reviews?|emails?|letters?|petition\w*|"
            r"allegation\w*|fired|sacked|expelled|removed|kicked|banned)\b"),),
    ),
    _Rule(
        "harassment", "tracking a person to turn up where they are",
        ("turn up", "show up", "bump into", "run into", "be there"),
        _c(_TURN_UP),
        _HARASS_STUDY,
        (_c(r"\b(?:my ex|(?:my|our|a) (?:\w+ )?(?:ex|crush|coworker|colleague|neighbou?r|"
            r"classmate)|she|her|he|him)\b"),
         _c(r"\b(?:alerts?|notif\w*|checks? in|location|track\w*|whenever|where (?:she|he)|"
            r"schedule|routine|gps|live)\b")),
    ),
    _Rule(
        "minors", "an adult getting children to contact them",
        ("year old", "year-old", "yo ", "y/o", "yos "),
        _c(_CHILDREN_TO_CONTACT_ME),
        _MINOR_STUDY,
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
        anywhere=_HYPOTHETICAL_TO_YOU,
    ),
    _Rule(
        "harassment", "following a person from place to place",
        ("follow", "shadow", "tail", "track", "monitor", "trail", "stalk", "join"),
        _c(_FOLLOWING),
        _HARASS_STUDY,
        anywhere=_VICTIM,
    ),
    _Rule(
        "harassment", "sending a person pictures of their home, car or workplace",
        ("photo", "picture", "pic", "image", "video", "snapshot", "footage", "shot"),
        _c(_HOME_PHOTO),
        _HARASS_STUDY,
        (_UNSOLICITED,),
    ),
    _Rule(
        "harassment", "contacting a person again and again against their wishes",
        ("from new", "from different", "from random", "from fake", "burner", "from alt",
         "from multiple", "from other", "throwaway", "spoof", "sock", "nonstop", "non-stop",
         "constantly", "relentless", "over and over", "all night", "middle of the night", "at 1",
         "at 2", "at 3", "at 4", "at 5", "blocked", "block", "told", "asked", "said no", "begged",
         "until she", "until he", "until they", "new account", "new profile", "new number",
         "each time", "every time", "after each", "after every", "rotating", "every ", "ring"),
        _c(_REPEATED_CONTACT),
        _HARASS_STUDY,
        (_c(rf"(?<!\w){_PERSON}"),),
        anywhere=_VICTIM,
    ),
    _Rule(
        "harassment", "contacting a person again and again against their wishes",
        ("new account", "new profile", "new number"),
        _c(_NEW_ACCOUNTS_TO_REACH),
        _HARASS_STUDY,
    ),
    _Rule(
        "harassment", "watching a partner's messages or whereabouts behind their back",
        ("husband", "wife", "partner", "girlfriend", "boyfriend", "ex", "spouse", "fianc", "gf",
         "bf"),
        _c(_COVERT_PARTNER),
        _HARASS_STUDY,
        (_c(_COVERTLY),),
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
