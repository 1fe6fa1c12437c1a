"""Whether each word of a text is affirmed, negated or left open: NegEx/ConText scope, plus questions and answers.

A note writes "denies chest pain"; a visit says "any chest pain?" and the patient answers "no". Both must read
as *chest pain: negated*. ``text_polarities`` applies NegEx-style triggers before what they deny ("no", "denies",
"negative for", "without", "free of", "absence of", ...) with a scope that runs to a terminator ("but",
"however", "except", "other than", "which", a verb of being) or the end of the clause (commas do not end it, so
"denies fever, chills or nausea" negates all three), and triggers after it ("... is negative", "... were denied",
"... not observed", "Fever: no.", "pain-free"); pseudo-triggers ("no change", "not only", "gram negative") deny
nothing. ``transcript_polarities`` adds the turns: a question answered "no" ("nope", "not really", "uh-uh")
negates what it asked about, "yes" ("yeah", "a little", "uh huh") affirms it, "not sure" and a question left
unanswered leave it open; an answer that takes up some findings of a list ("any chest pain, shortness of breath
or belly pain?" — "shortness of breath") leaves the others denied, as does "everything else has been fine".
Conditional and uncertain wording ("if", "call if", "watch for", "possible") leaves a word open; a hedge on an
amount ("probably for a few months") only the amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from notes.faithfulness.findings import is_clinical
from notes.faithfulness.text import STOPWORDS, Token


class Polarity(StrEnum):
    AFFIRMED = "affirmed"
    NEGATED = "negated"
    OPEN = "open"  # asked but not answered, conditional, or uncertain


_PRE_NEGATION = (
    ("no",),
    ("not",),
    ("n't",),
    ("never",),
    ("without",),
    ("denies",),
    ("denied",),
    ("deny",),
    ("denying",),
    ("negative", "for"),
    ("negative",),
    ("free", "of"),
    ("absence", "of"),
    ("none",),
    ("nothing",),
    ("nor",),
    ("neither",),
    ("no", "evidence", "of"),
    ("no", "signs", "of"),
    ("ruled", "out"),
    ("rules", "out"),
    ("resolution", "of"),
    ("no", "sign", "of"),
    ("no", "complaints", "of"),
    ("fails", "to", "reveal"),
    ("failed", "to", "reveal"),
    ("not", "demonstrate"),
    ("not", "exhibit"),
    # "i can't recall falling on it", "i don't remember an injury": nothing of the kind the speaker knows of
    ("ca", "n't", "recall"),
    ("ca", "n't", "remember"),
    ("n't", "recall"),
    ("n't", "remember"),
    ("not", "recall"),
    ("not", "remember"),
)
_POST_NEGATION = frozenset({"negative", "absent", "denied", "none"})
_NOT_FOUND = frozenset(
    {
        *("identified", "seen", "present", "appreciated", "noted", "detected", "found", "elicited", "observed"),
        *("reported", "visualized", "palpable", "palpated", "heard", "demonstrated"),
    }
)
_PSEUDO = (
    ("not", "only"),
    ("not", "just"),
    ("no", "increase"),
    ("no", "further"),
    ("no", "change"),
    ("no", "changes"),
    ("no", "significant", "change"),
    ("no", "interval", "change"),
    ("not", "extend"),
    ("not", "cause"),
    ("not", "drain"),
    ("not", "necessarily"),
    ("not", "sure"),
    ("not", "certain"),
    ("no", "problem"),
    ("no", "problems", "with"),
    ("no", "worries"),
    ("not", "bad"),
    ("not", "too", "bad"),
    ("not", "that", "bad"),
    ("no", "doubt"),
    ("gram", "negative"),
    ("not", "been", "able"),
    ("n't", "been", "able"),
    ("not", "able"),
    ("n't", "able"),
    ("unable",),
    ("ca", "n't"),
    ("can", "n't"),
    ("cannot",),
    ("could", "n't"),
    ("wo", "n't", "help"),
    ("no", "matter"),
    ("not", "help"),
    ("n't", "help"),
    ("n't", "know"),
    ("not", "know"),
    ("not", "improved"),
    ("n't", "improved"),
    ("not", "improving"),
    ("n't", "improving"),
    ("not", "better"),
    ("n't", "better"),
    ("not", "going", "away"),
    ("n't", "going", "away"),
    ("not", "getting", "better"),
    ("n't", "getting", "better"),
    ("not", "resolved"),
    ("n't", "resolved"),
    ("not", "helped"),
    ("n't", "helped"),
    ("n't", "helping"),
    ("not", "helping"),
    ("no", "relief"),
    ("not", "limited"),
    ("but", "not", "limited"),
    ("nothing", "out", "of", "the", "ordinary"),
    ("not", "relieved"),
    ("not", "relieve"),
    ("n't", "relieve"),
    ("not", "improve"),
    ("n't", "improve"),
    ("n't", "relieved"),
)
_UNCERTAIN = (
    ("if",),
    ("unless",),
    ("in", "case"),
    ("watch", "for"),
    ("monitor", "for"),
    ("look", "out", "for"),
    ("rule", "out"),
    ("possible",),
    ("possibly",),
    ("probable",),
    ("probably",),
    ("maybe",),
    ("might",),
    ("could", "be"),
    ("concern", "for"),
    ("concerned", "about"),
    ("risk", "of"),
    ("risks", "of"),
    ("to", "prevent"),
    ("prevent",),
    ("avoid",),
    ("side", "effects"),
    ("differential",),
    ("versus",),
    ("vs",),
    ("whether",),
    ("wondering",),
    ("worried",),
    ("n't", "think"),
    ("not", "think"),
    ("don't", "think"),
    ("do", "not", "think"),
    ("n't", "believe"),
    ("not", "believe"),
    ("do", "not", "believe"),
    ("don't", "believe"),
    ("unlikely",),
    ("wish",),
    ("hope",),
    ("hoping",),
    ("want", "to"),
    ("would", "like"),
    ("trying", "to"),
    ("goal",),
    ("risk",),
    ("risks",),
    ("resolved",),
)
_TERMINATIONS = frozenset(
    {
        "but",
        "however",
        "although",
        "though",
        "except",
        "exception",
        "besides",
        "aside",
        "apart",
        "which",
        "who",
        "whereas",
        "yet",
        "still",
        "because",
        "reports",
        "reported",
        "endorses",
        "endorsed",
        "complains",
        "admits",
        "states",
        "notes",
        "presents",
        "positive",
        "otherwise",
        "then",
        "so",
        "okay",
        "alright",
    }
)
_PUNCT_END = frozenset({".", "?", "!", ";", ":"})
# Hedges said of an amount or a time ("probably about an hour"), and the words such an amount starts and ends with.
_HEDGES = frozenset({"probably", "maybe", "possibly"})
_AMOUNT_STARTS = frozenset(
    {
        *("for", "about", "around", "since", "over", "approximately", "roughly", "almost", "nearly", "until"),
        *("once", "twice", "every", "like", "half", "last", "two", "three"),
        *("four", "five", "six", "seven", "eight", "nine", "ten", "one", "few", "couple", "several"),
        *(str(number) for number in range(100)),
    }
)


def _amount_follows(words: Sequence[str], start: int) -> bool:
    """Whether an amount or a time starts here: "for a few months", "about an hour", "a couple of weeks"."""
    if start >= len(words):
        return False
    if words[start] in ("a", "an"):
        return start + 1 < len(words) and words[start + 1] in _TIME_UNITS | {"few", "couple", "half", "while"}
    return words[start] in _AMOUNT_STARTS


_AMOUNT_ENDS = frozenset({".", "?", "!", ";", ":", ",", "with", "and", "but", "or", "because", "when"})
_TIME_UNITS = frozenset(
    {
        *("second", "seconds", "minute", "minutes", "hour", "hours", "day", "days", "week", "weeks", "month"),
        *("months", "year", "years", "ago", "now", "night", "time", "times", "morning", "weekend"),
    }
)
_BE = frozenset({"is", "are", "was", "were"})
_SUBJECTS = frozenset({"she", "he", "i", "you", "they", "we", "it", "patient", "there", "that", "this", "my", "your"})
_PERSONS = frozenset(
    {
        "she",
        "he",
        "i",
        "you",
        "they",
        "we",
        "my",
        "your",
        "i'm",
        "you're",
        "she's",
        "he's",
        "there",
        "it's",
        "that's",
        "i've",
        "i'd",
        "you've",
        "we've",
        "they've",
    }
)
_POSSESSIVES = frozenset({"my", "your"})
_NEW_SPEAKER_SUBJECTS = _PERSONS - _POSSESSIVES
_SELF_NEGATING = frozenset({"afebrile", "nontender", "asymptomatic"})
_CLAUSE_SUBJECTS = frozenset({"he", "she", "they", "i", "we"})
# A written list runs long ("denies fever, chills, nausea, vomiting, ..."); speech has no commas to end a clause,
# so a spoken scope is short and stops at a new subject.
_MAX_SCOPE_WRITTEN = 30
_MAX_SCOPE_SPOKEN = 8

_YES = frozenset(
    {
        "yes",
        "yeah",
        "yep",
        "yup",
        "yea",
        "correct",
        "definitely",
        "absolutely",
        "sometimes",
        "occasionally",
        "uh-huh",
        "mhm",
        "mm-hmm",
        "affirmative",
        "certainly",
        "sure",
    }
)
_NO = frozenset({"no", "nope", "nah", "never", "none", "nothing", "negative", "not"})
_QUESTION_CUES = (
    ("any",),
    ("anything",),
    ("did", "you"),
    ("do", "you"),
    ("have", "you"),
    ("are", "you"),
    ("were", "you"),
    ("is", "there"),
    ("was", "there"),
    ("are", "there"),
    ("does",),
    ("is", "it"),
    ("how", "about"),
    ("what", "about"),
    ("ever",),
    ("has", "there"),
    ("you", "have"),
    ("you", "having"),
    ("you", "had"),
    ("you've",),
    ("you're",),
    ("you", "been"),
)


PhraseTable = dict[str, tuple[tuple[str, ...], ...]]


def _table(phrases: Sequence[tuple[str, ...]]) -> PhraseTable:
    """Phrases by their first word, longest first, so a look-up costs one dict access per token."""
    table: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        table.setdefault(phrase[0], []).append(phrase)
    return {word: tuple(sorted(group, key=len, reverse=True)) for word, group in table.items()}


def _longest(words: Sequence[str], index: int, table: PhraseTable) -> int:
    for phrase in table.get(words[index], ()):
        if tuple(words[index : index + len(phrase)]) == phrase:
            return len(phrase)
    return 0


_PRE_NEGATION_TABLE = _table(_PRE_NEGATION)
_PSEUDO_TABLE = _table(_PSEUDO)
_UNCERTAIN_TABLE = _table(_UNCERTAIN)
_QUESTION_CUE_TABLE = _table(_QUESTION_CUES)
# Cues that also start statements: "you had a heart attack in 2018", "you've been having some trouble swallowing".
# Without a question mark they ask only when a yes or a no answers them.
_WEAK_CUES = frozenset({("you", "have"), ("you", "having"), ("you", "had"), ("you've",), ("you're",), ("you", "been")})
_STRONG_CUE_TABLE = _table([cue for cue in _QUESTION_CUES if cue not in _WEAK_CUES])


# Words that can begin a pseudo-negation, an uncertainty or a negation: every other word is skipped at once.
_TRIGGER_STARTS = frozenset(_PSEUDO_TABLE) | frozenset(_UNCERTAIN_TABLE) | frozenset(_PRE_NEGATION_TABLE)
# Words that tie a denial to a known event ("at the time of the injury", "since the surgery", "after the fall").
_TIME_ANCHORS = frozenset({"at", "after", "since", "following", "prior"})


# Words that end a scope at once, and those that may, depending on the words around them.
_SCOPE_ENDS = _PUNCT_END | _TERMINATIONS
_SCOPE_CHECKS = (
    frozenset({"other", "associated", "some", "and", ",", "as", "just", "only", "or"})
    | _TIME_ANCHORS
    | _BE
    | (_CLAUSE_SUBJECTS | _NEW_SPEAKER_SUBJECTS)
)
_ANSWER_NO = frozenset({"no", "nope", "nah"})
_AFTER_ANSWER_NO = frozenset({",", "."}) | _SUBJECTS | _PERSONS | {"no", "not", "nothing", "i'll"}
# Words that deny what comes before them, or themselves.
_SELF_OR_NON = _SELF_NEGATING | {"non"}
_AFTER_COLON = frozenset({"no", "denies", "denied", "not", "never"})
_AFTER_WORDS = _POST_NEGATION | _SELF_NEGATING | _AFTER_COLON | {"not", "n't", "non", "ruled", "free"}
_AFTER_NOT_FOUND = _PUNCT_END | {",", "and", "but", "on", "in", "at", "during", "today", "bilaterally", "throughout"}
_STATED = frozenset({"is", "was", "were", "are", "be", "been", "came", "comes"})
_AFTER_POST_NEGATION = _PUNCT_END | _SUBJECTS | _TERMINATIONS | {",", "and", "but", "on", "bilaterally"}


def _anchors_time(words: Sequence[str], index: int) -> bool:
    """Whether an event the speaker takes as given follows: "at the time of the ...", "after the ...",
    "since the ...", "prior to the ..."."""
    word = words[index]
    following = tuple(words[index + 1 : index + 4])
    if word == "at":
        return following == ("the", "time", "of")
    if word == "prior":
        return following[:2] == ("to", "the")
    return following[:1] == ("the",)


def _split_negation(word: str) -> bool:
    return word.endswith("n't") and word != "n't"


def text_polarities(
    tokens: Sequence[Token], *, spoken: bool = False, words: Sequence[str] | None = None
) -> list[Polarity]:
    """The polarity of every token of one text (a note statement, or one turn of a visit); ``words``, when given,
    are the tokens' texts."""
    if words is None:
        words = [token.text for token in tokens]
    polarities = [Polarity.AFFIRMED] * len(words)
    # Only the words that can start a trigger are looked at: most of a text is read once, by the comprehension.
    triggers = [i for i, word in enumerate(words) if word in _TRIGGER_STARTS or ("'" in word and word.endswith("n't"))]
    if triggers:
        _pre_scopes(tokens, words, polarities, triggers, spoken)
    if not _AFTER_WORDS.isdisjoint(words):
        _post_negations(tokens, words, polarities)
    return polarities


def _pre_scopes(
    tokens: Sequence[Token], words: Sequence[str], polarities: list[Polarity], triggers: list[int], spoken: bool
) -> None:
    """Negation and uncertainty triggers, each with the scope that follows it."""
    count = len(words)
    index = 0
    for candidate in triggers:
        if candidate < index:
            continue
        index = candidate
        word = words[index]
        negation = (_longest(words, index, _PRE_NEGATION_TABLE) if word in _PRE_NEGATION_TABLE else 0) or (
            1 if _split_negation(word) else 0
        )
        pseudo = _longest(words, index, _PSEUDO_TABLE) if word in _PSEUDO_TABLE else 0
        if pseudo >= negation and pseudo and not any(is_clinical(tokens[i].stem) for i in range(index, index + pseudo)):
            index += pseudo  # "no change in her pain"; but "no changes in your vision" denies a finding
            continue
        uncertain = _longest(words, index, _UNCERTAIN_TABLE) if word in _UNCERTAIN_TABLE else 0
        if spoken and index == 0 and word in _ANSWER_NO and (count == 1 or words[1] in _AFTER_ANSWER_NO):
            negation = 0  # an answer ("no, not that i've noticed"), resolved with its question
        if not (uncertain or negation):
            index += 1
            continue
        mark = Polarity.NEGATED if negation >= uncertain and negation else Polarity.OPEN
        start = index + max(negation, uncertain)
        if start < count and words[start] == ":" and mark is Polarity.NEGATED:
            start += 1  # "Denies: fever, chills", "Negative for: ..."
        if mark is Polarity.OPEN and word in _HEDGES and _amount_follows(words, start):
            # "probably for a few months now with pain", "maybe two weeks ago": the hedge is about how long or
            # how much, up to the end of that amount, not about the pain
            end = start
            while end < count and end - start < 6 and words[end] not in _AMOUNT_ENDS:
                end += 1
                if words[end - 1] in _TIME_UNITS:
                    break
            for position in range(start, end):
                if polarities[position] is Polarity.AFFIRMED:
                    polarities[position] = mark
            index = end
            continue
        end = start
        limit = _MAX_SCOPE_SPOKEN if spoken else _MAX_SCOPE_WRITTEN
        if mark is Polarity.OPEN and spoken:
            limit += 4
        negated = mark is Polarity.NEGATED
        stop = min(start + min(limit, _MAX_SCOPE_WRITTEN), count)  # moved on when a spoken list grows the limit
        while end < stop:
            current = words[end]
            skip = _longest(words, end, _PSEUDO_TABLE) if current in _PSEUDO_TABLE else 0
            if skip and not negated:
                end += skip
                continue
            if current in _SCOPE_ENDS:
                break
            if current in _SCOPE_CHECKS:
                following = words[end + 1] if end + 1 < count else ""
                if current == "other" and following == "than":
                    break  # "no complaints other than fatigue"
                if negated and end > start and current in _BE:
                    break  # "denies that the pain is worse": the denial is of the pain, not of what is said of it
                if current == "associated" and following == "with":
                    break  # "no numbness associated with her pain"
                if negated and current == "some" and end > start:
                    break  # "no fever, some chills"; but "denies some nausea" denies the nausea
                if current in ("and", ",") and following in _SUBJECTS:
                    break
                if not spoken and end - start >= 2 and current in _CLAUSE_SUBJECTS:
                    break  # "could not walk as he was forced to stand there": a new clause
                if current == "as" and words[end - 1] not in ("such", "well") and following != "well":
                    break  # "no pain as long as ..." ends; "no symptoms such as fever", "... as well as" do not
                if current in ("just", "only") and end > start:
                    break  # "no weakness, just the numbing"
                if negated and end > start and _anchors_time(words, end):
                    break  # "denies a pop at the time of the injury": the injury is taken as given
                if spoken and negated and end - start >= 2 and current in _NEW_SPEAKER_SUBJECTS:
                    break  # a new subject starts a new clause; "my" in "no pain in my knee" does not
                if spoken and current in (",", "or"):
                    limit += 4  # a spoken list: "not had any weight loss or gain, headaches, bone pain, ..."
                    stop = min(start + min(limit, _MAX_SCOPE_WRITTEN), count)
            if skip and negated:
                break
            end += 1
        for position in range(start, end):
            if polarities[position] is Polarity.AFFIRMED:
                polarities[position] = mark
        index = start


def _post_negations(tokens: Sequence[Token], words: Sequence[str], polarities: list[Polarity]) -> None:
    """Words that deny by themselves, and denials said after what they deny."""
    count = len(words)
    # Words that deny by themselves: "afebrile", "nontender", "non-tender".
    for index in [] if _SELF_OR_NON.isdisjoint(words) else range(count):
        word = words[index]
        if word in _SELF_NEGATING or (word == "non" and index + 1 < count):
            last = index if word != "non" else index + 1 + (words[index + 1] == "-")
            for target in range(index, min(last + 1, count)):
                if polarities[target] is Polarity.AFFIRMED:
                    polarities[target] = Polarity.NEGATED
    # "X: negative", "McMurray's test was negative", "chills: none", "satellitosis: not identified": negate back
    # to the clause's start.
    for index in [i for i, word in enumerate(words) if word in _AFTER_WORDS]:
        word = words[index]
        if word in ("not", "n't") and index + 1 < count and words[index + 1] in _NOT_FOUND:
            follows = words[index + 2] if index + 2 < count else "."
            if follows in _AFTER_NOT_FOUND:
                _negate_back(words, polarities, index)
        if word in _POST_NEGATION and index > 0:
            follows = words[index + 1] if index + 1 < count else "."
            stated = words[index - 1] in _STATED
            if not stated and follows not in _AFTER_POST_NEGATION:
                continue  # "the test is negative just checking": said of the test, whatever follows
            _negate_back(words, polarities, index)
        if word in _AFTER_COLON and index > 1 and words[index - 1] == ":":
            follows = words[index + 1] if index + 1 < count else "."
            if follows in _AFTER_NOT_FOUND:
                _negate_back(words, polarities, index)  # "Fever: no.", "Chest pain: denies."
        if word == "ruled" and words[index + 1 : index + 2] == ["out"] and index > 0 and words[index - 1] in _BE:
            _negate_back(words, polarities, index - 1)  # "a fracture was ruled out"
        if word == "free" and index > 0 and words[index + 1 : index + 2] != ["of"]:
            # "pain-free", "symptom free": the word before is denied
            before = index - 1 - (words[index - 1] == "-")
            if before >= 0 and tokens[before].is_word and words[before] not in _BE:
                polarities[before] = Polarity.NEGATED


_BACK_ENDS = _PUNCT_END | {"but"}


def _negate_back(words: Sequence[str], polarities: list[Polarity], index: int) -> None:
    """Negate the clause before a post-negation; "Satellitosis: not identified" reaches across its colon."""
    position = index - 1
    if position >= 0 and words[position] == ":":
        position -= 1
    while position >= 0 and index - position <= 8 and words[position] not in _BACK_ENDS:
        if polarities[position] is Polarity.AFFIRMED:
            polarities[position] = Polarity.NEGATED
        position -= 1


@dataclass(frozen=True, slots=True)
class TurnPolarity:
    polarities: list[Polarity]
    # for each token, the other turn that settled it (the answer to a question), or None
    answered_by: list[int | None]
    # positions asked about as already there ("how is your heartburn doing?"): open, but not only asked
    presumed: set[int] = field(default_factory=set)


def answer_kind(tokens: Sequence[Token]) -> Polarity | None:
    """Whether a turn begins with yes or no; None when it is not a yes/no answer."""
    raw = [token.text for token in tokens[:4]]
    if raw[:3] in (["uh", "-", "uh"], ["mm", "-", "mm"], ["nuh", "-", "uh"], ["uh", "-", "uhh"]):
        return Polarity.NEGATED  # "uh-uh", "mm-mm"
    if raw[:3] in (["uh", "-", "huh"], ["mm", "-", "hmm"], ["mhm"], ["uh", "-", "hmm"]) or tuple(raw[:2]) in (
        ("uh", "huh"),
        ("mm", "hmm"),
        ("mm", "hm"),
        ("uh", "hmm"),
    ):
        return Polarity.AFFIRMED
    words: list[str] = []  # the first words, fillers aside: enough to tell
    for token in tokens:
        if token.text not in _ANSWER_SKIPPED:
            words.append(token.text)
            if len(words) == 6:
                break
    if not words:
        return None
    first = words[0]
    second = words[1] if len(words) > 1 else ""
    if first in ("mm", "uh", "mhm") and second in ("hmm", "huh"):
        return Polarity.AFFIRMED
    if _unsure(words):
        return None  # "not sure", "i don't know", "i don't remember": neither
    if first in _YES and second in ("not", "no", "never"):
        return Polarity.NEGATED  # "definitely not", "absolutely not", "sure not"
    if first in _YES:
        return Polarity.AFFIRMED
    if (first == "that's" and second in ("right", "correct", "true")) or (first, second) == ("of", "course"):
        return Polarity.AFFIRMED
    if first == "right" and second in ("", ".", "yeah", "yes", ","):
        return Polarity.AFFIRMED  # "right." agrees; "right knee" answers which
    if second in ("when", "if", "after") and first in ("only", "just", "mostly", "especially", "usually"):
        return Polarity.AFFIRMED  # "only when i walk", "just when i can't breathe at night"
    if first in _NO or (first == "not" and second == "really") or _split_negation(first):
        return Polarity.NEGATED  # "no", "not really", "don't think so", "haven't noticed"
    if first == "i" and second == "think" and words[2:3] == ["so"]:
        return Polarity.AFFIRMED
    if first == "i" and second in ("get", "got", "notice", "noticed", "feel", "felt"):
        third = words[2] if len(words) > 2 else ""
        return None if third in ("fine", "good", "great", "okay", "better") else Polarity.AFFIRMED
    if first in ("kind", "kinda", "somewhat", "slightly", "rarely", "usually", "often", "mostly"):
        return Polarity.AFFIRMED
    if tuple(words[:3]) in _NOW_AND_THEN or tuple(words[:2]) in _NOW_AND_THEN:
        return Polarity.AFFIRMED  # "every once in a while", "off and on", "now and then"
    if first == "i" and second in ("do", "have", "did", "am", "was", "had"):
        third = words[2] if len(words) > 2 else ""
        return Polarity.NEGATED if third in ("n't", "not", "never") else Polarity.AFFIRMED
    if first == "i" and _split_negation(second):
        return Polarity.NEGATED
    if first in ("it", "they", "that") and second in ("does", "is", "do", "are", "has", "was"):
        third = words[2] if len(words) > 2 else ""
        return Polarity.NEGATED if third in ("n't", "not") else Polarity.AFFIRMED
    if (first in ("a", "some") and second in ("little", "bit", "lot")) or first == "some":
        return Polarity.AFFIRMED
    return None


_NOW_AND_THEN = frozenset(
    {
        ("once", "in"),
        ("every", "once", "in"),
        ("every", "now", "and"),
        ("every", "so", "often"),
        ("now", "and", "then"),
        ("off", "and", "on"),
        ("on", "and", "off"),
        ("from", "time", "to"),
        ("once", "or", "twice"),
        ("a", "couple", "of"),
        ("a", "few", "times"),
    }
)
# Answers that say neither yes nor no: "not sure", "i don't know", "i don't remember".
_UNSURE = frozenset(
    {
        ("not", "sure"),
        ("not", "certain"),
        ("no", "idea"),
        ("i", "do", "n't", "know"),
        ("i", "do", "n't", "remember"),
        ("i", "do", "n't", "recall"),
        ("i", "ca", "n't", "remember"),
        ("i", "ca", "n't", "recall"),
        ("i", "ca", "n't", "say"),
        ("i", "'m", "not", "sure"),
        ("i'm", "not", "sure"),
        ("i", "am", "not", "sure"),
        ("i", "guess", "not", "sure"),
    }
)
_UNSURE_STARTS = frozenset(phrase[0] for phrase in _UNSURE)


def _unsure(words: Sequence[str]) -> bool:
    if not words or words[0] not in _UNSURE_STARTS:
        return False
    split: list[str] = []
    for word in words[:5]:
        if _split_negation(word):
            split.extend((word[:-3], "n't"))  # "don't" as "do n't"
        else:
            split.append(word)
    return any(tuple(split[: len(phrase)]) == phrase for phrase in _UNSURE if phrase[0] == split[0])


_ANSWER_SKIPPED = frozenset({",", ".", "-", "uh", "um", "oh", "well", "hmm", "hm", "umm", "uhh", "ah", "er"})
_TAGS = frozenset({"okay", "ok", "right", "alright", "yeah", "correct", "good", "huh", "yes", "fair"})
_QUESTION_WINDOW = 30
_TAGS_OR_COMMA = _TAGS | {","}
_TAGS_OR_END = _TAGS | _PUNCT_END


def _is_question(words: Sequence[str], start: int, end: int) -> tuple[bool, int]:
    """Whether a sentence asks something, and where its body ends (before "?" and any "okay" tag)."""
    body_end = end - 1 if end > start and words[end - 1] in _PUNCT_END else end
    marked = end > start and words[end - 1] == "?"
    tagged = False
    while body_end > start and words[body_end - 1] in _TAGS_OR_COMMA:
        body_end -= 1  # "..., okay?" asks for agreement, not about what came before
        tagged = True
    if not marked:
        return False, body_end
    if not tagged and _few_words(words[start:body_end], 12):
        return True, body_end  # "specifically feeling sick, fever, rashes, neck stiffness, numbness, passing out?"
    asked = any(words[i] in _QUESTION_CUE_TABLE and _asks(words, i) for i in range(start, body_end))
    return asked, body_end


def _question_span(words: Sequence[str], spans: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """The tokens of a turn (its words and sentences) that ask the question its answer replies to, or None when
    it asks nothing.

    A run of questions at the end of a turn ("any fatigue? weight gain? anything like that?") is one question.
    Unpunctuated speech has no "?", so there the question runs from its first cue near the end of the turn.
    """
    if not spans:
        return None
    if (
        len(spans) > 1
        and spans[-1][1] - spans[-1][0] <= 2
        and all(w in _TAGS_OR_END for w in words[spans[-1][0] : spans[-1][1]])
    ):
        spans = spans[:-1]  # a closing "okay?"
    start, end = spans[-1]
    asked, body_end = _is_question(words, start, end)
    if asked:
        first = start
        for earlier_start, earlier_end in reversed(spans[:-1]):
            earlier, earlier_body = _is_question(words, earlier_start, earlier_end)
            if not earlier or first - earlier_start > _QUESTION_WINDOW:
                break
            if _presupposes(words, earlier_start, earlier_body):
                break  # "which knee hurts? does it hurt at night?" — a "no" answers the second only
            first = earlier_start
        return (first, body_end)
    if words[end - 1] in _PUNCT_END:
        return None
    if len(spans) == 1 and _few_words(words, 6):
        return (start, end)  # "[doctor] shortness of breath" — "[patient] no": a question by naming
    # The last question asked is the one answered ("any nausea or vomiting ... are you peeing a lot" — "yeah");
    # "or anything like that" only closes the question before it.
    cues = [
        i
        for i in range(max(start, body_end - _QUESTION_WINDOW), body_end)
        if words[i] in _QUESTION_CUE_TABLE and _asks(words, i) and not _closes_question(words, i)
    ]
    return (cues[-1], body_end) if cues else None


def _few_words(words: Sequence[str], most: int) -> bool:
    """Whether at most ``most`` of ``words`` are words (not digits nor punctuation)."""
    if len(words) <= most:
        return True
    count = 0
    for word in words:
        if word[:1].isalpha():
            count += 1
            if count > most:
                return False
    return True


def _asks(words: Sequence[str], index: int, *, strong: bool = False) -> bool:
    """Whether a question word starts a question here: "does it hurt", not "it does n't hurt", and not the "any"
    of a denial ("i have n't had any fevers"). ``strong``: only the cues that never start a statement."""
    length = _longest(words, index, _STRONG_CUE_TABLE if strong else _QUESTION_CUE_TABLE)
    if not length:
        return False
    following = words[index + length] if index + length < len(words) else ""
    if words[index].startswith("any") and not _asks_with_any(words, index):
        return False
    return following not in ("n't", "not") and not words[index].endswith("n't")


def _asks_with_any(words: Sequence[str], index: int) -> bool:
    """Whether an "any" asks ("and any fever", "some other symptoms any joint pain"), and not in a denial ("i have
    n't had any fevers", "no fractures or any misalignment") nor in what a speaker says of themselves ("when i
    put any pressure on it")."""
    before = words[max(index - 8, 0) : index]
    if any(word in _DENIAL_WORDS or _split_negation(word) for word in before):
        return False
    return not any(word in ("i", "i'm", "i've", "i'd") for word in words[max(index - 3, 0) : index])


_DENIAL_WORDS = frozenset({"no", "not", "n't", "never", "without", "denies", "denied", "deny"})


def _closes_question(words: Sequence[str], index: int) -> bool:
    """ "or anything like that", "anything else": the end of a question, not a new one."""
    word = words[index]
    if not word.startswith("any"):
        return False
    before = words[index - 1] if index > 0 else ""
    after = words[index + 1] if index + 1 < len(words) else ""
    return before == "or" or after in ("like", "else")


def _first_cue(words: Sequence[str], spans: Sequence[tuple[int, int]]) -> int | None:
    if not spans or words[-1] in _PUNCT_END:
        return None
    start, end = spans[-1]
    for i in range(max(start, end - _QUESTION_WINDOW), end):
        if words[i] in _STRONG_CUE_TABLE and _asks(words, i, strong=True):
            return i
    return None


def _open_questions(words: Sequence[str], spans: Sequence[tuple[int, int]], turn: TurnPolarity) -> None:
    """Words of a question are neither affirmed nor denied until an answer settles them."""
    for start, end in spans:
        asked, body_end = _is_question(words, start, end)
        if asked and not _presupposes(words, start, body_end):
            for position in range(start, body_end):
                turn.polarities[position] = Polarity.OPEN
            if _asks_how(words, start, body_end):
                turn.presumed.update(range(start, body_end))


_ANSWER_FILLERS = frozenset({"really", "much", "nothing", "none", "never", "not", "no", "nope", "think", "noticed"})
_WH_WORDS = frozenset({"which", "where", "when", "why", "how", "what", "what's", "whats"})
_FILLERS = frozenset({"so", "and", "okay", "ok", "um", "uh", "well", "alright", "now", "then", ","})


def _presupposes(words: Sequence[str], start: int, end: int) -> bool:
    """Whether a question takes what it names as given: "which knee hurts?", "how long have you had the cough?",
    "can you rate your pain?" ask about a pain and a cough the visit already has; "what about chest pain?" asks
    whether there is one."""
    position = start
    while position < end and words[position] in _FILLERS:
        position += 1
    if position >= end:
        return False
    if words[position] in ("can", "could", "would") and words[position + 1 : position + 2] == ["you"]:
        return position + 2 < end and words[position + 2] in _TELLING
    if words[position] not in _WH_WORDS or _asks_how(words, start, end):
        return False
    following = words[position + 1] if position + 1 < end else ""
    return following not in ("about", "else")


_HOW_VERBS = frozenset({"is", "are", "was", "were", "has", "have", "does", "do", "did", "'s"})


def _asks_how(words: Sequence[str], start: int, end: int) -> bool:
    """Whether a question asks how something is going ("how is your heartburn doing?", "how's the knee?"): it
    takes the heartburn neither as there nor as gone, and a "no" after it answers another question."""
    position = start
    while position < end and words[position] in _FILLERS:
        position += 1
    if position >= end:
        return False
    if words[position] == "how's":
        return True
    return words[position] == "how" and position + 1 < end and words[position + 1] in _HOW_VERBS


# "Can you rate your pain?", "could you describe the pain?": a request to say more about what is there.
_TELLING = frozenset({"rate", "describe", "tell", "show", "point", "explain"})


def transcript_polarities(
    turns: Sequence[tuple[str, Sequence[Token]]], words_of_turns: Sequence[Sequence[str]] | None = None
) -> list[TurnPolarity]:
    """Polarity of every token of every turn ``(speaker, tokens)``, questions settled by their answers;
    ``words_of_turns``, when given, are the tokens' texts."""
    all_words = (
        [[token.text for token in tokens] for _speaker, tokens in turns] if words_of_turns is None else words_of_turns
    )
    all_spans = [_sentence_spans(words) for words in all_words]
    result = [
        TurnPolarity(text_polarities(tokens, spoken=True, words=words), [None] * len(tokens))
        for (_speaker, tokens), words in zip(turns, all_words, strict=True)
    ]
    # What a question itself denies ("and no chest pain?"): a "yes" to it does not affirm the chest pain. Kept
    # as said, before the questions are opened, for the turns that deny anything.
    said_polarities = [list(turn.polarities) if Polarity.NEGATED in turn.polarities else None for turn in result]
    for (_speaker, tokens), words, spans, turn in zip(turns, all_words, all_spans, result, strict=True):
        if "?" in words:
            _open_questions(words, spans, turn)
        if "?" not in words and "any" in words:
            _open_inline_questions(words, turn.polarities)
        first = _first_cue(words, spans)
        if first is not None:
            # Unpunctuated speech: what follows the first question word is asked, except what the speaker
            # states as denied ("you have n't had any chest pain , you're still walking ?").
            for position in range(first, len(tokens)):
                if turn.polarities[position] is Polarity.AFFIRMED:
                    turn.polarities[position] = Polarity.OPEN

    def naming_of(index: int) -> Sequence[Token]:
        """A turn's tokens when it may ask by naming findings: not when it answers the question before it."""
        answering = index > 0 and turns[index - 1][0] != turns[index][0] and _asks_something(all_words[index - 1])
        return () if answering else turns[index][1]

    for index, (speaker, tokens) in enumerate(turns):
        words = all_words[index]
        span = _question_span(words, all_spans[index])
        if span is None:
            continue
        start, end = span
        answer_index = index + 1
        while answer_index < len(turns) and turns[answer_index][0] == speaker and len(turns[answer_index][1]) <= 3:
            answer_index += 1  # a stray "okay ?" of the same speaker before the answer
        if answer_index >= len(turns) or turns[answer_index][0] == speaker:
            _leave_open(result[index], start, end, words, naming_of(index))
            continue
        answer_tokens = turns[answer_index][1]
        kind = answer_kind(answer_tokens)
        rest_denied = _denies_the_rest(all_words[answer_index])
        if kind is Polarity.NEGATED:
            # "have you noticed any blood in your urine ... has it been darker" — "no, not really": a no
            # answers the whole question, from its first question word.
            first = _first_cue(words, all_spans[index])
            if first is not None and first < start:
                start = first
        answered_stems = {token.stem for token in answer_tokens if token.is_word and token.text not in STOPWORDS}
        asked_stems = {
            tokens[p].stem for p in range(start, end) if tokens[p].is_word and tokens[p].text not in STOPWORDS
        }
        # The answer speaks to part of the question when it names one of the findings asked about ("shortness of
        # breath. no belly pain though"); naming where ("no, my legs are fine" to "any swelling in your legs?")
        # answers all of it.
        mentions_some = any(is_clinical(stem_) for stem_ in answered_stems & asked_stems)
        if kind is Polarity.NEGATED and answered_stems <= asked_stems | _ANSWER_FILLERS:
            # "no, not really darker" to "any blood in your urine ... has it been darker": a no that only
            # repeats the question's words answers all of it
            mentions_some = False
        # "a little congestion, but everything else has been okay": what the answer does not take up is denied
        rest_denied = rest_denied and (mentions_some or kind is None)
        if kind is None and not mentions_some and not rest_denied:
            _leave_open(result[index], start, end, words, naming_of(index))
            continue
        # A list of findings asked at once: "any weight loss or decreased appetite or night sweats? coughs?"
        asked_findings = {
            tokens[p].stem for p in range(start, end) if tokens[p].is_word and is_clinical(tokens[p].stem)
        }
        listed = len(asked_findings) >= 3
        polarities = result[index].polarities
        said = said_polarities[index]
        asked_negated = {p for p in range(start, end) if said[p] is Polarity.NEGATED} if said is not None else set()
        for position in range(start, end):
            token = tokens[position]
            if not token.is_word:
                continue
            if token.stem in answered_stems:
                polarities[position] = Polarity.OPEN  # the answer's own words say it
                continue
            if rest_denied or (mentions_some and listed and is_clinical(token.stem)):
                # "a little nasal congestion ... but everything else has been okay": the rest is denied; and an
                # answer that takes up some findings of a list ("any chest pain, shortness of breath, or belly
                # pain?" — "shortness of breath. no belly pain though") leaves the others out as not there
                polarities[position] = Polarity.NEGATED
            elif mentions_some:
                polarities[position] = Polarity.OPEN  # the answer speaks to part of the question only
            elif kind is Polarity.NEGATED:
                polarities[position] = Polarity.NEGATED
            elif position in asked_negated:
                # "you're walking around without a problem?" — "yup": a yes confirms what was asked, denial and
                # all; "yes, i do" takes it back
                polarities[position] = Polarity.AFFIRMED if _yes_i_do(answer_tokens) else Polarity.NEGATED
            else:
                polarities[position] = Polarity.AFFIRMED
            result[index].answered_by[position] = answer_index
    for words, turn in zip(all_words, result, strict=True):
        if "anything" in words:
            _answered_within(words, turn.polarities)
    return result


_INLINE_ASKS = frozenset({("do", "you"), ("have", "you"), ("are", "you"), ("did", "you"), ("were", "you")})
# What ends a question asked in the middle of unpunctuated speech: the answer's first words, or a new sentence.
_INLINE_ENDS = _PUNCT_END | frozenset(
    {"i", "i'm", "i've", "i'd", "my", "yes", "yeah", "no", "nope", "okay", "ok", "alright", "so", "well", "um", "uh"}
)
_INLINE_REACH = 12


def _open_inline_questions(words: Sequence[str], polarities: list[Polarity]) -> None:
    """A question asked mid-turn in speech written without "?" ("do you have any nausea vomiting any fever chills
    i feel nauseated but i'm not vomiting", a question and its answer run together) asks; it does not say."""
    count = len(words)
    for index in range(count - 3):
        if (words[index], words[index + 1]) not in _INLINE_ASKS or "any" not in words[index + 2 : index + 5]:
            continue
        for position in range(index, min(index + _INLINE_REACH, count)):
            if position > index + 2 and words[position] in _INLINE_ENDS:
                break
            if polarities[position] is Polarity.AFFIRMED:
                polarities[position] = Polarity.OPEN


def _sentence_spans(words: Sequence[str]) -> list[tuple[int, int]]:
    """``text.sentence_spans`` on the words of a turn."""
    spans: list[tuple[int, int]] = []
    begin = 0
    for index in [i for i, word in enumerate(words) if word in _SENTENCE_ENDS]:
        if index > begin:
            spans.append((begin, index + 1))
        begin = index + 1
    if begin < len(words):
        spans.append((begin, len(words)))
    return spans


_SENTENCE_ENDS = frozenset({".", "?", "!", ";"})


_TAKES_BACK = frozenset({"do", "have", "did", "does", "some", "little", "bit", "sometimes", "had", "am", "is"})


def _yes_i_do(tokens: Sequence[Token]) -> bool:
    """Whether a yes goes on to say the finding is there ("yes, i do", "yeah, a little"), not only to agree."""
    words = [token.text for token in tokens[:6] if token.is_word]
    return any(word in _TAKES_BACK for word in words[1:4]) and not any(
        word in ("not", "n't", "no", "never") or _split_negation(word) for word in words[1:5]
    )


# An answer that takes up part of a question and denies the rest: "... but everything else has been okay",
# "nothing else", "otherwise no", "other than that, no".
_REST = (
    ("everything", "else"),
    ("nothing", "else"),
    ("otherwise", "no"),
    ("otherwise", "nothing"),
    ("otherwise", "fine"),
    ("otherwise", "okay"),
    ("otherwise", "good"),
    ("other", "than", "that", "no"),
    ("other", "than", "that", ",", "no"),
    ("other", "than", "that", "nothing"),
    ("other", "than", "that", "i'm", "fine"),
    ("other", "than", "that", "i'm", "good"),
    ("other", "than", "that", "i'm", "okay"),
    ("no", "other"),
    ("not", "anything", "else"),
    ("n't", "have", "anything", "else"),
)
_REST_TABLE = _table(_REST)
_FINE = frozenset({"fine", "okay", "ok", "good", "normal", "alright", "great", "negative", "no", "nothing"})


def _denies_the_rest(words: Sequence[str]) -> bool:
    """Whether an answer (its words) denies whatever it does not take up: "... but everything else has been
    fine"."""
    if _REST_TABLE.keys().isdisjoint(words):
        return False
    for index, word in enumerate(words):
        length = _longest(words, index, _REST_TABLE) if word in _REST_TABLE else 0
        if not length:
            continue
        if words[index : index + 2] == ["everything", "else"]:
            # "everything else has been okay", "everything else is fine": said well of the rest
            following = words[index + 2 : index + 6]
            if not any(word in _FINE for word in following) or any(_split_negation(w) for w in following):
                continue
        return True
    return False


def _answered_within(words: Sequence[str], polarities: list[Polarity]) -> None:
    """A question and its answer run together in one turn, as a speech-to-text model without speaker turns
    writes them: "any chest pain or shortness of breath or anything like that no no nothing" denies what it
    asked."""
    for position in range(3, len(words) - 1):
        if words[position - 3 : position] != ["anything", "like", "that"] or words[position] not in ("no", "nope"):
            continue
        if words[position + 1] not in ("no", "nope", "nothing", "not", "never", ","):
            continue
        first = next(
            (i for i in range(max(position - _QUESTION_WINDOW, 0), position) if _asks(words, i, strong=True)), None
        )
        if first is None:
            continue
        for asked in range(first, position):
            if polarities[asked] is Polarity.OPEN:
                polarities[asked] = Polarity.NEGATED


_NAMING_WORDS = _TAGS | _FILLERS | frozenset({"or", "any", "and"})


def _asks_something(words: Sequence[str]) -> bool:
    """Whether a turn asks anything: a "?", a question word first, or a cue that never starts a statement."""
    if "?" in words or (words and words[0] in _WH_WORDS):
        return True
    return any(words[i] in _STRONG_CUE_TABLE and _asks(words, i, strong=True) for i in range(len(words)))


def _leave_open(turn: TurnPolarity, start: int, end: int, words: Sequence[str], naming: Sequence[Token]) -> None:
    """A question no answer settles stays open. So does a finding named alone ("okay coughing headache"), a
    question by naming, which says nothing of the patient; ``naming``: the turn's tokens where it may be one (a
    turn answering a question names what the patient has: "what brings you in?" — "headaches")."""
    asked = "?" in words[start:end] or any(_asks(words, position, strong=True) for position in range(start, end))
    named = [token for token in naming[start:end] if token.is_word and token.text not in _NAMING_WORDS]
    if not asked and named and _few_words(words[start:end], 6):
        asked = all(is_clinical(token.stem) for token in named)
    if asked and not _presupposes(words, start, end):
        for position in range(start, end):
            turn.polarities[position] = Polarity.OPEN
