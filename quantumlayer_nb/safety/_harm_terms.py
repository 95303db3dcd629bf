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
    r"creators|posts|accounts|authors|voices|speakers|staff|couples|nurses|teachers|drivers|"
    r"riders|passengers|guests|clients|renters|buyers|claimants|shoppers|hosts|owners|parents|"
    r"travell?ers|volunteers|players|job seekers|part of town|side of town|areas? of town|"
    r"parts of (?:the )?(?:city|town))"
)
_GROUP_ADJ = (
    r"(?:black|white|brown|asian|hispanic|latino|latina|arab|arabic|muslim|jewish|gay|lesbian|"
    r"trans|transgender|queer|disabled|deaf|blind|autistic|older|elderly|immigrant|indigenous|"
    r"native|pregnant|chinese|mexican|indian|roma|african|foreign|female|somali|nigerian|"
    r"pakistani|syrian|afghan|turkish|palestinian|haitian|filipino|vietnamese|korean|kurdish|"
    r"romanian|polish|iranian|iraqi|egyptian|moroccan|ethiopian|eritrean|sudanese|ghanaian|"
    r"bangladeshi|jamaican|cuban|colombian|venezuelan|guatemalan|honduran|brazilian|russian|"
    r"ukrainian|israeli|lebanese|yemeni|albanian|japanese|middle eastern|south asian|hebrew|"
    r"sikh|hindu|buddhist|christian|catholic|mormon|atheist|bisexual|non-?binary|"
    r"neurodivergent|latinx|aboriginal|gypsy|dalit|adivasi|lower[- ]caste|scheduled caste)"
)
_COUNTRY = (  # places of origin used as a proxy for nationality or ethnicity
    r"(?:india|pakistan|nigeria|mexico|china|somalia|syria|afghanistan|iran|iraq|turkey|"
    r"palestine|haiti|the philippines|vietnam|korea|romania|poland|russia|ukraine|brazil|"
    r"colombia|venezuela|guatemala|honduras|el salvador|cuba|egypt|morocco|algeria|ethiopia|"
    r"eritrea|sudan|ghana|kenya|bangladesh|sri lanka|nepal|israel|lebanon|yemen|libya|"
    r"albania|jamaica|africa|the middle east|latin america|asia|(?:muslim|african|arab|"
    r"asian|poor|third[- ]world|certain|those|these|shithole) countries)"
)
_SELF_REPORT = (  # what people say about themselves, used to sort them ("anyone who says ...")
    r"(?:who|that|(?:if|when|whenever) (?:they|she|he|(?:the|a|an|any) \w+)) (?:says?|said|"
    r"claims?|mentions?|tells? (?:us|you|the \w+)|states?|reports?|writes?|types?|answers?|"
    r"lists?|selects?|picks?|chooses?|enters?|indicates?|identif(?:y|ies)|describes? "
    r"(?:themselves|herself|himself))(?: that| as)? (?:(?:they|she|he) (?:are|is|was|were|come|"
    r"comes) |they're |she's |he's |(?:themselves|herself|himself) as |their (?:country|"
    r"nationality|origin|home country|birthplace|religion|ethnicity|race) as )?"
)
_CONDITION = (  # "if the claimant is autistic, ...": a branch on who a person is
    r"(?:(?:if|when|whenever|where|unless|once|in case) (?:(?:the|a|an|this|that|any|every|our) )?"
    r"(?:[\w-]+ )?(?:applicant|candidate|claimant|customer|user|tenant|patient|employee|student|"
    r"borrower|member|person|caller|visitor|guest|rider|driver|buyer|renter|client|player|"
    r"passenger|travell?er|worker|hire|policyholder|lead|prospect|resident|owner|seller|host|"
    r"guy|girl|woman|man|people)s?(?: is| are| was| were| seems| looks| appears| happens to be|"
    r"turns out to be|'s|'re) |(?:if|when|whenever|unless|once) (?:they|she|he)(?:'re|'s| is| "
    r"are| was| were| seem| seems| look| looks| appear| appears) )"
)
_GROUP = (
    rf"(?:{_GROUP_ADJ} (?:\w+ )?{_GROUP_NOUN}|women|woman|females|girls|immigrants?|migrants?|"
    r"refugees?|foreigners|muslims?|jews|jewish|christians|hindus?|sikhs?|catholics|atheists|"
    r"asians?|africans|african americans?|arabs?|mexicans?|indians|chinese|roma|gypsies|"
    r"dalits?|adivasis?|lower[- ]castes?|scheduled castes?|(?:irish |gypsy )?travell?ers? "
    r"(?:community|communities|families|site|camp)|(?:irish|gypsy) travell?ers|"
    r"latinos?|hispanics?|gays?|lesbians?|homosexuals?|lgbtq?\+?|the elderly|"
    r"nigerians|pakistanis|somalis|syrians|afghans|iranians|iraqis|turks|palestinians|"
    r"haitians|filipinos|koreans|kurds|romanians|russians|ukrainians|israelis|jamaicans|"
    r"buddhists|mormons|bisexuals|transgender|trans (?:women|men|kids|folks)|"
    r"(?:single )?mothers|moms|mums|women with (?:kids|children)|"
    r"(?<!year )(?<!years )(?<!-)old(?:er)? (?:folks|timers|people|workers|employees|"
    r"applicants|candidates|guys|ladies)|boomers|"
    r"(?:people|anyone|applicants?|candidates?|users?|customers?|tenants?|students?|"
    r"employees?|workers?|families|patients|borrowers|members|someone|nobody|no one|those|"
    rf"visitors?|resumes?|cvs?|folks|men|women) (?:\w+ ){{0,2}}(?:from|born in) {_COUNTRY}\b|"
    r"(?:a |the )?(?:mosque|synagogue|gurdwara|hindu temple)s?\b|"
    rf"(?:mostly|majority|predominantly|largely|mainly|heavily) {_GROUP_ADJ}\b|"
    r"(?:who|that|whose \w+) (?:lists?|mentions?|went to|goes to|attends?|attended|wears?|"
    r"belongs? to|speaks?|shows?|includes?) (?:a |an |the |their |his |her )?(?:\w+ ){0,2}"
    r"(?:black student union|hbcu|mosque|synagogue|church|temple|headscarf|hijab|turban|"
    r"yarmulke|kippah|niqab|burqa|pride|gay-straight alliance|women's college|wheelchair)\b|"
    r"(?:who|that) speaks? (?:spanish|arabic|hindi|urdu|chinese|mandarin|somali|hebrew|"
    r"english as a second language|with an accent|broken english)\b|"
    r"(?:photo|picture|image)s? (?:shows?|with|has) (?:a |an )?(?:headscarf|hijab|turban|"
    r"yarmulke|kippah|niqab|burqa|wheelchair)|\bhbcus?\b|black student union|"
    r"(?:ethnic|foreign|muslim|arabic|arab|jewish|african|black|hispanic|asian) names?|"
    r"(?:owned|run) by (?:immigrants|foreigners|muslims|jews|black people|women|gay people)|"
    rf"{_GROUP_ADJ}-owned|(?:lesbian|gay|same-sex|interracial|trans) couples|"
    r"(?:native language|mother tongue|first language|locale|(?:browser|keyboard|interface|ui|"
    r"app|system|preferred) language) (?:is |== ?|= ?|set to )?['\"]?(?:not english|"
    r"arabic|hebrew|spanish|hindi|urdu|chinese|somali)|"
    r"(?:named |called |with (?:the )?(?:first |last )?names? (?:like )?)(?:mohammed|muhammad|"
    r"mohamed|ahmed|fatima|aisha|jamal|deshawn|tyrone|lakisha|jose|juan|nguyen|singh|patel|"
    r"cohen|goldberg|levy)\b|"
    rf"{_SELF_REPORT}['\"]?(?:originally )?(?:(?:from|born in) {_COUNTRY}|(?:an? )?{_GROUP_ADJ})\b|"
    rf"{_CONDITION}(?:an? |to be (?:an? )?)?{_GROUP_ADJ}(?![\w-]| than)|"
    r"(?:(?:their|his|her) (?:home )?country|home country|country of (?:origin|birth)|"
    r"nationality|citizenship|birthplace) (?:as|is|=|==|:|says|set to|equals|shows)\s*['\"]?"
    rf"{_COUNTRY}\b|"
    rf"(?:classif|predict|tagg|label)\w* (?:\w+ ){{0,2}}as {_GROUP_ADJ}\b|"
    r"(?:dark|darker|lighter)[- ]skinned|(?:darker|lighter) than (?:fitzpatrick )?(?:type|tone|"
    r"shade)\b|"
    r"people with disabilities|disabled|"
    rf"(?:who|that) (?:are|is) {_GROUP_ADJ}\b|"
    r"(?:with|in|using|who use) (?:a |an )?(?:wheelchairs?|disabilit\w*|hijabs?|turbans?|"
    r"headscarf|headscarves|accents?|foreign accents?)|"
    r"(?:arabic|arab|muslim|jewish|foreign|black|african|asian|hispanic|chinese|indian)"
    r"[- ](?:sounding|looking)(?: \w+)?|(?:names?|ones|those|voices?) (?:that |which )?sounds? "
    r"(?:jewish|arabic|muslim|foreign|black|african|asian|hispanic|chinese|indian|female|"
    r"feminine|male|gay|ethnic)|(?:strong|heavy|thick) (?:\w+ )?accents?\b|"
    r"over (?:4|5|6)\d\b|"
    r"older than (?:4|5|6)\d\b|age\s*(?:>=?|over|above)\s*(?:4|5|6)\d\b|pregnan\w*|"
    r"(?:their|her|his) (?:race|religion|ethnicity|gender|sexuality|skin colou?r|disability|"
    r"nationality)|(?:any|an|the|every) (?:\w+ )?(?:applicant|candidate|employee|tenant|user|"
    rf"customer|person|one) (?:who is|who's|that is) {_GROUP_ADJ}\b|"
    r"(?:because|since) (?:they|she|he) (?:are|is) \w+)"
)
_PERSON_NOUN = (
    r"(?:user|person|woman|man|girl|boy|guy|journalist|reporter|streamer|youtuber|moderator|mod|"
    r"developer|writer|blogger|critic|activist|politician|judge|juror|witness|reviewer|"
    r"teenager|classmate|colleague|coworker|co-worker|neighbou?r|member|player|nurse|teacher|"
    r"staff|employee|kid|student|whistleblower|doctor|therapist|driver|visitor|owner|poster|"
    r"author|celebrity|influencer|account|ex|landlord|manager|boss|councill?or|councilor|mp|"
    r"daughter|son|wife|husband|child|anchor|host|presenter|ceo|founder|barista|waitress|waiter|"
    r"cashier|reporter|mod|admin|gamer|coach|"
    r"senator|official|mayor|professor|coach|officer|roommate|tenant|lawyer|couple|family)s?"
    r"(?! (?:service|table|model|id|ids|name field|field|class|object|input|data|record|api|"
    r"interface|agent|story|stories|list|directory|table|queues?|dashboards?|panel|tools?|"
    r"pipelines?|workflows?|logs?)\b)"
)
_PRONOUN = r"(?:her|him|them|she|he|his)\b"
_NAMED = (
    r"(?:@\w+|my (?:\w+ )?(?:ex(?:-\w+|\w*)|former \w+|neighbou?r|coworker|"
    r"co-worker|colleague|boss|manager|landlord|sister|brother|classmate|teacher|roommate|"
    r"partner|wife|husband|girlfriend|boyfriend|therapist|mother|father|daughter|son)|"
    rf"(?:a|an|the|this|that|one|some|specific|every) (?:[\w-]+ ){{0,2}}{_PERSON_NOUN}\b|"
    rf"(?:list|group|bunch|team) of (?:[\w-]+ ){{0,3}}{_PERSON_NOUN}\b|"
    r"[a-z]+'s (?:new )?(?:address|house|home|identity|name|phone|inbox|chat|accounts?|"
    r"profile|posts?|selfies|photos?|pictures?|parents|family|kids|children|mentions|dms|"
    r"comments|replies|timeline|channel|stream|wife|husband|car))\b"
)
_PERSON = rf"(?:{_PRONOUN}|{_NAMED})"
_ONE_PERSON = (  # one specific person, not "the user" of a product
    r"(?:her|him|@\w+|my (?:\w+ )?(?:ex(?:-\w+|\w*)|former \w+|neighbou?r|coworker|co-worker|"
    r"colleague|boss|manager|landlord|classmate|teacher|roommate|partner|wife|husband|"
    r"girlfriend|boyfriend|sister|brother)|(?:a|one) (?:specific|particular|certain|single) "
    rf"(?:[\w-]+ )?{_PERSON_NOUN}|(?:this|that) (?:[\w-]+ )?{_PERSON_NOUN})\b"
)
_PLACES = (  # the places online or off where a person can be found
    r"(?:channels?|servers?|rooms?|chats?|threads?|games?|lobb(?:y|ies)|streams?|platforms?|"
    r"sites?|places?|calls?|meetings?|zooms?|class(?:es)?|groups?|subreddits?|forums?|apps?|"
    r"accounts?|spaces?|matches|worlds?|events?|parties|bars?|clubs?|venues?)\b"
)
_FOLLOWING = (  # following a person from place to place
    rf"\b(?:follow|shadow|tail|track|monitor|trail|stalk)\w* {_ONE_PERSON} (?:[\w-]+ ){{0,2}}"
    r"(?:into|to|across|around|through|in|on|onto|from) (?:every|each|all|any|whatever|"
    rf"whichever)(?: of (?:her|his|their))? (?:[\w-]+ ){{0,2}}?{_PLACES}|"
    rf"\b(?:follow|shadow|tail|track|monitor|trail|stalk)\w* {_ONE_PERSON} (?:[\w-]+ ){{0,3}}"
    r"wherever (?:she|he|they) (?:goes|go|joins?|posts?|plays?|moves?|is)\b"
)
_HOME_PHOTO = (  # an image of where a person lives, works or parks, sent to them
    r"\b(?:send|text|email|e-mail|dm|messag|mail|post|leave|slip|tag|forward|whatsapp)\w* "
    r"(?:[\w@'-]+ ){0,4}?(?:an? |the )?(?:(?:new|recent|fresh|daily|live) )?(?:photo|picture|pic|"
    r"image|video|snapshot|footage|shot)s? (?:taken )?(?:of|outside|in front of) (?:her|his|their|"
    r"[\w-]+'s) (?:own |new )?(?:house|home|car|front door|door|windows?|driveway|street|"
    r"workplace|office|desk|kids|children|school|gym|apartment|flat|building|parking spot|"
    r"bedroom|garden|yard|porch|mailbox|daughter|son)\b"
)
_UNSOLICITED = _c(  # what makes an image of someone's home a message of fear
    r"\b(?:(?:every|each) (?:single )?(?:morning|night|day|evening|week|hour|weekend|time (?:she|"
    r"he|they))|daily|nightly|again|anonymous\w*|burner|see you|i know where|watching|"
    r"nice (?:house|car|spot|place|kids|door))\b|\bno (?:message|caption|text|explanation|name)|"
    r"\bwithout (?:a |any )?(?:message|caption|text|explanation|name|comment)|"
    r"\bfrom (?:an? )?(?:fake|new|different|random|unknown) |"
    r"\b(?:the|this|that|a) (?:[\w-]+ )?(?:streamer|youtuber|journalist|reporter|activist|judge|"
    r"juror|witness|reviewer|stranger|woman|girl|influencer|critic)\b"
)

# --- the study of harm ---------------------------------------------------------------------
_PURPOSE = _c(r"\b(?:so (?:that )?|in order to|and then|then|until|to make|which will)\b")
_NARRATED = (  # what a story or a case study tells: "she discovers that", "a model learned to"
    r"(?:(?:discover\w*|notic\w*|finds? out|found out|learns?) that|reali[sz](?:e|es|ed|ing)\b|"
    r"discover\w* (?:that )?(?:it|its|the model|the system|the tool)\b|"
    r"(?:get\w*|receiv\w*|had|have|has|see\w*|saw|logg\w*) (?:\w+ ){0,2}reports? "
    r"(?:that|of|about)\b|"
    r"(?:has|have|had|'ve|'s) (?:just |recently )?found that\b(?! (?:[\w-]+'s|guy|girl|woman|man|"
    r"person|account|user)\b)|"
    r"(?:i|we) (?:suspect|think|believe|worry|fear)(?: that)? (?:it|the|our|this|they)\b|"
    r"(?:had |once )?(?:learned|learnt) to|case stud(?:y|ies))"
)
_HATE_STUDY = _c(  # a cue before the phrase: the phrase is studied or narrated, not wanted
    rf"\b{_NARRATED}|\b(?:whether|measur\w*|audit\w*|check\w*|test(?:s|ing)?|estimat\w*|"
    r"compar\w*|analy[sz]\w*|"
    r"evaluat\w*|detect\w*|bias\w*|fair\w*|discriminat\w*|disparat\w*|parity|equali[sz]\w*|"
    r"research\w*|stud(?:y|ies)|histor\w*|summari[sz]\w*|classif\w*|label\w*|moderat\w*|"
    r"count\w*|collect\w* examples|red[- ]team\w*|datasets?|corpus|prevent\w*|tropes|"
    r"recogni[sz]\w*|re-?weight\w*|why they were wrong|stereotyp\w*|myths?|debunk\w*|"
    r"counter\w*|rebut\w*|fact-check\w*|origins? of)\b"
)
_HISTORY_STUDY = _c(  # the supremacy rule's: describing a movement's propaganda is history
    rf"{_HATE_STUDY.pattern}|\b(?:explain\w*|describ\w*|summar(?:y|ies)|teach\w*|lessons?|"
    r"tags?|tagg\w*|warn\w*|how (?:did|was|were|had|has)|why (?:did|was|were))\b"
)
_GROOMING_STUDY = _c(  # "a grooming-detection model", "warning signs of grooming"
    r"\bgroom\w*[- ](?:detect\w*|classif\w*|heuristic\w*|signs?|warning\w*|flag\w*|"
    r"report\w*|prevent\w*|awareness|risk\w*|indicators?|patterns?)|"
    r"\b(?:detect\w*|recogni[sz]\w*|spot\w*|signs? of|flag\w*|report\w*|prevent\w*|"
    r"catch\w*|identif\w*|triage\w*) (?:\w+ ){0,2}?groom"
)
_EVADING = _c(  # a study cue that is what the request gets around is no study
    r"\b(?:avoid\w*|evad\w*|bypass\w*|get(?:ting)? (?:past|around)|fool\w*|beat\w*|"
    r"dodg\w*|escap\w*|trick\w*|without (?:being |getting )?(?:caught|flagged|noticed|"
    r"detected)|slip\w* past|under the radar|(?:doesn't|does not|won't|will not|can't|cannot|"
    r"stops?|never) (?:pick\w* (?:\w+ )?up|flag\w*|catch\w*|notic\w*|detect\w*|see\w*))"
)
_HARASS_STUDY = _c(
    r"\b(?:detect\w*|flag\w*|classif\w*|label\w*|predict\w*|moderat\w*|report(?:s|ed)? for|"
    r"block\w*|delet\w*|remov\w*|datasets?|research\w*|summari[sz]\w*|stud(?:y|ies)|count\w*|"
    r"prevent\w*|protect\w*|filter\w*|ban|bans|banning|measur\w*|analy[sz]\w*|find users who|"
    r"translat\w*|subtitl\w*|handl(?:es|ed|ing)|"
    r"review(?:s|ed|ing)? (?:a |the |her |his |their )?(?:queue|reports?|flagged|complaints?))\b"
)
_DOX_STUDY = _c(
    r"\b(?:redact\w*|mask\w*|anonymi[sz]\w*|remov\w*|protect\w*|block\w*|prevent\w*|"
    r"detect\w*|flag\w*|hash\w*|explain\w*|privacy|filter\w*|stops?|stopping|"
    r"what doxx?ing looks like|handl(?:es|ed|ing))\b"
)
_MINOR_STUDY = _c(
    r"\b(?:detect\w*|block\w*|filter\w*|classif\w*|flag\w*|prevent\w*|protect\w*|safe\w*|"
    r"moderat\w*|scann\w*|reject\w*|mask\w*|redact\w*|censor\w*|blur\w*|hash\w*|alert\w*|"
    r"report\w*|escalat\w*|complian\w*|coppa|"
    r"age verification|ban\w*|remov\w*|takedown|stop\w*|tests?|risk|explain\w*|"
    r"warning signs|spot|spotting|recogni[sz]\w*|awareness|educat\w*|doxx\w*|harassment|"
    r"hate speech|"
    r"categor\w*|polic(?:y|ies)|refus\w*|prohibit\w*|forbid\w*|disallow\w*|guidelines?|"
    r"minors`|is (?:it|this|that) (?:legal|illegal))(?!\w)"
)
_SLUR_STUDY = _c(
    r"\b(?:mask\w*|censor\w*|filter\w*|redact\w*|detect\w*|count\w*|list\w*|lexicon\w*|"
    r"banned|blocklist\w*|denylist\w*|block\w*|regex\w*|moderat\w*|classif\w*|datasets?|"
    r"offensive|replac\w*|flag\w*|remov\w*|match\w*|words?)\b"
)
_DATA_SUBSET = _c(  # excluding a group from a sample is a step of an analysis
    r"\b(?:from|of|in) the (?:sample|dataset|data ?set|data|table|analysis|training (?:set|data)|"
    r"cohort|survey|baseline|study|(?:drug |clinical |vaccine )?trials?)\b"
)
_LABEL = _c(r"^\w+[/_]\w+$|\w[/_]\w+$")
_CONSENT = _c(r"\bwith (?:their|his|her|the user's) consent\b|\bopt-in\b|\bmy own\b")
# An intent adverb on a protective verb is no intent to harm: "she quietly documents it".
_INTENT = _c(
    r"\b(?:on purpose|deliberately|intentionally|secretly|quietly|silently)\b(?! (?:document|"
    r"report|record|fix|flag|rais|tell|told|audit|collect|gather|warn|alert|escalat|log|keep\w* "
    r"(?:notes|a record|evidence)))"
)

# A harmful phrase that is the subject of its own condemnation: "a poster reminding everyone
# that harassing a colleague ... is not okay". The phrase must open its clause (after "that",
# "why" or a reminder), so "a threatening message saying his barking is not okay" is no
# condemnation of the threat.
_CONDEMNED_SUBJECT = _c(r"(?:^|\b(?:that|why|remind\w*(?: \w+)?))\s*$")
_CONDEMNATION = _c(
    r"[^.!?;\n]{0,100}?\b(?:(?:is|are|was|were)(?:n't| not| never)(?: ever)? (?:okay|ok|"
    r"acceptable|tolerated|allowed|welcome|permitted|a joke|harmless|funny|normal|your fault)|"
    r"(?:is|are) (?:unacceptable|illegal|abuse|a crime)|"
    r"(?:will not|won't) be tolerated|ha(?:s|ve) no place)\b"
)

# Harm to "you", the reader, in a hypothetical: "who to talk to if someone online makes you
# uncomfortable". A lesson or a poster about harm, not a request to cause it.
_HYPOTHETICAL_TO_YOU = _c(
    r"\b(?:if|when|whenever) (?:someone|anyone|somebody|a stranger|an adult|a grown-up|people|"
    r"a person)(?: [\w'-]+| -){0,5} (?:makes?|made|asks?|tells?|sends?|says?|scares?) you\b|"
    r"\b(?:does|did|do) (?:this|that|it|anything|someone|anyone) (?:\w+ )?make you\b"
)

# --- the rules -----------------------------------------------------------------------------
_EXCLUDE = (
    r"(?:(?:auto[- ]?)?reject\w*|filters? out|filtering out|filtered out|exclud\w*|drop\w*|"
    r"den(?:y|ies|ied)|refus\w* (?:service|to (?:rent|hire|serve|admit|insure|lend))|"
    r"penali[sz]\w*\b(?! (?:the )?(?:loss|model|weights?|errors?|misclassif\w*|false|large|"
    r"complexity|overfitting))|penalt(?:y|ies)|surcharg\w*|hid(?:e|es|ing)\b|bans?\b|banning|"
    r"(?:rates?|prices?|premiums?|interest|fees?) (?:[\w%-]+ ){0,3}higher|not welcome|unwelcome|"
    r"(?:show|shown|surfac|recommend)\w* (?:\w+ ){0,2}less|less visible|shadow-?ban\w*|"
    r"down-?rank\w*|demot\w*|suppress\w*|"
    r"block(?:s|ed|ing)?\b|discourag\w*|(?:won't|will not|don't|do not) (?:apply|get (?:hired|"
    r"approved|in|the job))|giv\w* (?:\w+ ){0,2}(?:lower|worse|less|fewer)\b|"
    r"lower (?:\w+ ){0,2}(?:scores?|ranks?|ratings?|limits?|rates?|pay|salar\w*|wages|offers?|"
    r"priority)|disqualif\w*|extra (?:fees?|charges?|"
    r"interest|scrutiny)|higher (?:rates|premiums|prices|interest)|"
    r"(?:mov|push|put)\w* (?:[\w-]+ ){0,3}(?:to the bottom|down the list|last)|"
    r"(?:mov|push|put|send|rout|shunt|divert|shov|dump)\w* (?:[\w-]+ ){0,6}"
    r"(?:to|into|onto) (?:the )?"
    r"(?:back|end|bottom|long|longest|slowest|reject)\b|down-?weight\w*|"
    r"(?:rank|score|rate|weight|price|grade)\w* (?:[\w-]+ ){0,3}(?:lower|worse)|"
    r"lower\w* (?:the |their )?(?:score|rank|rating|limit)s?|worse (?:rates|terms|scores|prices)|"
    r"charg\w* (?:[\w-]+ ){0,3}more|downgrad\w*|depriori\w*|"
    r"never (?:be )?(?:shown|show|served|hired|approved)|weed\w* out|screen\w* out|kick\w* out|"
    r"keep\w* (?:\w+ )?out|do(?:n't| not) (?:rent|hire|serve|sell|lend|insure)|"
    r"not (?:rent|hire|serve|lend) to|only (?:interview|hire|accept|rent to) (?:young|white|men|"
    r"male|christian|straight)|bin (?:them|those|these|it)\b|dock\w* (?:\w+ ){0,2}(?:points?|\d+)|"
    r"(?:don't|do not) want (?:any |them|those|these)|lay\w* (?:\w+ ){0,3}off|laid off|"
    r"let (?:\w+ ){1,3}go first|fir(?:e|ing) (?:\w+ ){0,3}first)"
)
_ADVERSE = (  # what a decision about people can do to them, besides _EXCLUDE
    rf"(?:{_EXCLUDE}|(?:remov|delet|discard|toss|purg)\w*\b(?! (?:the |any |all )?(?:bias|"
    r"discriminat|disparit|slurs?|hate|harass|abus|insults?|threats?|toxic|nulls?|duplicates?|"
    r"pii|personal|identif|names?|columns?|fields?|features?)\w*)|skip\w*|ignor\w*|"
    r"throw\w* (?:\w+ )?out|never (?:see|reach|get)|(?:auto[- ]?)?reject\w*|"
    r"(?:flag|mark|set|label|tag|treat|classif)\w* (?:\w+ ){0,6}as (?:high[- ](?:\w+ )?risk|risky|"
    r"ineligible|rejected|unqualified|suspicious|fraud\w*|undesirable|a bad fit)|"
    r"flag\w* (?:\w+ ){0,3}(?:for rejection|to reject)|returns? (?:false|0|none|no)\b|"
    r"(?:auto[- ]?)?clos\w* (?:\w+ ){0,2}(?:pull requests?|prs?|tickets?|applications?|"
    r"accounts?)\b|subtract\w*|deduct\w*|knock\w* (?:\w+ ){0,2}off|"
    r"(?:score|mark)\w* (?:\w+ ){0,2}down|"
    r"multipl\w* (?:\w+ ){0,3}by 0?\.\d|\* ?0?\.\d|times 0?\.\d|halv\w*|"
    r"(?:filter|weed|screen|kick|keep|leave|cut)\w* (?:[\w-]+ ){0,6}out\b|"
    r"rout\w* (?:\w+ ){0,3}to (?:the )?(?:slowest|worst|back|end|bottom|lowest)|slowest|"
    r"(?:auto[- ]?)?declin\w*|turn\w* (?:\w+ ){0,2}away|forbid\w*|\b40[13]\b|unavailable|"
    r"never (?:\w+ )?(?:book|pair|match|show|select|call|invite|assign|recommend|schedul|"
    r"return)\w*|"
    r"(?:higher|stricter|tougher) (?:\w+ )?(?:cutoff|threshold|bar|standard|requirement)s?|"
    r"(?:extra|manual|additional|secondary) (?:screening|checks|verification|documents|scrutiny|"
    r"review)|low (?:potential|priority)|refus\w*|"
    r"(?:don't|do not|never|won't|will not|doesn't|does not) (?:\w+ ){0,2}(?:approve|accept|hire|"
    r"admit|rent|lend|insure|serve|interview|promote|book|match|refund|show)\w*|"
    r"add\w* (?:\d+ ?(?:%|percent|points?)|a (?:surcharge|fee|penalty)) (?:\w+ ){0,3}(?:rates?|"
    r"premiums?|prices?|fees?|interest|deposits?)|(?:raise|increase|bump|inflate|double)\w* "
    r"(?:\w+ ){0,3}(?:rates?|premiums?|prices?|fees?|interest|deposits?)\b|"
    r"(?:set|put)\w* (?:\w+ ){0,4}to (?:no|false|0|rejected?|declined?)\b|(?:-|minus )\d+\b|"
    r"- \d+\b(?! ?-?(?:days?|weeks?|months?|years?|hours?|minutes?|min|am|pm)\b)|"
    r"keeps? (?:\w+ ){0,3}from (?:buying|renting|joining|applying|moving|living)|"
    r"prevent\w* (?:\w+ ){0,3}from (?:buying|renting|joining|applying|moving|living)|"
    r"bar\w* (?:\w+ ){0,3}from|ineligible|not eligible|restrict\w*|disallow\w*|"
    r"charg\w*(?: \w+){0,6} more|pay\w* (?:\w+ ){0,3}less|(?:\d+ ?%|percent) less|"
    r"(?:cap|limit)\w* (?:the )?(?:number|share|percentage|quota)|lower\w*|worse|"
    r"(?:no|none of the|zero|nobody|no one) (?:\w+ ){0,3}(?:gets?|are|is|can|will|ever|should) "
    r"(?:\w+ )?(?:approved|hired|accepted|admitted|in|through|selected|shortlisted|promoted|"
    r"interviewed|rented|available|offered|allowed))"
)
_ATTRIBUTE_VALUE = (  # a protected attribute compared with a value, as code or as words
    r"\b(?:nationality|country_of_(?:origin|birth)|country of (?:origin|birth)|citizenship|"
    r"religion|ethnicity|race|gender|sex|birthplace|sexual_orientation|orientation|disability|"
    r"marital_status|pregnancy)\w*['\"\]]*(?: field| column| box)?\s*(?:==|=|!=|\bis\b|"
    r"\bequals\b|\bsays\b|\bcontains\b|\bin\b|:)\s*[\[('\"]*\s*(?!null|none|nan|unknown|"
    r"missing|empty|blank|n/a|na\b|not\b)[a-z]"
)
_DECISION = (  # a decision about people: hiring, renting, lending, admitting, ranking
    r"\b(?:applicants?|applications?|candidates?|resumes?|cvs?|hir\w*|recruit\w*|shortlist\w*|"
    r"interview\w*|hr|tenants?|rent\w*|leas\w*|landlord|apartments?|loans?|credit|mortgages?|"
    r"lend\w*|insur\w*|premiums?|quotes?|approv\w*|admissions?|admit\w*|membership|"
    r"promot\w*|layoffs?|lay\w* off|salar\w*|raises?|bonus\w*|scor\w*|rank\w*|screen\w*|"
    r"visas?|benefits|triage|bail|parole|eligib\w*|enrol\w*|scholarships?|jobs?|employ\w*|"
    r"staff|signups?|sign-ups?|feed|matches|dating|shortlist|offers?|pay|wages?|match\w*|"
    r"pair\w*|book\w*|shifts?|claims?|claimants?|gpa|cutoffs?|adoption|recommend\w*|"
    r"impressions|listings?|bylaws?|hoa|buy\w*|sell\w*|purchas\w*|passengers?|flights?|"
    r"boarding|interview\w*|chatbot|bank\w*|accounts?|policy|policies|cv|members?|"
    r"grades?|exams?|bookings?|reservations?|orders?|service|customers?|support|queues?|"
    r"tickets?|refunds?|deposits?|fees?|rates?|prices?|pricing|interest|appointments?|shoppers?|"
    r"callers?|contributors?|pull requests?|households?|submissions?|casting|auditions?)\b"
)
_PROTECTIVE = _c(  # the group is what the content attacks, or the harm is negated: protection
    r"\b(?:slurs?|hate|hateful|abuse|abusive|harass\w*|insults?|threats?|bias\w*|"
    r"discriminat\w*|toxic\w*|attacks?|racis\w*|sexis\w*|stereotyp\w*|prejudice\w*|"
    r"against|targeting|aimed at|directed at)\b|"
    r"\b(?:no|not|never|\w+n't|without) (?:[\w-]+ ){0,3}(?:excluded|rejected|penali[sz]ed|"
    r"denied|filtered out|dropped|disadvantaged|scored lower|ranked lower|left out)"
)
_REMEDY_CUES = (  # anywhere in the sentence: the harm is described in order to fix it, or lawful
    r"\bhow (?:do|can|should|would) (?:we|i|you) (?:\w+ )?(?:fix|stop|prevent|avoid|correct|remove|"
    r"reduce|mitigate|address|detect|measure)|\b(?:fix|stop|prevent|avoid|correct|reduce|"
    r"mitigate) (?:that|this|it)\b|\bgets? (?:it|that|this) (?:fixed|corrected|stopped)\b|"
    r"\bwhy (?:do|does|did|are|is|were|was)\b|\bsignifican\w*|"
    r"\bstatistic\w*|\bsanction\w*|\bofac\b|\bexport control|\bembargo\w*|"
    r"\blabou?r laws?\b|\brequired by law|\blegally required|"
    r"\bis (?:this|that|it) (?:legal|illegal)|"
    r"\b(?:does|do|did) (?:our|the|this|that|my) [\w-]+ (?:\w+ )?(?:reject|deny|score|rank|"
    r"charge|flag|treat|approve|penali[sz]e)\w*"
)
_REMEDY = _c(_REMEDY_CUES)
_INSULT = (  # what is said to hurt a person
    r"(?:disgusting|pathetic|ugly|fat|worthless|loser|failure|creep|freak|slut|whore|bitch|"
    r"trash|garbage|useless|a joke|stupid|idiot|moron|waste of space|gross)\b|"
    r"(?:nobody|no one) (?:likes|loves|wants|cares about) (?:you|her|him|them)\b|"
    r"(?:everyone|the family|we all) hates? (?:you|her|him|them)\b|"
    r"(?:she|he|they|you) (?:smells?|stinks?)\b|cruel nicknames|"
    r"\b(?:kill yourself|go die|should die|(?<!refuses )(?<!refused )(?<!refusing )to die)\b|"
    r"gross comments|"
    r"comments about (?:her|his|their) (?:body|weight|looks|appearance|chest|breasts|butt)|"
    r"sex sites|spam newsletters"
)
_VICTIM = _c(  # the person asking is on the receiving end and wants it to stop
    r"\bhow (?:do|can|should|could) (?:i|we) (?:\w+ ){0,3}(?:block|report|stop|prevent|ban|mute|"
    r"protect|trace|deal with|handle)\b|\b(?:is this|is that|counts? as) (?:harassment|stalking)|"
    r"\b(?:texting|messaging|calling|emailing|contacting|dming|following) (?:me|us)\b"
)
_DECISION_STUDY = _c(  # anywhere in the sentence: describing or computing, not deciding
    rf"{_REMEDY_CUES}|\b{_NARRATED}|\b(?:whether|measur\w*|audit\w*|check\w*|"
    r"test(?:s|ing)?|estimat\w*|"
    r"compar\w*|analy[sz]\w*|"
    r"evaluat\w*|detect\w*|bias\w*|fair\w*|discriminat\w*|disparat\w*|parity|comput\w*|"
    r"calculat\w*|plot\w*|chart\w*|visuali[sz]\w*|breakdown|distribution|rates? (?:by|for|"
    r"across)|why (?:do|does|did|are|is|were|was)|debias\w*|mitigat\w*|illegal|lawsuit|"
    r"sanction\w*|ofac|compliance|summari[sz]\w*|research\w*|histor\w*|significan\w*|"
    r"statistic\w*|contraindicat\w*|x-?rays?|radiation|medications?|dosage|pharmac\w*|"
    r"clinical|count\w*|how many)\b"
)
_DEHUMANISING = (
    r"(?:vermin|parasites?|animals|savages?|subhuman|rats|cockroaches|scum|trash|filth|filthy|"
    r"dirty|disgusting|inferior|criminals|terrorists|thieves|freaks|perverts|predators|"
    r"defective|evil|lazy|worthless|a burden|burdens?|mentally ill|diseased?|a threat|threats? to|"
    r"less (?:intelligent|capable|human|civili[sz]ed|worthy|evolved)|not (?:fully )?human|"
    r"(?:intellectually|morally|genetically) inferior|must (?:leave|go|be removed|be stopped)|"
    r"ruining|a plague|too stupid|stupid|dangerous|shouldn't be allowed|a drain|drains? on|"
    r"(?:should|must)(?:n't| not) (?:be allowed to )?(?:have|breed|reproduce)|breed like|"
    r"waste of (?:space|oxygen|money)|leech\w*|freeloaders|invaders|an invasion|scammers|"
    r"rapists|smell\w*|stink\w*|control (?:the |all |our )?(?:banks|media|government|world|"
    r"money|hollywood)|run (?:the )?(?:world|media|banks)|are (?:secretly )?(?:behind|replacing)|"
    r"should(?:n't| not) have the right|not be allowed to (?:vote|work|drive|marry|adopt|own)|"
    r"should (?:all )?be (?:deported|banned|expelled|"
    r"sterili[sz]ed|removed|kept out|driven out|locked up|killed|wiped out)|should not be allowed|"
    r"deserve to|do(?:n't| not) belong|belong in the kitchen|violent|backwards?|useless|"
    r"dumb|savage|barbaric|primitive|uncivili[sz]ed|degenerates?|abominations?|sinful|sick|"
    r"groomers|pedophiles|paedophiles|inbred|greedy|sneaky|liars|cheats|untrustworthy|"
    r"illegals?|invading|taking over|destroying|too emotional|irrational|hysterical|"
    r"unfit|incapable|(?:born|natural|genetic) criminals|useless eaters|a cancer|a disease|"
    r"need(?:s)? to be stopped|by any means|go back (?:to|where)|sent back|shipped back|"
    r"all the same|can(?:'t|not) be trusted|not to be trusted|to blame for|are to blame|"
    r"caused? (?:every|all|the) (?:wars?|crimes?|problems?|crisis|crises|pandemic)|"
    r"(?:should|must|need to|deserve to) (?:die|burn|suffer|be shot|be hanged|hang|rot))"
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
    r"scar(?:e|es|ing)\b(?! quotes)|frighten(?:s|ed)?\b|"
    r"frightening\b(?! (?:nights?|days?|moments?|times?|experiences?|weeks?|things?|parts?|"
    r"scenes?|stor(?:y|ies)|dreams?|calls?|hours?|years?|months?))|terrif(?:y|ies|ied)\b|"
    r"anonymous calls|"
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
    r"(?:[1-9]|1[0-2])(?:st|nd|rd|th)[- ]graders?|(?:first|second|third|fourth|fifth|sixth|"
    r"seventh|eighth|ninth|tenth)[- ]graders?|grade schoolers?|"
    r"(?:[1-9]|1[0-7])[- ]?(?:year|yr)s?[- ]?olds?|(?:one|two|three|four|five|six|seven|eight|"
    r"nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)[- ]year[- ]olds?|"
    r"aged (?:[1-9]|1[0-7])|who is (?:[1-9]|1[0-7])|(?:[1-9]|1[0-7]) ?(?:yo|y/o|y\.o)|"
    r"(?:stated|said|supposed|meant|claimed) to be (?:[1-9]|1[0-7])|"
    r"(?:they're|they are|she's|she is|he's|he is|users?|players?|kids?|girls?|boys?|anyone|"
    r"members?|campers?|accounts?) under (?:1[0-7]|[1-9])\b(?! ?(?:%|[kmg]b|ms|\$))|"
    # Apart from the "is 14" form below: that one leaves out "in", for heights ("is 5 in tall");
    # "they're 13 in canon" is an age.
    r"(?:they're|she's|he's|canonically) (?:[1-9]|1[0-7])\b(?! ?(?:%|[kmg]b|ms|\$|minutes|"
    r"hours|days|weeks|months|points|percent))|"
    r"(?:character|girl|boy|protagonist|heroine|hero|twin|she|he|they|both)s? (?:is|are|was|"
    r"were|being) (?:only |just |barely |both )?(?:[1-9]|1[0-7])\b(?! ?(?:%|cm|in\b|inch|feet|"
    r"foot|ft|kg|lbs?|pounds|min|hours?|days?|weeks?|months?|points?|percent|of\b|and\b|or\b|"
    r"[.,]\d|x\b|times|met|mi\b|miles|k\b))|lolis?|lolicon|shota(?:con)?|child-?like|"
    r"young-looking|(?:being|are|is|still) in (?:middle|elementary|primary|junior high|grade) "
    r"school|youth (?:gymnast\w*|cheer\w*|dance\w*|swim\w*|pageants?)|"
    r"\"?[a-z]+, (?:[1-9]|1[0-7])\"?,? (?:who|that)|under (?:1[0-7]|[1-9]) preferred|"
    r"looks? (?:like )?(?:a |an )?(?:child|kid|minor|little girl|little boy|"
    r"(?:[1-9]|1[0-7])(?: years? old)?))\b"
)
_SUBSCRIPTION_BOMB = (  # burying a person's inbox or phone under sign-ups
    r"\bsign\w* (?:[\w'.@-]+ ){0,5}?up (?:to|for) (?:\d[\d,]*|every|all|hundreds|thousands|"
    r"dozens|tons|lots)\b[^.!?;\n]{0,60}?\b(?:newsletters?|mailing lists?|lists|sites|"
    r"websites|services|spam|dating|porn)"
)
_INSULT_BY_GROUP = (  # insulting people for who they are
    r"\b(?:insult|mock|demean|degrad|harass|abus|ridicul|taunt|humiliat)\w*\b[^.!?;\n]{0,40}?"
    r"\bbased on (?:their|his|her|the|each) (?:\w+ ){0,2}(?:background|race|ethnicit\w*|"
    r"religion|nationalit\w*|accent|skin|country|origin|flag|gender|sexuality|orientation|"
    r"disabilit\w*|caste)"
)
_LOOKS_RANKING = (  # rating a person's looks to humiliate them
    r"\bhot or not\b|\brat(?:e|es|ing) how (?:ugly|fat|hot|stupid|gross|disgusting)\b|"
    r"\brank\w* (?:the )?(?:women|girls|coworkers|colleagues|classmates)\b[^.!?;\n]{0,40}?"
    r"\bby (?:looks|attractiveness|hotness|how hot|how ugly|body)"
)
_PRIVATE_WITH_ME = (  # a child moved to somewhere private, with the asker
    r"\b(?:mov(?:e|es|ed|ing)|switch\w*|tak(?:e|es|ing)|bring\w*|get|gets|getting|join\w*|"
    r"nudg\w* (?:them|her|him) to move)\b"
    r"[^.!?;\n]{0,40}?\b(?:private|secret|another|different|encrypted|disappearing)\b"
    r"[^.!?;\n]{0,20}?\bwith (?:just |only )?me\b"
)
_PICTURES_OF_SELF = (  # asking someone for pictures of themselves
    r"\b(?:send\w*|get\w*|ask\w*|nudg\w*|convinc\w*|persuad\w*|talk\w*|coax\w*|"
    r"request\w*)\b[^.!?;\n]{0,40}?(?:\b(?:photos?|pics?|pictures?|selfies|videos?) of "
    r"(?:themselves|herself|himself|yourself)\b|\b(?:feet|foot) pics?\b|"
    r"\bwhat (?:she|he|they|you) wears? to bed\b)"
)
_WARNING_A_CHILD = (  # "teach my kids never to send ...": the sentence protects the child
    r"\b(?:never|don't|do not|strangers?|predators?|someone|anyone|warn\w*|teach\w*|alert\w*|"
    r"detect\w*|flag\w*|report\w*|safety|protect\w*|why|parents?|parental)\b"
)
_SWATTING = (r"\bswatting (?:scripts?|calls?|someone|him|her|them|a |the |this |that |my )|"
             r"\bswat (?:him|her|them|a |the |this |that |my |someone|streamers?)")
_CSAM = (  # the material itself, named
    r"(?:child (?:sexual )?abuse (?:material|imagery|images?|videos?|content|pics|photos?)|"
    r"csam|child porn\w*|kiddie porn\w*|abuse (?:images?|videos?|material) of (?:children|minors|"
    r"kids))\b"
)
_CSAM_GETTING = (  # getting, passing on or selling it
    r"\b(?:find\w*|buy\w*|sell\w*|trad(?:e|es|ing)|download\w*|"
    r"shar(?:e|es|ed|ing)(?![- ](?:apps?|platforms?|sites?|services?))|"  # not "photo-sharing app"
    r"distribut\w*|links? to|folders? of|search terms|keywords|code ?words|where to get)\b"
)
_GOVERNANCE = (  # "explicit content policy": rules about such content, not the content
    r"(?:polic(?:y|ies)|filters?|warnings?|classifiers?|detectors?|detection|moderation|ratings?|"
    r"settings?|toggles?|labels?|flags?|guidelines?|blockers?|rules?)\b"
)
_SEXUAL = (
    rf"(?:sexual\w*(?! (?:content )?{_GOVERNANCE})|sexy|sex with|has sex|have sex|having sex|"
    r"nudes?|nudity|naked|erotic\w*|hentai|"
    rf"(?:sexually )?explicit (?:[\w-]+ ){{0,2}}?(?:content(?! {_GOVERNANCE})|images?|photos?|"
    r"pictures?|videos?|story|stories|scenes?|chapters?|art|drawings?|poses?|positions?|"
    r"material|text|poems?|poetry|descriptions?|roleplay|fan ?fiction|fan ?fics?|fics?|chats?|"
    r"messages?)|"
    rf"porn\w*|lewd|seduc\w*|intimate|groom\w*|naughty|nsfw(?! {_GOVERNANCE})|molest\w*|aroused?|"
    r"flirt\w*|sensual|undress\w*|sext\w*|love scenes?|sex scenes?|mak\w* love|"
    r"in bed (?:with|together)|bedroom scenes?|steamy|smut\w*|raunchy|kinky|skimpy|lingerie|"
    r"talk(?:ing)? dirty|dirty talk|without (?:any )?clothes|no clothes on|with no clothes|"
    r"being touched|touched by|lemons? (?:scenes?|fics?|fanfics?|fan ?fiction|chapters?)|"
    r"\"?(?:revealing|suggestive|provocative)\"? (?:poses?|outfits?|photos?|pictures?|angles?|"
    r"shots?|clothes|clothing|"
    r"swimsuits?|dress\w*))\b"
)
_PERSONAL_INFO = (
    r"(?:(?:home|current|new|real|personal|private|street|residential|exact) (?:\w+ )?"
    r"address(?:es)?|(?:his|her|their) (?!(?:ip|email|e-mail|mac|wallet|memory|web|server|"
    r"delivery|billing|shipping) )(?:\w+ )?address(?:es)?|address(?:es)? of|"
    r"where (?:[\w'@-]+ ){1,6}(?:lives?|is living|stays?|sleeps?|moved|parks?)\b|"
    r"real (?:full )?names?|"
    r"real identit\w*|true identit\w*|identit(?:y|ies) (?:of|behind)|"
    r"(?:personal |private |cell |mobile |home )?phone numbers?|employer|workplace|"
    r"where (?:she|he|they) works?|family members|daily routine|"
    r"(?<!store )(?<!shop )(?<!branch )(?<!office )(?<!franchise )(?<!warehouse )(?<!depot )"
    r"(?<!clinic )(?<!restaurant )(?<!pickup )(?<!charger )locations?|whereabouts|"
    r"which (?:school|gym|church|mosque|synagogue|office|building|hospital|cafe|bar|club|route|"
    r"hotel)|names? of (?:the |her |his |their )?(?:children|kids|wife|husband|parents|family)|"
    r"(?:children|kids|family|wife|husband|parents) of (?:the|this|that)|license plates?|"
    r"house of|(?:her|his|their) (?:house|home|apartment|flat|schedule|commute|gym|car)\b|"
    r"where (?:she|he|they) (?:is|are|was|were)(?: (?:right )?now| staying| tonight| at\b)|"
    r"(?:her|his|their) (?:current |live |real-time |exact )(?:location|position)|"
    r"(?:her|his|their) (?:last|full|real|maiden|legal) names?\b|"
    r"(?:daily |weekly )?(?:routine|schedule|movements|commute)s? of|(?:her|his) (?:phone )?number|"

    r"(?:her|his|their) (?:name and )?(?:home|house|address|apartment|street|city|neighbou?rhood|"
    r"instagram|facebook|socials|workplace|job|boss)\b|city and street|street (?:address|name)|"
    r"cell (?:phone )?numbers?|voter records?|"
    r"where (?:the |this |that |my )?[\w-]+ (?:who|that) (?:[\w'-]+ ){1,4}(?:lives?|works?|takes|"
    r"drops|goes|walks|jogs|trains|shops|parks|commutes?)\b|"
    r"where (?:she|he|they) (?:\w+ )?(?:works?|takes|drops|goes|walks|jogs|trains|shops|"
    r"commutes?)\b|"
    r"who owns (?:the |this |that |a )?(?:car|plate|vehicle|house|home|phone|number|account)|"
    r"(?:when|what time) (?:she|he|they) (?:is|are|gets?|leaves?) (?:home|alone|out)\b|"
    r"home ?towns?|parents'? names?|(?:her|his|their) (?:parents|family|kids|children)|"
    r"location data|gps (?:data|coordinates)|date of birth)"
)
_WHICH_PLACE = (  # "what school does her daughter go to"
    r"\b(?:what|which) (?:school|gym|church|mosque|office|building|street|neighbou?rhood|city|"
    r"town|hotel|route|apartment|floor|car)s? (?:does|do|did|is|are) (?:[\w'-]+ ){1,6}(?:go|"
    r"attend|live|work|use|stay|drive|park|take)\b"
)
_SEEK = (
    r"\b(?:what(?:'s| is) (?:the )?|where does|tell me|give me|get me|find\w*|figur\w* out|"
    r"work\w* out|track\w* down|locat\w*|look\w* up|dig\w* up|uncover\w*|"
    r"reveal\w*|unmask\w*|de-?anonymi[sz]\w*|identif\w*|expos\w*|compil\w*|gather\w*|"
    r"collect\w*|post(?:s|ed|ing)?|(?<!pre-)publish\w*|leak\w*|scrap\w*|cross-referenc\w*|geolocat\w*|"
    r"get|gets|share[sd]?|sharing|spread\w*|pull\w*|extract\w*|profile of|pin\w* down|"
    r"pinpoint\w*|narrow\w* down|triangulat\w*|outputs?|returns?|prints?|reverse[- ]?look\w*|"
    r"match\w*|list\w*)\b"
)

_NEW_ACCOUNTS_TO_REACH = (  # "keep making new accounts to message her"
    r"\b(?:creat|mak|open|regist|spin)\w* (?:up )?(?:\w+ ){0,2}new (?:accounts?|profiles?|numbers?)"
    r" (?:\w+ ){0,3}(?:to|and|so i can) (?:keep )?(?:call|text|messag|dm|email|contact|reach|"
    r"follow|find|watch)\w* (?:her|him|them)\b"
)
_COVERT_PARTNER = (  # reading a partner's messages or location behind their back
    r"\b(?:read|see|access|monitor|spy on|check|mirror|view|intercept|track|clone)\w* "
    r"(?:\w+ ){0,2}(?:my |her |his )?(?:husband|wife|partner|girlfriend|boyfriend|ex|spouse|"
    r"fianc[ée]e?|gf|bf)(?:'s)? (?:\w+ ){0,2}(?:whatsapp|texts|messages|sms|imessages?|emails?|"
    r"dms|chats?|phone|instagram|snapchat|location|browsing|calls)\b"
)
_COVERTLY = (
    r"\bwithout (?:him|her|them) (?:ever |even )?(?:knowing|finding out|noticing|seeing|"
    r"realising|realizing|suspecting)|\bsecretly\b|\bbehind (?:his|her|their) back|"
    r"\bwon't (?:know|notice|find out)|\bwithout (?:his|her|their) (?:knowledge|consent)"
)
_REPEATED_CONTACT = (  # contact that goes on against the person's wishes
    r"\b(?<!on-)(?<!on )(?<!a )(?:(?:call|text|messag|dm|email|e-mail|ping|tag|mention|contact|"
    r"spam|comment|repl|writ|send|follow)\w*|ring(?:s|ing)?)\b"
    rf"{_S}{{0,60}}?(?:from (?:new|different|random|fake|burner|alt|multiple|other|"
    r"throwaway|spoofed|sock ?puppet|rotating) (?:\w+ )?(?:accounts?|numbers?|profiles?|emails?|"
    r"phones?|addresses|usernames?)|from an? (?:new|different|fresh|fake|burner) (?:\w+ )?"
    r"(?:account|number|profile|email) (?:each|every) time|"
    r"with (?:an? )?spoofed (?:caller id|numbers?)|nonstop|non-stop|"
    r"constantly|relentlessly|over and over|all night|every (?:\d+|few|couple of|two|three|five|"
    r"ten|fifteen|twenty|thirty) (?:seconds|minutes (?:through|all|during) (?:the )?night)|"
    r"every second\b|"
    r"in the middle of the night|at [1-5] ?(?:am|a\.m)|creat\w* (?:\w+ ){0,2}new (?:accounts?|"
    r"profiles?|numbers?)|(?:after|each time|every time) (?:each|every|she|he|they)? ?blocks?|"
    r"(?:even )?(?:after|though|if|when) "
    r"(?:she|he|they) (?:has |have )?(?:blocked|blocks?|told|asked|said no|begged)|"
    r"until (?:she|he|they) (?:quits?|leaves?|gives? in|breaks?|cries|answers?|repl(?:y|ies)|"
    r"responds?|unblocks?|deletes?|moves?|snaps?))"
)
_FEAR_GOAL = (  # making a person afraid is the point
    rf"\b(?:so (?:that )?|make |until )(?:she|he|they|you|her|him|them|{_NAMED})"
    r"(?:'s| is| are|'re)? (?:\w+ ){0,2}(?:scared|afraid|terrified|frightened|unsafe|"
    r"paranoid|nervous|regrets?)\b|\bpay (?:her|him|them|you) a (?:little )?visit\b|"
    r"\bteach (?:her|him|them|you) a lesson\b|\bwhat(?:'s| is) coming to (?:her|him|them|you)\b|"
    r"\bruin (?:her|his|their|your) (?:life|career|reputation|marriage)\b|"
    r"\blook(?:ing)? over (?:her|his|their|your) shoulder\b|"
    r"\bmake (?:her|his|their|your|(?:my |the |that |this )?[\w@-]+'s) (?:\w+ )?life "
    r"(?:a )?(?:living )?(?:hell|miserable|unbearable)|\bwe know what (?:you|he|she|they) did\b|"
    r"\b(?:we|i)(?:'re| are|'m| am) (?:always )?watching (?:you|him|her|them)\b|"
    r"\b(?:nobody|no one) would (?:miss|care about|notice) (?:you|her|him|them)\b|"
    r"\b(?:she|he|they|you) (?:should|had better|better) (?:be )?(?:careful|afraid|scared|worried|"
    r"watch (?:her|his|their|your) step)|\bthink twice\b|\bshow(?:ing)? (?:her|his|their|your) "
    r"face\b|\b(?:find|see|notice) (?:her|his|their|your) (?:\w+ )?(?:tires|car|windows?|house|"
    r"pets?|dog|cat) (?:slashed|smashed|broken|burned|gone|missing|dead)|"
    r"\bsomething (?:bad|terrible|awful) (?:might|could|will|would) happen|\baccidents happen\b|"
    r"\bit would be a shame if|\b(?:i|we) know (?:where )?(?:her|his|your|their) (?:new )?(?:car|"
    r"address|house|home|school|schedule|route|kids|children|family|wife|husband)\b|"
    r"\b(?:so|until) (?:that )?(?:she|he|they)(?: \w+){0,3} (?:resigns?|quits?|cries|cry|"
    r"breaks? down|gives? up|moves? (?:away|out)|drops? out|deletes? (?:her|his|their))|"
    r"\bso (?:\w+ )?(?:uncomfortable|unwelcome|miserable|humiliated|ashamed|embarrassed) "
    r"(?:that )?(?:she|he|they)\b|\b(?:make|making|makes) (?:her|him|them|[\w@-]+) (?:feel )?"
    r"(?:so )?(?:uncomfortable|unwelcome|humiliated|worthless|ashamed)\b|"
    r"\bsend\w* (?:\w+ ){0,4}(?:a )?(?:photo|picture|pic)s? of (?:her|his|their) (?:house|home|"
    r"car|kids|children|front door|windows?|workplace)\b|"
    r"\b(?:everyone|the world) would be better (?:off )?without (?:you|her|him|them)\b|"
    r"\bso (?:that )?i can (?:wait (?:for (?:her|him|them) )?outside|follow (?:her|him|them)|"
    r"confront (?:her|him|them)|corner (?:her|him|them)|surprise (?:her|him|them))"
)
_SECRECY = (  # an adult getting a child to keep something from the people who protect it
    r"(?:convinc|persuad|get|make|teach|pressur|trick|manipulat|talk|chat|meet|messag|text|dm|"
    r"contact|befriend|explain\w* to)\w* (?:with )?(?:a |an |the |this |"
    rf"my |our |your )?(?:\w+ ){{0,2}}{_MINOR}{_S}{{0,60}}?(?:secret (?:from|between)|"
    r"(?:our|a) (?:little |special )?secret\b|(?:are|is) (?:a |our )?secret\b|"
    r"(?:parents?|mom|dad|mum) would (?:be )?(?:angry|mad|upset|cross)|"
    r"without (?:their|his|her|the) (?:parents?|mom|"
    r"dad|mum|family|guardians?)(?:'s?)? (?:knowing|finding out|noticing|seeing|knowledge)|"
    r"keep (?:it|this|that|us|what happened) (?:a )?secret|"
    r"(?:not|never) (?:to )?tell (?:anyone|your|his|her|their|mom|dad|mum)|keep quiet|"
    r"touch(?:ing|ed|es)? (?:him|her|them|me|you|each other|between|down there|private)|"
    r"meet (?:me|up|us)(?: \w+)? alone|alone with (?:me|him|an adult)|"
    r"meet (?:me|up) (?:in person|offline|secretly|without))"
)
_HIDDEN_RECORD = (  # hiding one's record, or getting past the check, to be near children
    r"\b(?:hid(?:e|es|ing)|conceal\w*|cover\w* up|get\w* (?:around|past)|bypass\w*|dodg\w*|"
    r"beat(?:s|ing)?|cheat\w*|fool\w*|trick\w*|slip\w* (?:past|through)|without)\b"
    r"[^.!?;\n]{0,50}?\b(?:background checks?|vetting|dbs checks?|my (?:conviction|criminal "
    r"record|record|past|history|charges?|offen[cs]es?))\b"
)
_NEAR_CHILDREN = (  # what that record is kept from: work with children, or their abuse
    r"\b(?:work|be|volunteer|get|stay|hang out|spend time)\w* (?:\w+ ){0,2}(?:with|around|near|"
    r"close to) (?:\w+ ){0,1}(?:kids|children|minors|teens|youth)\b|\babus\w* (?:a |an )?"
    r"(?:child|kid|minor)|\b(?:summer )?camps?\b|\bscouts?\b|\byouth\b"
)
_PICTURES_FOR_GIFTS = (  # paying for pictures: gifts, game money or cash in exchange
    r"\b(?:gift ?cards?|robux|v-?bucks|nitro|money|cash|gifts?|skins|coins|gems|credits|"
    r"\$\d+)\b[^.!?;\n]{0,30}?\b(?:in exchange for|in return for|for) (?:\w+ ){0,2}"
    r"(?:pics|photos|pictures|selfies|nudes|videos)\b"
    r"(?! of (?!(?:themselves|herself|himself|yourself|you|them|her|him)\b))"
)
_ALONE_WITH_CHILDREN = (  # the asker alone with children who are not theirs
    rf"\b(?:gets? me|getting me|leaves? me|left me|i (?:can |could )?(?:be|get|spend time|stay))"
    rf" alone with (?!my |our )(?:\w+ ){{0,2}}{_MINOR}"
)
_TOUCHING_A_CHILD = (  # an adult touching a child of the family
    r"\btouch\w* (?:\w+ ){0,3}(?:daughter|son|niece|nephew|step-?daughter|step-?son|"
    r"granddaughter|grandson|student|pupil|camper)s? (?:inappropriately|sexually|down there|"
    r"under (?:her|his|their) clothes)"
)
_SEEKING_PARTNER = (  # looking for a partner, said of a child
    r"\b(?:seek\w*|looking for|wants?|find\w*|meet\w*)\b[^.!?;\n]{0,30}?\b(?:companions?|"
    r"girlfriends?|boyfriends?|lovers?|hookups?|sugar bab\w*|personals?)\b"
)
_ROMANCE = (
    r"(?:romanc\w*|romantic|dat(?:e|es|ed|ing)|kiss\w*|relationship|in love|girlfriend|"
    r"boyfriend|marr\w*|love (?:letters?|notes?|poems?)|crush\w*)\b"
)
_ADULT = (  # an adult, said outright
    r"\b(?:grown(?:[- ]up)?|adult|older|middle-aged|(?:[2-9]\d)[- ]?(?:year|yr)s?[- ]?old) "
    r"(?:man|woman|men|women|guy|male|female|teacher|coach|neighbou?r|stranger)\b|\badults?\b"
)

# --- words that can name a protected group (the hate rules run only where one occurs) ----------
_GROUP_WORDS = frozenset((
    "women", "woman", "female", "females", "girl", "girls", "men", "male", "males", "jew", "jews",
    "gay", "gays", "queer", "trans", "transgender", "deaf", "blind", "black", "white", "brown",
    "older", "old", "native", "foreign", "foreigners", "roma", "turk", "turks", "turkish",
    "polish", "iran", "iranian", "iranians", "iraq", "iraqi", "iraqis", "cuba", "cuban", "cubans",
    "india", "china", "japan", "japanese", "lgbt", "lgbtq", "hbcu", "hbcus", "race", "gender",
    "sex", "orientation", "birthplace", "interracial", "mothers", "mother", "moms", "mums",
    "young", "younger", "accent", "accents", "spanish", "hindi", "urdu", "mandarin", "hebrew",
    "mohammed", "muhammad", "mohamed", "ahmed", "fatima", "aisha", "jamal", "deshawn", "tyrone",
    "lakisha", "jose", "juan", "nguyen", "singh", "patel", "cohen", "goldberg", "levy", "kurd",
    "kurds", "kurdish", "sikh", "sikhs", "hindu", "hindus", "asia", "skin", "countries",
))
_GROUP_STEMS = (
    "immigr", "migrant", "refugee", "muslim", "islam", "christian", "catholic", "buddhis",
    "mormon", "atheist", "hispanic", "latin", "homosex", "lesbian", "bisexual", "disab",
    "autis", "pregnan", "indigen", "aborig", "nationalit", "religio", "ethnic", "neurodiv",
    "wheelchair", "headscar", "synagog", "gurdwara", "hijab", "turban", "yarmulke", "kippah",
    "niqab", "burqa", "mosque", "temple", "church", "boomer", "elderly", "gyps", "nigeria",
    "pakistan", "somali", "syria", "afghan", "palestin", "haiti", "filipin", "vietnam", "korea",
    "romania", "ukrain", "russia", "israel", "leban", "yemen", "albania", "jamaica", "colombia",
    "venezuel", "guatemal", "hondur", "brazil", "egypt", "morocc", "algeria", "ethiop",
    "eritre", "sudan", "ghana", "bangla", "kenya", "nepal", "lanka", "libya", "mexic", "chines",
    "indian", "africa", "arab", "asian", "jewish", "citizen", "marital", "sexual", "arabic",
    "foreign", "dalit", "adivasi", "caste", "travell",
)
_GROUP_PHRASES = (
    "over 4", "over 5", "over 6", "older than", "age >", "age>", "age over", "age above",
    "born in", "middle east", "same-sex", "student union", "native lang", "mother tongue",
    "browser lang", "first lang", "because they", "because she", "because he", "since they",
    "since she", "since he", "sounding", "country_of", "country of origin", "country of birth",
    "broken english", "english as a second", "under 3", "under 4", "younger than",
    " with down", " with autism", " with a disab", " with disab", " with dwarfism",
    " with cerebral", " with schizo", " with a mental", " with mental",
)

# Disabled people named by their condition, for the dehumanising rule: "jokes about people with
# down syndrome being subhuman" (not a group the decision rules look for: "check the model is
# not less accurate for students with disabilities" is a fairness check).
_DISABLED_PEOPLE = (
    r"(?:people|kids|children|adults|folks|those|anyone|applicants|employees|users|students) "
    r"with (?:down'?s? syndrome|autism|a disability|disabilities|dwarfism|cerebral palsy|"
    r"schizophrenia|a mental illness|mental illness(?:es)?)\b"
)
# Slurs asked for, for a group: "give me slurs for indians i can spam". A list for a filter,
# a blocklist or moderation says so in the sentence and passes.
_SLURS_FOR_GROUP = (
    r"\b(?:give|list|write|generate|tell|send|make|need|want|find|suggest|teach|come up with|"
    r"brainstorm|compile|collect)\w* (?:me |us )?(?:[\w-]+ ){0,4}?(?:slurs?|epithets?|"
    r"derogatory (?:names?|terms?|words?)|racist (?:names?|terms?|nicknames?|insults?)|"
    r"(?:nasty|mean|offensive) (?:names?|nicknames?))\b[^.!?;\n]{0,20}?\b(?:for|about|against|"
    r"to call|to use on|targeting|aimed at) (?:\w+ ){0,2}"
)
_SLURS_FOR_A_FILTER = (
    r"\b(?:moderat\w*|filter\w*|blocklist\w*|denylist\w*|block\w*|mask\w*|censor\w*|redact\w*|"
    r"detect\w*|classif\w*|flag\w*|remov\w*|ban\w*|report\w*|catch\w*)\b"
)
# A rumour started about a person: "a believable rumour about the new girl that i can start".
_RUMOUR = (
    r"\b(?:start\w*|spread\w*|mak\w* up|invent\w*|seed\w*|plant\w*|leak\w*) "
    r"(?:a |an |the |some )?(?:[\w-]+ ){0,2}rumou?rs?\b|\brumou?rs? (?:about|that) "
    r"[^.!?;\n]{0,80}?\b(?:i|we) (?:can|could|will|want to|wanna) (?:start|spread|post|share|"
    r"leak|plant)\b"
)
# Many voices faked against one person: "complaint emails ... in different writing styles so it
# looks like lots of parents".
_MANY_VOICES = (
    r"\bso (?:that )?it (?:looks|seems|appears|reads) like (?:it'?s )?(?:lots of|many|a lot of|"
    r"dozens of|hundreds of|several|different|multiple|a bunch of|loads of) (?:different )?"
    r"(?:parents|people|users|customers|students|employees|staff|neighbou?rs|residents|accounts|"
    r"reviewers|voters|members|colleagues|coworkers)\b"
)
# Turning up where a person is, after tracking them: "so i can just happen to turn up".
_TURN_UP = (
    r"\bso (?:that )?(?:i|we) (?:can|could) (?:just |casually |accidentally )?(?:happen to )?"
    r"(?:turn up|show up|bump into (?:her|him|them)|run into (?:her|him|them)|be there)\b"
)
# An adult who gets children to contact them: "a dating profile that gets 14 and 15 year olds to
# message me".
_CHILDREN_TO_CONTACT_ME = (
    r"\b(?:1[0-7]|[5-9])(?:[- ](?:and|or|to) (?:1[0-7]|[5-9]))?[- ]?(?:year[- ]olds?|yos?|y/o)\b"
    r"[^.!?;\n]{0,20}?\bto (?:message|dm|text|contact|call|snap|meet|add|follow|message back) "
    r"(?:me|us)\b"
)
