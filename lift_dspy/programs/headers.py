"""IR -> the function header each language should have, derived deterministically.

The IR's types are a closed set (``schemas/json/function_ir.schema.json``), so the header of
the function in every target language follows from the IR alone. IRToCode shows it to the LM
as a hint: copying a header is easy even for a small model, choosing ``i64`` over ``int`` or
``List<Integer>`` over ``int[]`` is not::

    >>> from lift_dspy.programs.headers import header_hint
    >>> ir = {"name": "sum_all", "purpose": "Sum a list.", "effects": ["pure"],
    ...       "params": [{"name": "values", "type": "list<int>", "description": "The numbers."}],
    ...       "returns": {"type": "int", "description": "The sum."},
    ...       "preconditions": [], "postconditions": [], "examples": []}
    >>> print(header_hint("java", ir))
    public static int sumAll(List<Integer> values)
    imports: java.util.List
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from lift_dspy.schemas import IMPLEMENTATION_MODELS, FunctionIR, Language

__all__ = [
    "TYPE_MAP",
    "function_header",
    "header_hint",
    "pinned_implementation_model",
    "suggested_imports",
    "suggested_signature",
]

# (parameter type, result type) per IR type; they differ where Rust borrows its inputs.
TYPE_MAP: dict[Language, dict[str, tuple[str, str]]] = {
    "typescript": {
        "int": ("number", "number"),
        "float": ("number", "number"),
        "bool": ("boolean", "boolean"),
        "string": ("string", "string"),
        "list<int>": ("number[]", "number[]"),
        "list<float>": ("number[]", "number[]"),
        "list<string>": ("string[]", "string[]"),
        "list<bool>": ("boolean[]", "boolean[]"),
        "map<string,int>": ("Record<string, number>", "Record<string, number>"),
        "map<string,string>": ("Record<string, string>", "Record<string, string>"),
        "optional<int>": ("number | null", "number | null"),
        "optional<string>": ("string | null", "string | null"),
        "void": ("void", "void"),
    },
    "rust": {
        "int": ("i64", "i64"),
        "float": ("f64", "f64"),
        "bool": ("bool", "bool"),
        "string": ("&str", "String"),
        "list<int>": ("&[i64]", "Vec<i64>"),
        "list<float>": ("&[f64]", "Vec<f64>"),
        "list<string>": ("&[String]", "Vec<String>"),
        "list<bool>": ("&[bool]", "Vec<bool>"),
        "map<string,int>": ("&HashMap<String, i64>", "HashMap<String, i64>"),
        "map<string,string>": ("&HashMap<String, String>", "HashMap<String, String>"),
        "optional<int>": ("Option<i64>", "Option<i64>"),
        "optional<string>": ("Option<&str>", "Option<String>"),
        "void": ("()", "()"),
    },
    "go": {
        "int": ("int", "int"),
        "float": ("float64", "float64"),
        "bool": ("bool", "bool"),
        "string": ("string", "string"),
        "list<int>": ("[]int", "[]int"),
        "list<float>": ("[]float64", "[]float64"),
        "list<string>": ("[]string", "[]string"),
        "list<bool>": ("[]bool", "[]bool"),
        "map<string,int>": ("map[string]int", "map[string]int"),
        "map<string,string>": ("map[string]string", "map[string]string"),
        "optional<int>": ("*int", "*int"),
        "optional<string>": ("*string", "*string"),
        "void": ("", ""),
    },
    "java": {
        "int": ("int", "int"),
        "float": ("double", "double"),
        "bool": ("boolean", "boolean"),
        "string": ("String", "String"),
        "list<int>": ("List<Integer>", "List<Integer>"),
        "list<float>": ("List<Double>", "List<Double>"),
        "list<string>": ("List<String>", "List<String>"),
        "list<bool>": ("List<Boolean>", "List<Boolean>"),
        "map<string,int>": ("Map<String, Integer>", "Map<String, Integer>"),
        "map<string,string>": ("Map<String, String>", "Map<String, String>"),
        "optional<int>": ("Integer", "Integer"),
        "optional<string>": ("String", "String"),
        "void": ("void", "void"),
    },
}


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words a parameter or function may not be called in each language (keywords and literals; Java's
# and TypeScript's contextual ones that break a declaration too). An IR name that is one gets a
# trailing underscore, so the pinned header always parses.
_RESERVED: dict[str, frozenset[str]] = {
    "java": _wordset(
        "abstract assert boolean break byte case catch char class const continue default do double else "
        "enum extends final finally float for goto if implements import instanceof int interface long "
        "native new package private protected public return short static strictfp super switch "
        "synchronized this throw throws transient try void volatile while true false null var record "
        "yield sealed permits non-sealed _"
    ),
    "go": _wordset(
        "break case chan const continue default defer else fallthrough for func go goto if import "
        "interface map package range return select struct switch type var"
    ),
    "typescript": _wordset(
        "break case catch class const continue debugger default delete do else enum export extends false "
        "finally for function if import in instanceof new null return super switch this throw true try "
        "typeof var void while with implements interface let package private protected public static "
        "yield await arguments eval"
    ),
    "rust": _wordset(
        "as break const continue crate else enum extern false fn for if impl in let loop match mod move "
        "mut pub ref return self Self static struct super trait true type unsafe use where while async "
        "await dyn abstract become box do final macro override priv typeof unsized virtual yield try "
        "union _"
    ),
}


def _safe(language: Language, name: str) -> str:
    """``name``, with a trailing underscore when it is a reserved word of ``language``."""
    return f"{name}_" if name in _RESERVED[language] else name


def _words(name: str) -> list[str]:
    return [w for w in name.split("_") if w]


def _camel(name: str) -> str:
    words = _words(name)
    return (words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])) if words else name


def _function_name(language: Language, name: str) -> str:
    if language == "rust":
        return name
    if language == "go":  # exported MixedCaps
        return "".join(w[:1].upper() + w[1:] for w in _words(name)) or name
    return _camel(name)


def _as_ir(ir: FunctionIR | BaseModel | Mapping[str, Any]) -> FunctionIR:
    if isinstance(ir, FunctionIR):
        return ir
    return FunctionIR.model_validate(ir.model_dump() if isinstance(ir, BaseModel) else dict(ir))


def suggested_signature(language: Language, ir: FunctionIR | BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """The ``function_signature`` object the IR implies for ``language``."""
    fir = _as_ir(ir)
    types = TYPE_MAP[language]
    param_name = (lambda n: n) if language == "rust" else _camel
    return {
        "name": _safe(language, _function_name(language, fir.name)),
        "params": [
            {"name": _safe(language, param_name(p.name)), "type": types[p.type][0]} for p in fir.params
        ],
        "return_type": types[fir.returns.type][1],
    }


def suggested_imports(language: Language, ir: FunctionIR | BaseModel | Mapping[str, Any]) -> list[str]:
    """Imports (``uses`` for Rust) that the header's types need; Go and TypeScript need none."""
    fir = _as_ir(ir)
    used = {p.type for p in fir.params} | {fir.returns.type}
    needs: list[str] = []
    if language == "java":
        if any(t.startswith("list<") for t in used):
            needs.append("java.util.List")
        if any(t.startswith("map<") for t in used):
            needs.append("java.util.Map")
    if language == "rust" and any(t.startswith("map<") for t in used):
        needs.append("std::collections::HashMap")
    return needs


def function_header(language: Language, ir: FunctionIR | BaseModel | Mapping[str, Any]) -> str:
    """The function header line the IR implies, as it will be assembled (what the grammar forces)."""
    sig = suggested_signature(language, ir)
    name, ret = sig["name"], sig["return_type"]
    if language == "typescript":
        params = ", ".join(f"{p['name']}: {p['type']}" for p in sig["params"])
        line = f"export function {name}({params}): {ret}"
    elif language == "rust":
        params = ", ".join(f"{p['name']}: {p['type']}" for p in sig["params"])
        line = f"pub fn {name}({params})" + ("" if ret == "()" else f" -> {ret}")
    elif language == "go":
        params = ", ".join(f"{p['name']} {p['type']}" for p in sig["params"])
        line = f"func {name}({params})" + (f" {ret}" if ret else "")
    else:
        params = ", ".join(f"{p['type']} {p['name']}" for p in sig["params"])
        line = f"public static {ret} {name}({params})"
    return line


def header_hint(language: Language, ir: FunctionIR | BaseModel | Mapping[str, Any]) -> str:
    """What IRToCode shows the LM: `function_header`, plus a line naming the imports its types need."""
    imports = suggested_imports(language, ir)
    label = "uses" if language == "rust" else "imports"
    return function_header(language, ir) + (f"\n{label}: {', '.join(imports)}" if imports else "")


header = header_hint  # the name before header_hint (kept for existing imports)


def _const(value: str) -> Any:
    """``Literal[value]`` built at run time (a JSON Schema ``const``)."""
    annotation: Any = Literal[value]
    return annotation


@functools.lru_cache(maxsize=256)
def _pinned(language: Language, signature_json: str) -> type[BaseModel]:
    sig = json.loads(signature_json)
    closed = ConfigDict(extra="forbid")
    params = [
        create_model(
            f"Param{i}", __config__=closed, name=(_const(p["name"]), ...), type=(_const(p["type"]), ...)
        )
        for i, p in enumerate(sig["params"])
    ]
    # A fixed-length tuple is JSON Schema prefixItems; no parameters is an array that stays empty.
    params_type: Any = Annotated[list[str], Field(max_length=0)]
    if params:
        params_type = tuple.__class_getitem__(tuple(params))

    def as_const(schema: dict[str, Any]) -> None:
        # One JSON Schema const instead of a $defs entry per parameter: the same constraint, far
        # fewer prompt tokens (DSPy's chat prompt prints the output schema).
        schema.clear()
        schema["const"] = sig

    signature_model = create_model(
        "FunctionSignature",
        __config__=ConfigDict(extra="forbid", json_schema_extra=as_const),
        name=(_const(sig["name"]), ...),
        params=(params_type, ...),
        return_type=(_const(sig["return_type"]), ...),
    )
    base = IMPLEMENTATION_MODELS[language]
    model: type[BaseModel] = create_model(
        base.__name__, __base__=base, function_signature=(signature_model, ...)
    )
    return model


def pinned_implementation_model(
    language: Language, ir: FunctionIR | BaseModel | Mapping[str, Any]
) -> type[BaseModel]:
    """The language's implementation model with ``function_signature`` fixed to the IR's header.

    Every part of the signature becomes a ``const`` in the grammar, so the LM cannot get a name
    or type wrong; it writes only imports, helper types and the body. Instances dump to the same
    JSON as the regular model. Cached per (language, header).
    """
    return _pinned(language, json.dumps(suggested_signature(language, ir)))
