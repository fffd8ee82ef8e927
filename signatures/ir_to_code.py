"""DSPy signatures of the IR-to-code pipeline: request -> IR -> implementation -> repaired implementation.

The docstrings and field descriptions below are the prompt, so they are short and concrete; the
output types (``lift_dspy.schemas``) are the constraint. Use them with any DSPy module::

    import dspy
    from lift_dspy.signatures.ir_to_code import NLToIR, ir_to_code_signature

    ir = dspy.Predict(NLToIR)(request="clamp an integer to a range").ir
    header = "pub fn clamp_value(value: i64, lo: i64, hi: i64) -> i64"  # see lift_dspy.programs.headers
    impl = dspy.Predict(ir_to_code_signature("rust"))(ir=ir, header=header).implementation
"""

from __future__ import annotations

import dspy
from lift_dspy.schemas import (
    LANGUAGES,
    FunctionIR,
    GoImplementation,
    Implementation,
    JavaImplementation,
    Language,
    RustImplementation,
    TypeScriptImplementation,
)

__all__ = [
    "IRToGo",
    "IRToGoSource",
    "IRToJava",
    "IRToJavaSource",
    "IRToRust",
    "IRToRustSource",
    "IRToSource",
    "IRToTypeScript",
    "IRToTypeScriptSource",
    "NLToIR",
    "RepairCode",
    "RepairGo",
    "RepairJava",
    "RepairRust",
    "RepairSource",
    "RepairTypeScript",
    "ir_to_code_signature",
    "ir_to_source_signature",
    "repair_signature",
    "repair_source_signature",
]

_IR_DESC = "The function to implement: name, params with IR types, returns, conditions, examples."
_HEADER_DESC = "The header derived from the IR: copy its name, parameters, types and imports."


class NLToIR(dspy.Signature):
    """Describe the one function the request asks for as a language-neutral IR. Write no code.

    - name: a short snake_case verb phrase, e.g. clamp_value.
    - params: the inputs in call order, each with an IR type and a short description.
    - returns: the IR type of the result ("void" when nothing is returned).
    - effects: ["pure"] unless the function mutates an argument, does I/O, or may fail.
    - preconditions / postconditions: short sentences about the inputs and the result.
    - examples: 1 to 3 concrete calls with exact results, arguments in parameter order.
    """

    request: str = dspy.InputField(desc="A natural-language request for one function.")
    ir: FunctionIR = dspy.OutputField(desc="The function's IR.")


class IRToTypeScript(dspy.Signature):
    """Implement the IR as one TypeScript function, checked with `tsc --strict` (ES2022, no Node APIs).

    - function_signature: copy the header (name, params in order, types).
    - Types: int, float -> number; bool -> boolean; list<T> -> T[]; map<string,V> -> Record<string, V>;
      optional<T> -> T | null.
    - body_statements: one line of code per item, no enclosing braces; every path returns.
    - Violated preconditions: throw new Error("...").
    """

    ir: FunctionIR = dspy.InputField(desc=_IR_DESC)
    header: str = dspy.InputField(desc=_HEADER_DESC)
    implementation: TypeScriptImplementation = dspy.OutputField(desc="The function as parts.")


class IRToRust(dspy.Signature):
    """Implement the IR as one Rust function, checked with `rustc --edition 2021 --crate-type lib`.

    - function_signature: copy the header (name, params in order, types); uses: the header's uses.
    - Types: int -> i64; float -> f64; string -> &str (param), String (result); list<T> -> &[T]
      (param), Vec<T> (result); map<string,V> -> HashMap<String, V>; optional<T> -> Option<T>.
    - body_statements: one line of code per item, no enclosing braces; the last expression is the result.
    - Violated preconditions: panic!("...").
    """

    ir: FunctionIR = dspy.InputField(desc=_IR_DESC)
    header: str = dspy.InputField(desc=_HEADER_DESC)
    implementation: RustImplementation = dspy.OutputField(desc="The function as parts.")


class IRToGo(dspy.Signature):
    """Implement the IR as one Go function in `package lib`, checked with `go build` and `go vet`.

    - function_signature: copy the header (name, params in order, types; "" for no result).
    - Types: int -> int; float -> float64; list<T> -> []T; map<string,V> -> map[string]V; optional<T> -> *T.
    - imports: only standard packages the body uses; an unused import is a compile error.
    - body_statements: one line of code per item, no enclosing braces; every path returns.
    - Violated preconditions: panic("...").
    """

    ir: FunctionIR = dspy.InputField(desc=_IR_DESC)
    header: str = dspy.InputField(desc=_HEADER_DESC)
    implementation: GoImplementation = dspy.OutputField(desc="The function as parts.")


class IRToJava(dspy.Signature):
    """Implement the IR as one Java 17 method (public static, in a final class), checked with `javac`.

    - function_signature: copy the header (name, params in order, types); imports: the header's.
    - Types: int -> int; float -> double; bool -> boolean; string -> String; list<T> -> List<T>;
      map<string,V> -> Map<String, V>; optional<int> -> Integer (null when absent).
    - imports: also java.util.ArrayList or java.util.HashMap when the body builds one.
    - body_statements: one line of code per item, no enclosing braces; every path returns.
    - Violated preconditions: throw new IllegalArgumentException("...").
    """

    ir: FunctionIR = dspy.InputField(desc=_IR_DESC)
    header: str = dspy.InputField(desc=_HEADER_DESC)
    implementation: JavaImplementation = dspy.OutputField(desc="The method as parts.")


class RepairCode(dspy.Signature):
    """Fix an implementation that the compiler rejected, keeping the IR's behaviour.

    Read each diagnostic and the source line it quotes, change only what it points at, and return
    the complete corrected implementation: the same signature unless the error is in it, all
    needed imports and no unused ones, every body line.
    """

    language: str = dspy.InputField(desc="typescript, rust, go or java.")
    ir: FunctionIR = dspy.InputField(desc=_IR_DESC)
    previous: Implementation = dspy.InputField(desc="The implementation that failed to compile.")
    diagnostics: str = dspy.InputField(desc="The compiler's errors, each with the source line it is about.")
    implementation: Implementation = dspy.OutputField(desc="The corrected implementation, complete.")


class RepairTypeScript(RepairCode):
    """Fix a TypeScript implementation that `tsc --strict` rejected, keeping the IR's behaviour.

    Read each diagnostic and the source line under it, change only what it points at, and return
    the complete corrected implementation with every body line.
    """

    previous: TypeScriptImplementation = dspy.InputField(desc="The implementation that failed to compile.")
    implementation: TypeScriptImplementation = dspy.OutputField(desc="The corrected implementation.")


class RepairRust(RepairCode):
    """Fix a Rust implementation that `rustc` rejected, keeping the IR's behaviour.

    Read each diagnostic and the source lines it quotes (follow its help lines), change only what
    it points at, and return the complete corrected implementation.
    """

    previous: RustImplementation = dspy.InputField(desc="The implementation that failed to compile.")
    implementation: RustImplementation = dspy.OutputField(desc="The corrected implementation.")


class RepairGo(RepairCode):
    """Fix a Go implementation that `go build`/`go vet` rejected, keeping the IR's behaviour.

    Read each diagnostic and the source line under it, change only what it points at (drop unused
    imports, add missing ones), and return the complete corrected implementation.
    """

    previous: GoImplementation = dspy.InputField(desc="The implementation that failed to compile.")
    implementation: GoImplementation = dspy.OutputField(desc="The corrected implementation.")


class RepairJava(RepairCode):
    """Fix a Java implementation that `javac` rejected, keeping the IR's behaviour.

    Read each diagnostic and the source line it quotes, change only what it points at (add
    missing java.util imports), and return the complete corrected implementation.
    """

    previous: JavaImplementation = dspy.InputField(desc="The implementation that failed to compile.")
    implementation: JavaImplementation = dspy.OutputField(desc="The corrected implementation.")


_IR_TO_CODE: dict[Language, type[dspy.Signature]] = {
    "typescript": IRToTypeScript,
    "rust": IRToRust,
    "go": IRToGo,
    "java": IRToJava,
}
_REPAIR: dict[Language, type[dspy.Signature]] = {
    "typescript": RepairTypeScript,
    "rust": RepairRust,
    "go": RepairGo,
    "java": RepairJava,
}


def _pick(table: dict[Language, type[dspy.Signature]], language: str) -> type[dspy.Signature]:
    key = language.strip().lower()
    key = {"ts": "typescript", "rs": "rust", "golang": "go"}.get(key, key)
    for lang in LANGUAGES:
        if lang == key:
            return table[lang]
    raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")


def ir_to_code_signature(language: str) -> type[dspy.Signature]:
    """The IR -> implementation signature for ``language`` (``"ts"``, ``"rs"``, ``"golang"`` accepted).

    Raises:
        ValueError: Unknown language; the message lists the valid ones.
    """
    return _pick(_IR_TO_CODE, language)


def repair_signature(language: str) -> type[dspy.Signature]:
    """The repair signature for ``language``: same inputs as :class:`RepairCode`, typed output.

    Raises:
        ValueError: Unknown language; the message lists the valid ones.
    """
    return _pick(_REPAIR, language)


# -- The function as raw source under a language grammar (IRToCode's default code form) -----------
#
# The output field ``code`` is a plain ``str`` here; IRToCode narrows it per call to
# ``Annotated[str, lift_dspy.Grammar(code_grammar(language, header))]``, so the header is forced
# and the model writes only the std imports it needs and the body.

_CODE_DESC = (
    "Imports the body needs (standard library only), then the complete function: the header, then the body."
)


class IRToSource(dspy.Signature):
    """Implement the IR as one function. Write only code, no explanations and no markdown."""

    ir: FunctionIR = dspy.InputField(desc=_IR_DESC)
    header: str = dspy.InputField(desc="The function's header, fixed: write the body that follows it.")
    code: str = dspy.OutputField(desc=_CODE_DESC)


class IRToTypeScriptSource(IRToSource):
    """Implement the IR as one TypeScript function, checked with `tsc --strict` (ES2022, no Node APIs).

    - Start with the header exactly as given, then the body in braces; every path returns.
    - Use const/let, for...of loops, Math.*, array methods. No imports.
    - Violated preconditions: throw new Error("...").
    """


class IRToRustSource(IRToSource):
    """Implement the IR as one Rust function, checked with `rustc --edition 2021 --crate-type lib`.

    - First the `use std::...;` lines the body needs, then the header exactly as given and the body.
    - The last expression (no semicolon) is the result; use `let mut` for variables you change.
    - Violated preconditions: panic!("...").
    """


class IRToGoSource(IRToSource):
    """Implement the IR as one Go function in `package lib`, checked with `go build` and `go vet`.

    - First `import "..."` lines for the standard packages the body uses (an unused import is an
      error), then the header exactly as given and the body; every path returns.
    - Violated preconditions: panic("...").
    """


class IRToJavaSource(IRToSource):
    """Implement the IR as one Java 17 method (public static, placed in a final class), checked with `javac`.

    - First `import java.util.*;`-style lines the body needs (List, Map, ArrayList, HashMap...), then
      the header exactly as given and the body; every path returns.
    - Violated preconditions: throw new IllegalArgumentException("...").
    """


class RepairSource(dspy.Signature):
    """Fix a function that the compiler rejected, keeping the IR's behaviour.

    Read each diagnostic and the source line it quotes, change only what it points at, and write
    the complete corrected function again: the imports it needs, the same header, every line of
    the body.
    """

    language: str = dspy.InputField(desc="typescript, rust, go or java.")
    ir: FunctionIR = dspy.InputField(desc=_IR_DESC)
    previous: str = dspy.InputField(desc="The function that failed to compile.")
    diagnostics: str = dspy.InputField(desc="The compiler's errors, each with the source line it is about.")
    code: str = dspy.OutputField(desc="The corrected imports and function, complete.")


_IR_TO_SOURCE: dict[Language, type[dspy.Signature]] = {
    "typescript": IRToTypeScriptSource,
    "rust": IRToRustSource,
    "go": IRToGoSource,
    "java": IRToJavaSource,
}


def ir_to_source_signature(language: str) -> type[dspy.Signature]:
    """The IR -> raw source signature for ``language`` (output ``code: str``).

    Raises:
        ValueError: Unknown language; the message lists the valid ones.
    """
    return _pick(_IR_TO_SOURCE, language)


def repair_source_signature(language: str) -> type[dspy.Signature]:
    """The repair signature of the raw-source form (the same for every language; checks the name).

    Raises:
        ValueError: Unknown language; the message lists the valid ones.
    """
    _pick(_IR_TO_SOURCE, language)
    return RepairSource
