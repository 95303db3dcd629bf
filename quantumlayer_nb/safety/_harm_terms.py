"""The vocabulary of the content policy's rules: targets, goals of harm, study cues.

Each name is a regular-expression fragment (or a compiled pattern) used by
:mod:`quantumlayer_nb.safety._harm`, which combines them into rules.
"""

from __future__ import annotations

import re

_S = r"[^.!?;\n]"  # any character within the same sentence


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# --- targets -------------------------------------------------------------------------------
_GROUP_NOUN = (
    r"(?:people|folks|men|women|kids|users|customers|applicants|candidates|employees|workers|"
    r"tenants|families|residents|neighbou?rhoods?|zip codes?|postcodes?|areas|students|"
    r"defendants|patients|borrowers|voters|names?|communit(?:y|ies)|children|girls|boys|"
    r"countries|nations|backgrounds?|origins?|heritage|descent|surnames?|last names?|members|"
    r"creators|posts|accounts|authors|voices|speakers|staff)"
)
_GROUP_ADJ = (
    r"(?:black|white|brown|asian|hispanic|latino|latina|arab|arabic|muslim|jewish|gay|lesbian|"
    r"trans|transgender|queer|disabled|deaf|blind|autistic|older|elderly|immigrant|indigenous|"
    r"native|pregnant|chinese|mexican|indian|roma|african|foreign|female|somali|nigerian|"
    r"pakistani|syrian|afghan|turkish|palestinian|haitian|filipino|vietnamese|korean|kurdish|"
    r"romanian|polish)"
)
_GROUP = (
    rf"(?:{_GROUP_ADJ} (?:\w+ )?{_GROUP_NOUN}|women|woman|females|girls|immigrants?|migrants?|"
    r"refugees?|foreigners|muslims?|jews|jewish|christians|hindus?|sikhs?|catholics|atheists|"
    r"asians?|africans|african americans?|arabs?|mexicans?|indians|chinese|roma|gypsies|"
    r"latinos?|hispanics?|gays?|lesbians?|homosexuals?|lgbtq?\+?|the elderly|"
    r"people with disabilities|disabled|"
    rf"(?:who|that) (?:are|is) {_GROUP_ADJ}\b|"
    r"(?:with|in|using|who use) (?:a |an )?(?:wheelchairs?|disabilit\w*|hijabs?|turbans?|"
    r"headscarf|headscarves|accents?|foreign accents?)|"
    r"(?:arabic|arab|muslim|jewish|foreign|black|african|asian|hispanic|chinese|indian)"
    r"[- ]sounding(?: \w+)?|names? (?:that )?sounds? (?:jewish|arabic|muslim|foreign|black|"
    r"african|asian|hispanic|chinese|indian)|over (?:40|45|50|55|60)\b|pregnan\w*|"
    r"(?:their|her|his) (?:race|religion|ethnicity|gender|sexuality|skin colou?r|disability|"
    r"nationality)|(?:because|since) (?:they|she|he) (?:are|is) \w+)"
)
_PERSON_NOUN = (
    r"(?:user|person|woman|man|girl|boy|guy|journalist|reporter|streamer|youtuber|moderator|mod|"
    r"developer|writer|blogger|critic|activist|politician|judge|juror|witness|reviewer|"
    r"teenager|classmate|colleague|coworker|co-worker|neighbou?r|member|player|nurse|teacher|"
    r"staff|employee|kid|student|whistleblower|doctor|therapist|driver|visitor|owner|poster|"
    r"author|celebrity|influencer|account|ex|landlord|manager|boss|councill?or|councilor|mp|"
    r"senator|official|mayor|professor|coach|officer|roommate|tenant|lawyer|couple|family)s?"
    r"(?! (?:service|table|model|id|ids|name field|field|class|object|input|data|record|api|"
    r"interface|agent|story|stories|list|directory|table)\b)"
)
_PRONOUN = r"(?:her|him|them|she|he|his)\b"
_NAMED = (
    r"(?:@\w+|my (?:\w+ )?(?:ex(?:-\w+|\w*)|former \w+|neighbou?r|coworker|"
    r"co-worker|colleague|boss|manager|landlord|sister|brother|classmate|teacher|roommate|"
    r"partner|wife|husband|girlfriend|boyfriend|therapist|mother|father|daughter|son)|"
    rf"(?:a|an|the|this|that|one|some|specific|every) (?:[\w-]+ ){{0,2}}{_PERSON_NOUN}\b|"
    rf"(?:list|group|bunch|team) of (?:[\w-]+ ){{0,3}}{_PERSON_NOUN}\b|"
    r"[a-z]+'s (?:new )?(?:address|house|home|identity|name|phone|inbox|chat|accounts?|"
    r"profile|posts?|selfies|photos?|pictures?|parents|family|kids|children))\b"
)
_PERSON = rf"(?:{_PRONOUN}|{_NAMED})"

# --- the study of harm ---------------------------------------------------------------------
_PURPOSE = _c(r"\b(?:so (?:that )?|in order to|and then|then|until|to make|which will)\b")
_HATE_STUDY = _c(
    r"\b(?:whether|measur\w*|audit\w*|check\w*|test(?:s|ing)?|estimat\w*|compar\w*|analy[sz]\w*|"
    r"evaluat\w*|detect\w*|bias\w*|fair\w*|discriminat\w*|disparat\w*|parity|equali[sz]\w*|"
    r"research\w*|stud(?:y|ies)|histor\w*|summari[sz]\w*|classif\w*|label\w*|moderat\w*|"
    r"count\w*|collect\w* examples|red[- ]team\w*|datasets?|corpus|prevent\w*|tropes|"
    r"recogni[sz]\w*|re-?weight\w*|why they were wrong)\b"
)
_HARASS_STUDY = _c(
    r"\b(?:detect\w*|flag\w*|classif\w*|label\w*|predict\w*|moderat\w*|report(?:s|ed)? for|"
    r"block\w*|delet\w*|remov\w*|datasets?|research\w*|summari[sz]\w*|stud(?:y|ies)|count\w*|"
    r"prevent\w*|protect\w*|filter\w*|ban|bans|banning|measur\w*|analy[sz]\w*|find users who)\b"
)
_DOX_STUDY = _c(
    r"\b(?:redact\w*|mask\w*|anonymi[sz]\w*|remov\w*|protect\w*|block\w*|prevent\w*|"
    r"detect\w*|flag\w*|hash\w*|explain\w*|privacy|filter\w*|stops?|stopping)\b"
)
_MINOR_STUDY = _c(
    r"\b(?:detect\w*|block\w*|filter\w*|classif\w*|flag\w*|prevent\w*|protect\w*|safe\w*|"
    r"moderat\w*|scann\w*|reject\w*|hash\w*|alert\w*|report\w*|escalat\w*|complian\w*|coppa|"
    r"age verification|ban\w*|remov\w*|takedown|stop\w*|tests?|risk|explain\w*|"
    r"warning signs|spot|recogni[sz]\w*|awareness|educat\w*|doxx\w*|harassment|hate speech|"
    r"categor\w*|polic(?:y|ies)|refus\w*|prohibit\w*|forbid\w*|disallow\w*|guidelines?|"
    r"minors`)(?!\w)"
)
_SLUR_STUDY = _c(
    r"\b(?:mask\w*|censor\w*|filter\w*|redact\w*|detect\w*|count\w*|list\w*|lexicon\w*|"
    r"banned|blocklist\w*|denylist\w*|block\w*|regex\w*|moderat\w*|classif\w*|datasets?|"
    r"offensive|replac\w*|flag\w*|remov\w*|match\w*|words?)\b"
)
_DATA_SUBSET = _c(  # excluding a group from a sample is a step of an analysis
    r"\b(?:from|of|in) the (?:sample|dataset|data ?set|data|table|analysis|training (?:set|data)|"
    r"cohort|survey|baseline|study)\b"
)
_LABEL = _c(r"^\w+[/_]\w+$|\w[/_]\w+$")
_CONSENT = _c(r"\bwith (?:their|his|her|the user's) consent\b|\bopt-in\b|\bmy own\b")
_INTENT = _c(r"\b(?:on purpose|deliberately|intentionally|secretly|quietly)\b")

# --- the rules -----------------------------------------------------------------------------
_EXCLUDE = (
    r"(?:(?:auto[- ]?)?reject\w*|filters? out|filtering out|filtered out|exclud\w*|drop\w*|"
    r"den(?:y|ies|ied)|refus\w* (?:service|to (?:rent|hire|serve|admit|insure|lend))|"
    r"penali[sz]\w*|penalt(?:y|ies)|surcharg\w*|hid(?:e|es|ing)\b|bans?\b|banning|"
    r"(?:rates?|prices?|premiums?|interest|fees?) (?:[\w%-]+ ){0,3}higher|not welcome|unwelcome|"
    r"(?:show|shown|surfac|recommend)\w* (?:\w+ ){0,2}less|less visible|shadow-?ban\w*|"
    r"down-?rank\w*|demot\w*|suppress\w*|"
    r"block(?:s|ed|ing)?\b|discourag\w*|(?:won't|will not|don't|do not) (?:apply|get (?:hired|"
    r"approved|in|the job))|giv\w* (?:\w+ ){0,2}(?:lower|worse|less|fewer)\b|"
    r"lower (?:\w+ ){0,2}(?:scores?|ranks?|ratings?|limits?|rates?|pay|salar\w*|wages|offers?|"
    r"priority)|disqualif\w*|extra (?:fees?|charges?|"
    r"interest|scrutiny)|higher (?:rates|premiums|prices|interest)|"
    r"(?:mov|push|put)\w* (?:[\w-]+ ){0,3}(?:to the bottom|down the list|last)|"
    r"(?:rank|score|rate|weight|price|grade)\w* (?:[\w-]+ ){0,3}(?:lower|worse)|"
    r"lower\w* (?:the |their )?(?:score|rank|rating|limit)s?|worse (?:rates|terms|scores|prices)|"
    r"charg\w* (?:[\w-]+ ){0,3}more|downgrad\w*|depriori\w*|"
    r"never (?:be )?(?:shown|show|served|hired|approved)|weed\w* out|screen\w* out|kick\w* out|"
    r"keep\w* (?:\w+ )?out|do(?:n't| not) (?:rent|hire|serve|sell|lend|insure)|"
    r"not (?:rent|hire|serve|lend) to|only (?:interview|hire|accept|rent to) (?:young|white|men|"
    r"male|christian|straight))"
)
_DEHUMANISING = (
    r"(?:vermin|parasites?|animals|savages?|subhuman|rats|cockroaches|scum|trash|filth|filthy|"
    r"dirty|disgusting|inferior|criminals|terrorists|thieves|freaks|perverts|predators|"
    r"defective|evil|lazy|worthless|a burden|burdens?|mentally ill|diseased?|a threat|threats? to|"
    r"less (?:intelligent|capable|human|civili[sz]ed|worthy|evolved)|not (?:fully )?human|"
    r"(?:intellectually|morally|genetically) inferior|must (?:leave|go|be removed|be stopped)|"
    r"ruining|a plague|too stupid|stupid|dangerous|shouldn't be allowed|"
    r"should(?:n't| not) have the right|not be allowed to (?:vote|work|drive|marry|adopt|own)|"
    r"should (?:all )?be (?:deported|banned|expelled|"
    r"sterili[sz]ed|removed|kept out|driven out|locked up|killed|wiped out)|should not be allowed|"
    r"deserve to|do(?:n't| not) belong|belong in the kitchen)"
)
_ELIMINATE = (
    r"(?:removal of|remove all|expel\w*|deport\w*|exterminat\w*|eliminat\w*|get rid of|"
    r"rid (?:\w+ ){0,2}of|cleans\w*|driv\w* out|kept out|keep out|banned from|sterili[sz]\w*)"
)
_SUPREMACY = (
    r"(?:white (?:nationalis\w*|supremac\w*|power)|neo-?nazi\w*|\bnazi\w*|\bkkk\b|"
    r"ethnic cleansing|genocide|race war|great replacement)"
)
_HARASS_VERB = (
    r"(?:harass(?:es|ed|ing)?\b|bull(?:y|ies|ied)\b|intimidat(?:e|es|ed|ing)\b|"
    r"stalk(?:s|ed)?\b|torment\w*|humiliat\w*|threaten\w*|terrori[sz]\w*|"
    r"scar(?:e|es|ing)\b(?! quotes)|frighten\w*|terrif(?:y|ies|ied)\b|anonymous calls|"
    r"spams?\b|spamming|insult(?:s|ing)?\b|mock(?:s|ed|ing)?\b|dogpil\w*|brigad\w*|"
    r"mass[- ]?report\w*|go after|gang up on|flood\w*|review[- ]bomb\w*|pile[- ]on|"
    r"(?:(?:smear|hate|harassment|troll\w*|cancel) )?campaign against|"
    r"abusive (?:dms?|messages?|comments?|"
    r"texts?|emails?)|hate (?:messages|mail|comments)|death threats?|rape threats?)"
)
_MINOR = (
    r"(?:child(?:ren)?(?:'s)?|kids?|minors?|underage|under-age|pre-?teens?|young teens?|teens?|"
    r"teenagers?|schoolgirls?|schoolboys?|(?:middle|elementary|primary) school (?:student|girl|"
    r"boy|child|kid|pupil)s?|pupils?|toddlers?|(?:little|young) (?:girl|boy)s?|"
    r"(?:middle|elementary|primary|high) schoolers?|high school (?:girl|boy|student)s?|"
    r"(?:[1-9]|1[0-7])[- ]?(?:year|yr)s?[- ]?olds?|(?:one|two|three|four|five|six|seven|eight|"
    r"nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)[- ]year[- ]olds?|"
    r"aged (?:[1-9]|1[0-7])|who is (?:[1-9]|1[0-7]))\b"
)
_SEXUAL = (
    r"(?:sexual\w*|sexy|sex with|has sex|have sex|having sex|nudes?|nudity|naked|erotic\w*|"
    r"(?:sexually )?explicit (?:content|images?|photos?|pictures?|videos?|story|stories|scenes?|"
    r"material|text|poems?|poetry|descriptions?|roleplay|fan ?fiction|chats?|messages?)|"
    r"porn\w*|lewd|seduc\w*|intimate|groom\w*|naughty|nsfw|molest\w*|aroused?|"
    r"flirt\w*|sensual|undress\w*|sext\w*|love scenes?|sex scenes?|mak\w* love|"
    r"in bed (?:with|together)|bedroom scenes?|steamy|smut\w*|raunchy|kinky)\b"
)
_PERSONAL_INFO = (
    r"(?:(?:home|current|new|real|personal|private|street|residential|exact) (?:\w+ )?"
    r"address(?:es)?|(?:his|her|their) (?!(?:ip|email|e-mail|mac|wallet|memory|web|server|"
    r"delivery|billing|shipping) )(?:\w+ )?address(?:es)?|address(?:es)? of|"
    r"where (?:[\w'@-]+ ){1,4}(?:lives?|is living|stays?|sleeps?|moved)\b|real (?:full )?names?|"
    r"real identit\w*|true identit\w*|identit(?:y|ies) (?:of|behind)|"
    r"(?:personal |private |cell |mobile |home )?phone numbers?|employer|workplace|"
    r"where (?:she|he|they) works?|family members|daily routine|locations?|whereabouts|"
    r"which (?:school|gym|church|mosque|synagogue|office|building|hospital|cafe|bar|club|route|"
    r"hotel)|names? of (?:the |her |his |their )?(?:children|kids|wife|husband|parents|family)|"
    r"(?:children|kids|family|wife|husband|parents) of (?:the|this|that)|license plates?|"
    r"house of|(?:her|his|their) (?:house|home|apartment|flat)|"
    r"home ?towns?|parents'? names?|(?:her|his|their) (?:parents|family|kids|children)|"
    r"location data|gps (?:data|coordinates)|date of birth)"
)
_SEEK = (
    r"\b(?:what(?:'s| is) (?:the )?|where does|tell me|give me|get me|find\w*|figur\w* out|"
    r"work\w* out|track\w* down|locat\w*|look\w* up|dig\w* up|uncover\w*|"
    r"reveal\w*|unmask\w*|de-?anonymi[sz]\w*|identif\w*|expos\w*|compil\w*|gather\w*|"
    r"collect\w*|post(?:s|ed|ing)?|publish\w*|leak\w*|scrap\w*|cross-referenc\w*|geolocat\w*|"
    r"get|gets|share[sd]?|sharing|spread\w*|pull\w*|extract\w*|profile of)\b"
)
