"""Sides of the body: "right knee", "left lower extremity", "bilateral ankles", "the knee on the left".

Only a side tied to a body part counts: "all right", "right now" and "that's right" say nothing about a
patient. A side said alone in an answer ("which knee?" — "the right one") takes its body part from the
question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from notes.faithfulness.text import Token, stem, word_list

LEFT, RIGHT, BOTH = "left", "right", "bilateral"

_SIDE_WORDS = {"left": LEFT, "right": RIGHT, "bilateral": BOTH, "bilaterally": BOTH, "both": BOTH}
SIDE_WORDS = frozenset(_SIDE_WORDS)

# Body parts, as stems (synonym concepts included); "lower_extremity" is the concept for legs.
BODY_PARTS = frozenset(
    stem(word)
    for word in word_list(
        """
        knee knees kneecap patella ankle ankles hip hips shoulder shoulders elbow elbows wrist wrists hand
        hands finger fingers thumb thumbs foot feet toe toes heel heels calf calves thigh thighs shin shins
        arm arms forearm forearms leg legs eye eyes ear ears breast breasts lung lungs kidney kidneys flank
        flanks side sides chest groin buttock buttocks temple temples jaw cheek neck ovary ovaries testicle
        testicles tonsil tonsils nostril nostrils upper lower extremity extremities arm hamstring quadricep
        quadriceps rotator cuff acl mcl lcl meniscus achilles tendon clavicle rib ribs scapula humerus femur
        tibia fibula radius ulna hemithorax lobe atrium ventricle carotid renal retina pupil tm tympanic canal
        """
    )
) | {"lower_extremity", "upper_extremity", "kidney", "lung", "eye", "ear"}

_SKIPPABLE = frozenset(
    word_list(
        """
        the a an his her my your their of side sided - upper lower medial lateral inner outer proximal distal
        anterior posterior mid middle big little index ring great second third fourth fifth pinky great
        """
    )
)


# Parts named after "side": "right side of the back", "left-sided abdominal pain".
_AFTER_SIDE = frozenset({"back", "abdomen", "abdominal", "belly", "stomach", "head", "face", "body", "neck", "chest"})


# Regions of the body, for a visit that names the side of a neighbouring part ("my right ankle" behind a note's
# "right foot"): a side said for the region is evidence when the part itself was never given a side.
_REGIONS = {
    "lower_limb": "lower_extremity knee kneecap patella ankle foot toe heel calf thigh shin hip hamstring quadricep "
    "acl mcl lcl meniscus achilles femur tibia fibula groin buttock",
    "upper_limb": "upper_extremity arm forearm shoulder elbow wrist hand finger thumb rotator cuff clavicle "
    "humerus radius ulna scapula",
    "trunk": "side back flank kidney abdomen abdominal belly stomach chest rib ribs lung hemithorax breast",
}
REGION_OF = {stem(word): region for region, words in _REGIONS.items() for word in words.split()}


@dataclass(frozen=True, slots=True)
class SideMention:
    side: str
    part: str  # body part stem
    position: int  # token index of the side word
    part_position: int


def find_sides(tokens: Sequence[Token]) -> list[SideMention]:
    """Sides tied to body parts in one text, in order."""
    words = [token.text for token in tokens]
    found: list[SideMention] = []
    for index, word in enumerate(words):
        side = _SIDE_WORDS.get(word)
        if side is None:
            continue
        if word == "right" and index > 0 and words[index - 1] in ("all", "that's", "alright", "is", "okay"):
            continue
        part = _part_after(tokens, index)
        if part is None:
            part = _part_before(tokens, index)
        if part is None:
            continue
        if word == "both" and part[1] <= index:
            continue
        found.append(SideMention(side, part[0], index, part[1]))
    return found


def _part_after(tokens: Sequence[Token], index: int) -> tuple[str, int] | None:
    position = index + 1
    skipped = 0
    side_at = None
    while position < len(tokens) and skipped <= 4:
        token = tokens[position]
        if token.text == "hand" and _then_side(tokens, position + 1) and side_at is None:
            side_at = position  # "on the right hand side", "left-hand side": a side, not a hand
            position += 1
            skipped += 1
            continue
        if token.stem in BODY_PARTS and token.text not in ("side", "sides", "upper", "lower"):
            return token.stem, position
        if token.stem in ("lower_extremity", "upper_extremity"):
            return token.stem, position
        if side_at is not None and token.text in _AFTER_SIDE:
            return token.text, position  # "right side of his back", "left-sided chest"
        if token.text == "back" and position == index + 1 and _a_back(tokens, index, position):
            return "back", position  # "pain in my right back", "left back pain"; not "i'll be right back"
        if token.text in ("side", "sided") and side_at is None:
            side_at = position
        elif token.text not in _SKIPPABLE:
            break
        position += 1
        skipped += 1
    if side_at is not None:
        return "side", side_at  # "on the right side": a side of the body, part unnamed
    return None


def _then_side(tokens: Sequence[Token], position: int) -> bool:
    """Whether "side" or "sided" comes next, a hyphen aside."""
    if position < len(tokens) and tokens[position].text == "-":
        position += 1
    return position < len(tokens) and tokens[position].text in ("side", "sided")


_OWNERS = frozenset({"my", "his", "her", "your", "their", "the", "of"})
_BACK_FINDINGS = frozenset({"pain", "tender", "spasm", "stiff", "swell", "edema", "strain", "injury"})


def _a_back(tokens: Sequence[Token], side: int, back: int) -> bool:
    """Whether "right back" names the back: said as someone's ("my right back") or with a finding after it
    ("left back pain")."""
    owned = side > 0 and tokens[side - 1].text in _OWNERS
    return owned or (back + 1 < len(tokens) and tokens[back + 1].stem in _BACK_FINDINGS)


def _part_before(tokens: Sequence[Token], index: int) -> tuple[str, int] | None:
    # "the knee on the right", "pain in his shoulder, left"
    words = [token.text for token in tokens]
    if index >= 2 and words[index - 1] == "the" and words[index - 2] in ("on", "to"):
        for position in range(index - 3, max(index - 7, -1), -1):
            token = tokens[position]
            if token.stem in BODY_PARTS and token.text not in ("side", "sides", "upper", "lower"):
                return token.stem, position
    return None


def sides_in_answer(question: Sequence[Token], answer: Sequence[Token]) -> list[SideMention]:
    """ "Which knee?" — "the right one": the side of the answer with the body part of the question."""
    parts = [token.stem for token in question if token.stem in BODY_PARTS and token.text not in ("side", "sides")]
    if len(set(parts)) != 1:
        return []
    found: list[SideMention] = []
    tied = {mention.position for mention in find_sides(answer)}
    for index, token in enumerate(answer):
        side = _SIDE_WORDS.get(token.text)
        if side is None or index in tied:
            continue
        before = answer[index - 1].text if index > 0 else ""
        after = answer[index + 1].text if index + 1 < len(answer) else ""
        # "the right one", "my left", "both of them"; a bare "right" is agreement, not a side.
        if not (before in ("the", "my", "his", "her", "your", "on") or after in ("one", "side", "of")):
            continue
        found.append(SideMention(side, parts[0], index, -1))
    return found
