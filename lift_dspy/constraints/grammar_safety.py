"""Is a field's Lark grammar safe inside DSPy's chat layout? (narrowing and refusal)

A grammar must leave DSPy's chat layout readable: it is refused when any of its lexemes could
contain the header opener ``[[ ##``, or start with ``#``, `` ##`` or ``[ ##`` (the only ways a header
could be spelled across lexemes), or when llguidance cannot compile it. Terminals (and ``%ignore``)
that could contain the opener are narrowed to exclude it, as free text is.
:mod:`lift_dspy.constraints.fields` re-exports :func:`chat_field_grammar` and :func:`grammar_problem`.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from lift_dspy.constraints.guidance import compile_grammar, grammar_from_lark, language_is_empty

__all__ = ["HEADER_OPENER", "chat_field_grammar", "grammar_problem"]

HEADER_OPENER = "[[ ##"

# Lexemes of llguidance's Lark dialect, enough to find every terminal and literal of a grammar.
_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r]+)|(?P<nl>\n)|(?P<comment>(?://|\#)[^\n]*)
    |(?P<string>"(?:\\.|[^"\\\n])*"i?)|(?P<regex>/(?:\\.|[^/\\\n])+/[imslux]*)
    |(?P<directive>%[A-Za-z_]+)|(?P<special><[^<>\s]*>)|(?P<sub>@[A-Za-z0-9_\-]+)|(?P<arrow>->)
    |(?P<name>[A-Za-z_](?:[A-Za-z0-9_]|-(?!>))*)|(?P<number>[0-9]+)|(?P<range>\.\.)
    |(?P<punct>[:|()\[\]{}?*+~&,=.!^-])""",
    re.VERBOSE,
)
# A header opener H = "[[ ##" can appear in the output inside one lexeme, or spread over several:
# the first ends with H[:c1], the ones in between are exactly H[ci:ci+1], the last starts with
# H[ck:]. _header_problem follows those paths (an over-approximation: it ignores which lexemes may
# follow which), asking llguidance about each lexeme's language.
_HOLDS_HEADER = r"/(?s:.*)\[\[ ##(?s:.*)/"


def _strict_safe_regex() -> str:
    """Text without "[[ ##" that does not end inside a partial "[[ #" either (narrowed terminals)."""
    from lift_dspy.constraints.chat import _EXIT, _LOOP

    return rf"(?:[^\[]|\[(?:{_LOOP})*{_EXIT})*"


@dataclass
class _Tok:
    kind: str
    text: str
    start: int
    first_on_line: bool


def _tokens(lark: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos, line_start = 0, True
    while pos < len(lark):
        match = _TOKEN.match(lark, pos)
        if match is None:
            raise ValueError(f"unexpected character {lark[pos]!r} at offset {pos}")
        kind = match.lastgroup or ""
        if kind == "nl":
            line_start = True
        elif kind not in ("ws", "comment"):
            tokens.append(_Tok(kind, match.group(), pos, line_start))
            line_start = False
        pos = match.end()
    return tokens


def _matching_brace(tokens: list[_Tok], index: int) -> int:
    depth = 0
    for j in range(index, len(tokens)):
        if tokens[j].text == "{":
            depth += 1
        elif tokens[j].text == "}":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced braces")


@dataclass
class _Statement:
    head: _Tok
    tokens: list[_Tok]


def _statements(tokens: list[_Tok], lark: str) -> tuple[list[_Statement], list[str]]:
    """Split into statements; nested ``%lark { ... }`` bodies are returned as separate grammars."""
    statements: list[_Statement] = []
    nested: list[str] = []
    index = 0
    while index < len(tokens):
        tok = tokens[index]
        if tok.kind == "directive" and tok.text in ("%lark", "%json", "%regex", "%llguidance"):
            if index + 1 >= len(tokens) or tokens[index + 1].text != "{":
                raise ValueError(f"{tok.text} without a body")
            end = _matching_brace(tokens, index + 1)
            if tok.text == "%lark":
                nested.append(lark[tokens[index + 1].start + 1 : tokens[end].start])
            if tok.text in ("%json", "%regex"):
                raise _RefusedError(
                    f"{tok.text} {{...}} inside a field grammar cannot be checked against DSPy's header; "
                    "give that part its own output field"
                )
            if tok.text != "%llguidance" and statements:
                statements[-1].tokens.append(_Tok("subgrammar", tok.text, tok.start, False))
            index = end + 1
            continue
        if tok.kind in ("special", "sub"):
            raise _RefusedError(
                f"{tok.text!r}: special tokens and @sub-grammars are not text DSPy's chat layout can read "
                "back"
            )
        starts = tok.first_on_line and (tok.kind == "directive" or _is_definition(tokens, index))
        if starts or not statements:
            statements.append(_Statement(tok, [tok]))
        else:
            statements[-1].tokens.append(tok)
        index += 1
    return statements, nested


def _is_definition(tokens: list[_Tok], index: int) -> bool:
    if tokens[index].kind != "name":
        return False
    j = index + 1
    if j < len(tokens) and tokens[j].text == "[":
        while j < len(tokens) and tokens[j].text != "]":
            j += 1
        j += 1
    if j + 1 < len(tokens) and tokens[j].text == "." and tokens[j + 1].kind == "number":
        j += 2
    return j < len(tokens) and tokens[j].text == ":"


class _RefusedError(Exception):
    pass


def _is_terminal_name(text: str) -> bool:
    return text[:1].isupper() or (text.startswith("_") and text[1:2].isupper())


def _string_value(token: str) -> str:
    body = token[:-1] if token.endswith("i") else token
    try:
        value = json.loads(body)
    except ValueError:
        value = ast.literal_eval(body)
    return str(value)


def _lark_regex(text: str) -> str:
    return "/" + re.escape(text).replace("/", "\\/") + "/"


@dataclass
class _Lexemes:
    """What the lexemes of one grammar can be: literals exactly, everything else through llguidance.

    Attributes:
        literals: String literals of the rules (each one lexeme).
        pieces: Terminal names, regexes and ranges used by the rules, and ``%ignore`` expressions.
        definitions: The grammar's terminal definitions and imports (what the pieces refer to).
        nested: The same for each nested ``%lark { ... }`` grammar (its own namespace).
    """

    literals: list[str]
    pieces: list[str]
    definitions: str
    nested: list[_Lexemes] = field(default_factory=list)

    def find(self, pattern: str, literal_test: Any) -> str | None:
        """A lexeme (its source) whose language meets ``pattern`` (a Lark regex), or None."""
        for text in self.literals:
            if literal_test(text):
                return json.dumps(text)
        if not self.pieces or self._empty_for(self.pieces, pattern):
            return None
        return next((piece for piece in self.pieces if not self._empty_for([piece], pattern)), None)

    def _empty_for(self, pieces: list[str], pattern: str) -> bool:
        union = " | ".join(f"({piece})" for piece in pieces)
        return language_is_empty(f"start: CHECK__\nCHECK__: ({union}) & {pattern}\n{self.definitions}\n")


def _lexemes(lark: str, depth: int = 0) -> _Lexemes:
    if depth > 8:
        raise _RefusedError("nested %lark grammars are too deep to check")
    statements, nested = _statements(_tokens(lark), lark)
    definitions = [
        lark[s.head.start : s.tokens[-1].start + len(s.tokens[-1].text)]
        for s in statements
        if (s.head.kind == "name" and _is_terminal_name(s.head.text)) or s.head.text == "%import"
    ]
    literals: list[str] = []
    pieces: list[str] = []
    for statement in statements:
        tokens = statement.tokens
        if statement.head.text == "%ignore":
            if len(tokens) > 1:
                pieces.append(lark[tokens[1].start : tokens[-1].start + len(tokens[-1].text)])
            continue
        if statement.head.kind != "name" or _is_terminal_name(statement.head.text):
            continue
        for j, tok in enumerate(tokens):
            if tok.kind == "string":
                if j + 2 < len(tokens) and tokens[j + 1].kind == "range":
                    pieces.append(f"{tok.text}..{tokens[j + 2].text}")
                elif not (j >= 1 and tokens[j - 1].kind == "range"):
                    literals.append(_string_value(tok.text))
            elif tok.kind == "regex" or (tok.kind == "name" and _is_terminal_name(tok.text) and j > 0):
                pieces.append(tok.text)
    return _Lexemes(
        list(dict.fromkeys(literals)),
        list(dict.fromkeys(pieces)),
        "\n".join(definitions),
        [_lexemes(inner, depth + 1) for inner in nested],
    )


def _all(lexemes: _Lexemes) -> list[_Lexemes]:
    found = [lexemes]
    for inner in lexemes.nested:
        found += _all(inner)
    return found


def _find(groups: list[_Lexemes], pattern: str, literal_test: Any) -> str | None:
    for group in groups:
        hit = group.find(pattern, literal_test)
        if hit is not None:
            return hit
    return None


def _header_problem(lark: str) -> str | None:
    groups = _all(_lexemes(lark))
    inside = _find(groups, _HOLDS_HEADER, lambda text: HEADER_OPENER in text)
    if inside is not None:
        return (
            f"has a lexeme, {inside}, that could contain DSPy's header opener [[ ## (a literal or an inline "
            "regex of a rule; terminals are narrowed for you); exclude it, e.g. name it as a terminal"
        )
    h = HEADER_OPENER
    reached: dict[int, str] = {}  # c -> lexemes that can spell h[:c] at the end of the output
    for c in range(1, len(h)):
        ends = _find(groups, "/(?s:.*)" + _lark_regex(h[:c])[1:], lambda text, p=h[:c]: text.endswith(p))
        if ends is not None:
            reached[c] = ends
        for i in [i for i in reached if i < c and c not in reached]:
            exact = _find(groups, _lark_regex(h[i:c]), lambda text, p=h[i:c]: text == p)
            if exact is not None:
                reached[c] = f"{reached[i]} then {exact}"
        if c in reached:
            rest = h[c:]
            prefix = _lark_regex(rest)[:-1] + "(?s:.*)/"
            starts = _find(groups, prefix, lambda text, p=rest: text.startswith(p))
            if starts is not None:
                return (
                    f"could spell DSPy's header opener [[ ## across lexemes: {reached[c]} can write "
                    f"{h[:c]!r} and {starts} can follow with {rest!r}; exclude one of them"
                )
    return None


def _hits(exprs: list[str], pattern: str, definitions: str) -> list[int]:
    """Indexes of the terminal expressions whose language meets ``pattern`` (bisecting unions)."""
    if not exprs:
        return []
    union = " | ".join(f"({expr})" for expr in exprs)
    if language_is_empty(f"start: CHECK__\nCHECK__: ({union}) & {pattern}\n{definitions}\n"):
        return []
    if len(exprs) == 1:
        return [0]
    half = len(exprs) // 2
    return _hits(exprs[:half], pattern, definitions) + [
        half + i for i in _hits(exprs[half:], pattern, definitions)
    ]


def _narrowed(lark: str, depth: int = 0) -> str:
    """``lark`` with every terminal definition and ``%ignore`` that could contain ``[[ ##`` narrowed
    to exclude it, and to not end inside a partial ``[[ #``; nested grammars too."""
    tokens = _tokens(lark)
    statements, _ = _statements(tokens, lark)
    definitions = "\n".join(
        lark[s.head.start : s.tokens[-1].start + len(s.tokens[-1].text)]
        for s in statements
        if (s.head.kind == "name" and _is_terminal_name(s.head.text)) or s.head.text == "%import"
    )
    spans: list[tuple[int, int]] = []
    for statement in statements:
        toks = statement.tokens
        if statement.head.text == "%ignore" and len(toks) > 1:
            body = toks[1:]
        elif statement.head.kind == "name" and _is_terminal_name(statement.head.text):
            colon = next(j for j, tok in enumerate(toks) if tok.text == ":")
            body = toks[colon + 1 :]
        else:
            continue
        if body:
            spans.append((body[0].start, body[-1].start + len(body[-1].text)))
    exprs = [lark[start:end] for start, end in spans]
    edits = [
        (*spans[i], f"({exprs[i]}) & /{_strict_safe_regex()}/")
        for i in _hits(exprs, _HOLDS_HEADER, definitions)
    ]
    # Nested %lark bodies: narrowed on their own (their names are their own).
    for index, tok in enumerate(tokens):
        if tok.kind == "directive" and tok.text == "%lark" and depth < 8:
            close = _matching_brace(tokens, index + 1)
            start, end = tokens[index + 1].start + 1, tokens[close].start
            inner = lark[start:end]
            narrowed = _narrowed(inner, depth + 1)
            if narrowed != inner:
                edits.append((start, end, narrowed))
    for start, end, text in sorted(edits, reverse=True):
        lark = lark[:start] + text + lark[end:]
    return lark


@functools.lru_cache(maxsize=256)
def chat_field_grammar(lark: str) -> tuple[str | None, str | None]:
    """``(grammar to embed in the chat layout, None)`` or ``(None, why it cannot be)``.

    Terminals (and ``%ignore``) that could contain DSPy's header opener ``[[ ##`` are narrowed to
    exclude it, as free text is; a literal or inline regex of a rule that could is refused, as is
    a grammar that could spell it across lexemes or that llguidance cannot compile.
    """
    error = compile_grammar(grammar_from_lark(f"start: field__\nfield__: %lark {{\n{lark}\n}}\n"))
    if error:
        return None, f"llguidance cannot compile the field's grammar: {error.strip().splitlines()[0]}"
    try:
        narrowed = _narrowed(lark)
        problem = _header_problem(narrowed)
    except _RefusedError as exc:
        return None, str(exc)
    except (ValueError, SyntaxError, StopIteration) as exc:
        return None, f"the grammar could not be checked for DSPy's header [[ ## ({exc})"
    if problem is not None:
        return None, f"the field's grammar {problem}"
    return narrowed, None


def grammar_problem(lark: str) -> str | None:
    """Why ``lark`` cannot be a field grammar in DSPy's chat layout, or None when it can."""
    return chat_field_grammar(lark)[1]
