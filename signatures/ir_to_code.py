"""DSPy signatures of the IR-to-code pipeline: request -> IR -> implementation -> repaired implementation.

The docstrings and field descriptions below are the prompt, so they are short and concrete; the
output types (``lift_dspy.schemas``) are the constraint. Use them with any DSPy module::

    import dspy
    from lift_dspy.signatures.ir_to_code import NLToIR, ir_to_code_signature

    ir = dspy.Predict(NLToIR)(request="clamp an integer to a range").ir
    impl = dspy.Predict(ir_to_code_signature("rust"))(ir=ir).implementation
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
    "IRToJava",
    "IRToRust",
    "IRToTypeScript",
    "NLToIR",
    "RepairCode",
    "RepairGo",
    "RepairJava",
    "RepairRust",
    "RepairTypeScript",
    "ir_to_code_signature",
    "repair_signature",
]

_IR_DESC = "The function to implement: name, params with IR types, returns, conditions, examples."


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

    The parts are assembled as `export function name(params): return_type { body }`.
    - name: the IR name in camelCase; params: the IR params in order, names in camelCase.
    - Types: int, float -> number; bool -> boolean; string -> string; list<T> -> T[];
      map<string,V> -> Record<string, V>; optional<T> -> T | null; void -> void.
    - body_statements: one line per item, no enclosing braces; every path returns a value.
    - Violated preconditions: throw new Error("...").
    """

    ir: FunctionIR = dspy.InputField(desc=_IR_DESC)
    implementation: TypeScriptImplementation = dspy.OutputField(desc="The function as parts.")


class IRToRust(dspy.Signature):
    """Implement the IR as one Rust function, checked with `rustc --edition 2021 --crate-type lib`.

    The parts are assembled as `pub fn name(params) -> return_type { body }` after the `use` lines.
    - name and params: the IR names in snake_case, in order.
    - Types: int -> i64; float -> f64; bool -> bool; string -> &str (param) or String (result);
      list<T> -> &[T] (param) or Vec<T> (result); map<string,V> -> HashMap<String, V> with
      uses ["std::collections::HashMap"]; optional<T> -> Option<T>; void -> ().
    - body_statements: one line per item, no enclosing braces; the last expression is the result.
    - Violated preconditions: panic!("...").
    """

    ir: FunctionIR = dspy.InputField(desc=_IR_DESC)
    implementation: RustImplementation = dspy.OutputField(desc="The function as parts.")


class IRToGo(dspy.Signature):
    """Implement the IR as one Go function in `package lib`, checked with `go build` and `go vet`.

    The parts are assembled as `func Name(params) return_type { body }` after the imports.
    - name: the IR name in MixedCaps; params: the IR params in order, names in camelCase.
    - Types: int -> int; float -> float64; bool -> bool; string -> string; list<T> -> []T;
      map<string,V> -> map[string]V; optional<T> -> *T; void -> "" (empty return_type).
    - imports: only standard packages the body uses; an unused import is a compile error.
    - body_statements: one line per item, no enclosing braces; every path returns.
    - Violated preconditions: panic("...").
    """

    ir: FunctionIR = dspy.InputField(desc=_IR_DESC)
    implementation: GoImplementation = dspy.OutputField(desc="The function as parts.")


class IRToJava(dspy.Signature):
    """Implement the IR as one Java 17 method, checked with `javac`.

    The parts are assembled as `public static return_type name(params) { body }` inside a final
    class named after the method.
    - name: the IR name in camelCase; params: the IR params in order, names in camelCase.
    - Types: int -> int; float -> double; bool -> boolean; string -> String;
      list<int> -> List<Integer> (import java.util.List; java.util.ArrayList to build one);
      map<string,V> -> Map<String, V> (import java.util.Map, java.util.HashMap);
      optional<int> -> Integer (null when absent); void -> void.
    - body_statements: one line per item, no enclosing braces; every path returns.
    - Violated preconditions: throw new IllegalArgumentException("...").
    """

    ir: FunctionIR = dspy.InputField(desc=_IR_DESC)
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
