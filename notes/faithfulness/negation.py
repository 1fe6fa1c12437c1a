"""Whether each word of a text is affirmed, negated or left open: NegEx/ConText scope, plus questions and answers.

A note writes "denies chest pain"; a visit says "any chest pain?" and the patient answers "no". Both must read
as *chest pain: negated*. ``text_polarities`` applies NegEx-style triggers with a scope that runs to a
terminating word or punctuation (commas do not end it, so "denies fever, chills or nausea" negates all three),
skipping pseudo-triggers ("no change", "not sure"). ``transcript_polarities`` adds the turns: a question
answered "no" negates what it asked about, "yes" affirms it, and a question left unanswered is neither.
Conditional and uncertain wording ("if", "call if", "watch for", "possible") leaves a word open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from notes.faithfulness.text import STOPWORDS, Token, sentence_spans


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
)
_POST_NEGATION = frozenset({"negative", "absent", "denied", "none"})
_NOT_FOUND = frozenset({"identified", "seen", "present", "appreciated", "noted", "detected", "found", "elicited"})
_PSEUDO = (
    ("not", "only"),
    ("not", "just"),
    ("no", "increase"),
    ("no", "further"),
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


def _split_negation(word: str) -> bool:
    return word.endswith("n't") and word != "n't"


def text_polarities(tokens: Sequence[Token], *, spoken: bool = False) -> list[Polarity]:
    """The polarity of every token of one text (a note statement, or one turn of a visit)."""
    words = [token.text for token in tokens]
    polarities = [Polarity.AFFIRMED] * len(tokens)
    index = 0
    while index < len(words):
        word = words[index]
        if word not in _TRIGGER_STARTS and not _split_negation(word):
            index += 1
            continue
        pseudo = _longest(words, index, _PSEUDO_TABLE)
        if pseudo:
            index += pseudo
            continue
        uncertain = _longest(words, index, _UNCERTAIN_TABLE)
        negation = _longest(words, index, _PRE_NEGATION_TABLE) or (1 if _split_negation(word) else 0)
        if (
            spoken
            and index == 0
            and word in ("no", "nope", "nah")
            and (len(words) == 1 or words[1] in {",", "."} | _SUBJECTS | _PERSONS | {"no", "not", "nothing", "i'll"})
        ):
            negation = 0  # an answer ("no, not that i've noticed"), resolved with its question
        if not (uncertain or negation):
            index += 1
            continue
        mark = Polarity.NEGATED if negation >= uncertain and negation else Polarity.OPEN
        start = index + max(negation, uncertain)
        end = start
        limit = _MAX_SCOPE_SPOKEN if spoken else _MAX_SCOPE_WRITTEN
        if mark is Polarity.OPEN and spoken:
            limit += 4
        while end < len(words) and end - start < min(limit, _MAX_SCOPE_WRITTEN):
            current = words[end]
            skip = _longest(words, end, _PSEUDO_TABLE)
            if skip and mark is Polarity.OPEN:
                end += skip
                continue
            if current in _PUNCT_END or current in _TERMINATIONS:
                break
            if current == "associated" and end + 1 < len(words) and words[end + 1] == "with":
                break  # "no numbness associated with her pain"
            if mark is Polarity.NEGATED and current == "some" and end > start:
                break  # "no fever, some chills"; but "denies some nausea" denies the nausea
            if current in ("and", ",") and end + 1 < len(words) and words[end + 1] in _SUBJECTS:
                break
            if not spoken and end - start >= 2 and current in _CLAUSE_SUBJECTS:
                break  # "could not walk as he was forced to stand there": a new clause
            if current == "as" and words[end - 1] != "such":
                break  # "no pain as long as ..." ends; "no symptoms such as fever" does not
            if current in ("just", "only") and end > start:
                break  # "no weakness, just the numbing"
            if spoken and mark is Polarity.NEGATED and end - start >= 2 and current in _PERSONS - _POSSESSIVES:
                break  # a new subject starts a new clause; "my" in "no pain in my knee" does not
            if spoken and current in (",", "or"):
                limit += 4  # a spoken list: "not had any weight loss or gain, headaches, bone pain, ..."
            if mark is Polarity.NEGATED and _longest(words, end, _PSEUDO_TABLE):
                break
            end += 1
        for position in range(start, end):
            if polarities[position] is Polarity.AFFIRMED:
                polarities[position] = mark
        index = start
    # Words that deny by themselves: "afebrile", "nontender", "non-tender".
    for index, word in enumerate(words):
        if word in _SELF_NEGATING or (word == "non" and index + 1 < len(words)):
            last = index if word != "non" else index + 1 + (words[index + 1] == "-")
            for target in range(index, min(last + 1, len(words))):
                if polarities[target] is Polarity.AFFIRMED:
                    polarities[target] = Polarity.NEGATED
    # "X: negative", "McMurray's test was negative", "chills: none", "satellitosis: not identified": negate back
    # to the clause's start.
    for index, word in enumerate(words):
        if word in ("not", "n't") and index + 1 < len(words) and words[index + 1] in _NOT_FOUND:
            follows = words[index + 2] if index + 2 < len(words) else "."
            if follows in _PUNCT_END | {",", "and", "but"}:
                _negate_back(words, polarities, index)
        if word in _POST_NEGATION and index > 0:
            follows = words[index + 1] if index + 1 < len(words) else "."
            stated = words[index - 1] in ("is", "was", "were", "are", "be", "been", "came", "comes")
            if not stated and follows not in _PUNCT_END | _SUBJECTS | _TERMINATIONS | {
                ",",
                "and",
                "but",
                "on",
                "bilaterally",
            }:
                continue  # "the test is negative just checking": said of the test, whatever follows
            _negate_back(words, polarities, index)
    return polarities


def _negate_back(words: Sequence[str], polarities: list[Polarity], index: int) -> None:
    """Negate the clause before a post-negation; "Satellitosis: not identified" reaches across its colon."""
    position = index - 1
    if position >= 0 and words[position] == ":":
        position -= 1
    while position >= 0 and index - position <= 8 and words[position] not in _PUNCT_END | {"but"}:
        if polarities[position] is Polarity.AFFIRMED:
            polarities[position] = Polarity.NEGATED
        position -= 1


@dataclass(frozen=True, slots=True)
class TurnPolarity:
    polarities: list[Polarity]
    # for each token, the other turn that settled it (the answer to a question), or None
    answered_by: list[int | None]


def answer_kind(tokens: Sequence[Token]) -> Polarity | None:
    """Whether a turn begins with yes or no; None when it is not a yes/no answer."""
    raw = [token.text for token in tokens[:4]]
    if raw[:3] == ["uh", "-", "uh"]:
        return Polarity.NEGATED  # "uh-uh"
    if raw[:3] in (["uh", "-", "huh"], ["mm", "-", "hmm"], ["mhm"], ["uh", "-", "hmm"]):
        return Polarity.AFFIRMED
    words = [token.text for token in tokens if token.text not in {",", ".", "-", "uh", "um", "oh", "well"}]
    if not words:
        return None
    first = words[0]
    second = words[1] if len(words) > 1 else ""
    if first in ("mm", "uh", "mhm") and second in ("hmm", "huh"):
        return Polarity.AFFIRMED
    if first in _YES:
        return Polarity.AFFIRMED
    if first in _NO or (first == "not" and second == "really") or _split_negation(first):
        return Polarity.NEGATED  # "no", "not really", "don't think so", "haven't noticed"
    if first == "i" and second == "think" and words[2:3] == ["so"]:
        return Polarity.AFFIRMED
    if first == "i" and second in ("get", "got", "notice", "noticed", "feel", "felt"):
        third = words[2] if len(words) > 2 else ""
        return None if third in ("fine", "good", "great", "okay", "better") else Polarity.AFFIRMED
    if first in ("kind", "kinda", "somewhat", "slightly") or (first == "once" and second == "in"):
        return Polarity.AFFIRMED
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


_TAGS = frozenset({"okay", "ok", "right", "alright", "yeah", "correct", "good", "huh", "yes", "fair"})
_QUESTION_WINDOW = 30


def _is_question(words: Sequence[str], start: int, end: int) -> tuple[bool, int]:
    """Whether a sentence asks something, and where its body ends (before "?" and any "okay" tag)."""
    body_end = end - 1 if end > start and words[end - 1] in _PUNCT_END else end
    marked = end > start and words[end - 1] == "?"
    tagged = False
    while body_end > start and words[body_end - 1] in _TAGS | {","}:
        body_end -= 1  # "..., okay?" asks for agreement, not about what came before
        tagged = True
    has_cue = any(words[i] in _QUESTION_CUE_TABLE and _asks(words, i) for i in range(start, body_end))
    asked = marked and (has_cue or (not tagged and body_end - start <= 12))
    return asked, body_end


def _question_span(tokens: Sequence[Token]) -> tuple[int, int] | None:
    """The tokens of a turn that ask the question its answer replies to, or None when it asks nothing.

    A run of questions at the end of a turn ("any fatigue? weight gain? anything like that?") is one question.
    Unpunctuated speech has no "?", so there the question runs from its first cue near the end of the turn.
    """
    words = [token.text for token in tokens]
    spans = sentence_spans(tokens)
    if not spans:
        return None
    if (
        len(spans) > 1
        and spans[-1][1] - spans[-1][0] <= 2
        and all(w in _TAGS | _PUNCT_END for w in words[spans[-1][0] : spans[-1][1]])
    ):
        spans = spans[:-1]  # a closing "okay?"
    start, end = spans[-1]
    asked, body_end = _is_question(words, start, end)
    if asked:
        first = start
        for earlier_start, earlier_end in reversed(spans[:-1]):
            if not _is_question(words, earlier_start, earlier_end)[0] or first - earlier_start > _QUESTION_WINDOW:
                break
            first = earlier_start
        return (first, body_end)
    if words[end - 1] in _PUNCT_END:
        return None
    if len(spans) == 1 and sum(1 for word in words if word[:1].isalpha()) <= 6:
        return (start, end)  # "[doctor] shortness of breath" — "[patient] no": a question by naming
    # The last question asked is the one answered ("any nausea or vomiting ... are you peeing a lot" — "yeah");
    # "or anything like that" only closes the question before it.
    cues = [
        i
        for i in range(max(start, body_end - _QUESTION_WINDOW), body_end)
        if words[i] in _QUESTION_CUE_TABLE and _asks(words, i) and not _closes_question(words, i)
    ]
    return (cues[-1], body_end) if cues else None


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


def _first_cue(tokens: Sequence[Token]) -> int | None:
    words = [token.text for token in tokens]
    spans = sentence_spans(tokens)
    if not spans or words[-1] in _PUNCT_END:
        return None
    start, end = spans[-1]
    for i in range(max(start, end - _QUESTION_WINDOW), end):
        if words[i] in _STRONG_CUE_TABLE and _asks(words, i, strong=True):
            return i
    return None


def _open_questions(tokens: Sequence[Token], polarities: list[Polarity]) -> None:
    """Words of a question are neither affirmed nor denied until an answer settles them."""
    words = [token.text for token in tokens]
    for start, end in sentence_spans(tokens):
        asked, body_end = _is_question(words, start, end)
        if asked and not _presupposes(words, start, body_end):
            for position in range(start, body_end):
                polarities[position] = Polarity.OPEN


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
    if words[position] not in _WH_WORDS:
        return False
    following = words[position + 1] if position + 1 < end else ""
    return following not in ("about", "else")


# "Can you rate your pain?", "could you describe the pain?": a request to say more about what is there.
_TELLING = frozenset({"rate", "describe", "tell", "show", "point", "explain"})


def transcript_polarities(turns: Sequence[tuple[str, Sequence[Token]]]) -> list[TurnPolarity]:
    """Polarity of every token of every turn ``(speaker, tokens)``, questions settled by their answers."""
    result = [TurnPolarity(text_polarities(tokens, spoken=True), [None] * len(tokens)) for _speaker, tokens in turns]
    for (_speaker, tokens), turn in zip(turns, result, strict=True):
        _open_questions(tokens, turn.polarities)
        first = _first_cue(tokens)
        if first is not None:
            # Unpunctuated speech: what follows the first question word is asked, except what the speaker
            # states as denied ("you have n't had any chest pain , you're still walking ?").
            for position in range(first, len(tokens)):
                if turn.polarities[position] is Polarity.AFFIRMED:
                    turn.polarities[position] = Polarity.OPEN
    for index, (speaker, tokens) in enumerate(turns):
        span = _question_span(tokens)
        if span is None:
            continue
        start, end = span
        answer_index = index + 1
        while answer_index < len(turns) and turns[answer_index][0] == speaker and len(turns[answer_index][1]) <= 3:
            answer_index += 1  # a stray "okay ?" of the same speaker before the answer
        if answer_index >= len(turns) or turns[answer_index][0] == speaker:
            _leave_open(result[index], start, end, tokens)
            continue
        answer_tokens = turns[answer_index][1]
        kind = answer_kind(answer_tokens)
        if kind is None:
            _leave_open(result[index], start, end, tokens)
            continue
        if kind is Polarity.NEGATED:
            # "have you noticed any blood in your urine ... has it been darker" — "no, not really": a no
            # answers the whole question, from its first question word.
            first = _first_cue(tokens)
            if first is not None and first < start:
                start = first
        answered_stems = {token.stem for token in answer_tokens if token.is_word and token.text not in STOPWORDS}
        asked_stems = {
            tokens[p].stem for p in range(start, end) if tokens[p].is_word and tokens[p].text not in STOPWORDS
        }
        mentions_some = bool(answered_stems & asked_stems)
        if kind is Polarity.NEGATED and answered_stems <= asked_stems | _ANSWER_FILLERS:
            # "no, not really darker" to "any blood in your urine ... has it been darker": a no that only
            # repeats the question's words answers all of it
            mentions_some = False
        polarities = result[index].polarities
        for position in range(start, end):
            token = tokens[position]
            if not token.is_word:
                continue
            if token.stem in answered_stems:
                polarities[position] = Polarity.OPEN  # the answer's own words say it
                continue
            if mentions_some:
                polarities[position] = Polarity.OPEN  # the answer speaks to part of the question only
            elif kind is Polarity.NEGATED:
                polarities[position] = Polarity.NEGATED
            elif polarities[position] is Polarity.NEGATED:
                polarities[position] = Polarity.OPEN
            else:
                polarities[position] = Polarity.AFFIRMED
            result[index].answered_by[position] = answer_index
    for (_speaker, tokens), turn in zip(turns, result, strict=True):
        _answered_within(tokens, turn.polarities)
    return result


def _answered_within(tokens: Sequence[Token], polarities: list[Polarity]) -> None:
    """A question and its answer run together in one turn, as a speech-to-text model without speaker turns
    writes them: "any chest pain or shortness of breath or anything like that no no nothing" denies what it
    asked."""
    words = [token.text for token in tokens]
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


def _leave_open(turn: TurnPolarity, start: int, end: int, tokens: Sequence[Token]) -> None:
    words = [token.text for token in tokens]
    asked = any(token.text == "?" for token in tokens[start:end]) or any(
        _asks(words, position, strong=True) for position in range(start, end)
    )
    if asked and not _presupposes(words, start, end):
        for position in range(start, end):
            turn.polarities[position] = Polarity.OPEN
