"""Code grammars: each compiles, accepts real-looking functions, rejects what small models get wrong.

Texts are matched whole with llguidance on the byte tokenizer (lift_dspy.constraints.check), so a
text passes exactly when its bytes are a sentence of the grammar.
"""

from __future__ import annotations

import pytest

import lift_dspy
from lift_dspy.constraints.check import GrammarMatcher, compile_grammar, grammar_from_lark
from lift_dspy.constraints.code import (
    CHARS_PER_STATEMENT,
    CODE_LANGUAGES,
    STD_IMPORTS,
    UnsupportedLanguageError,
    code_grammar,
    split_code,
)
from lift_dspy.programs import code_grammar as reexported


def _matcher(language: str, header: str | None = None, **bounds: int) -> GrammarMatcher:
    return GrammarMatcher(grammar_from_lark(code_grammar(language, header, **bounds)))


def accepts(language: str, text: str, header: str | None = None, **bounds: int) -> bool:
    return _matcher(language, header, **bounds).mismatch(text) is None


ACCEPTED = {
    "go": [
        "func clamp(x, lo, hi int) int {\n\tif x < lo {\n\t\treturn lo\n\t}\n\treturn min(x, hi)\n}",
        'import "fmt"\n\nfunc show(xs []int) (string, error) {\n\tm := map[string]int{"a": 1}\n'
        "\tfor i, v := range xs {\n\t\tm[fmt.Sprint(i)] += v\n\t}\n\ta, b := 1, 2\n\ta, b = b, a\n"
        "\tfor i := 0; i < 3; i++ {\n\t\tif i == 1 {\n\t\t\tcontinue\n\t\t}\n\t}\n"
        '\tif len(m) > 1 &&\n\t\tlen(xs) > 2 {\n\t\tm["b"] = 2; m["c"] = 3\n\t}\n'
        "\treturn fmt.Sprint(m), nil\n}",
        'import (\n\t"sort"\n\t"strings"\n)\n\nfunc keep[T any](a []T, f func(T) bool) []T {\n'
        "\tout := make([]T, 0, len(a))\n\tfor _, x := range a {\n\t\tif !f(x) {\n\t\t\tcontinue\n\t\t}\n"
        "\t\tout = append(out, x)\n\t}\n\tsort.Slice(out, func(i, j int) bool { return i < j })\n"
        '\t_ = strings.TrimSpace(" x ")[1:]\n\tswitch v := any(a).(type) {\n\tcase []int:\n\t\t_ = v\n'
        "\tdefault:\n\t}\n\tp := &struct{ X int }{X: 1}\n\tfor {\n\t\tbreak\n\t}\n\treturn out // done\n}",
    ],
    "rust": [
        "fn clamp(x: i32, lo: i32, hi: i32) -> i32 {\n"
        "    if x < lo { lo } else if x > hi { hi } else { x }\n}",
        "use std::collections::HashMap;\n\npub fn count(words: &[&str]) -> HashMap<String, usize> {\n"
        "    let mut m = HashMap::new();\n    for w in words.iter() {\n"
        "        *m.entry(w.to_string()).or_insert(0) += 1;\n    }\n    m\n}",
        "fn parse(s: &str) -> Result<Vec<u32>, std::num::ParseIntError> {\n"
        "    let v: Vec<u32> = s.split(',').map(|x| x.trim().parse::<u32>()).collect::<Result<_, _>>()?;\n"
        '    match v.len() {\n        0 => return Ok(vec![]),\n        n if n > 3 => println!("big {}", n),\n'
        "        _ => {}\n    }\n    if let Some(x) = v.first() {\n        let _y = *x as u64;\n    }\n"
        "    Ok(v)\n}",
        "fn walk<'a, T: Clone + 'a>(x: &'a mut Vec<Vec<T>>) where T: Default {\n"
        "    let arr = [0u8; 4];\n    let t = (1, 2.0, 'c', arr[0]);\n    'outer: loop {\n"
        "        break 'outer;\n    }\n    while let Some(y) = x.pop() {\n        let _ = y.len();\n"
        '    }\n    let s = format!("{:?}", t);\n    x.push(Vec::new());\n}',
    ],
    "java": [
        "public static int clamp(int x, int lo, int hi) {\n    return Math.max(lo, Math.min(x, hi));\n}",
        "import java.util.*;\nimport java.util.function.Function;\n\n@Override\n"
        "public <T extends Comparable<T>> List<T> sorted(List<T> xs) throws Exception {\n"
        "    List<T> out = new ArrayList<>(xs);\n    Collections.sort(out, (a, b) -> a.compareTo(b));\n"
        "    for (T x : out) {\n        if (x == null) continue;\n    }\n"
        "    int[] arr = new int[]{1, 2, 3};\n"
        '    Map<String, List<Integer>> m = new HashMap<>();\n    String s = arr[0] > 0 ? "a" : "b";\n'
        "    long y = (long) arr[0] << 2;\n    switch (s) {\n"
        '        case "a": break;\n        default: y++;\n'
        "    }\n    try {\n        y /= 2;\n    } catch (IllegalStateException | ArithmeticException e) {\n"
        "        throw new RuntimeException(e);\n    } finally {\n        y = 0;\n    }\n"
        "    return out.stream().filter(Objects::nonNull).toList();\n}",
    ],
    "typescript": [
        "function clamp(x: number, lo: number, hi: number): number {\n"
        "  return Math.max(lo, Math.min(x, hi));\n}",
        "export async function group<T extends object>(xs: T[], key: keyof T): Promise<Map<string, T[]>> {\n"
        "  const m = new Map<string, T[]>();\n  for (const x of xs) {\n    const k = String(x[key]);\n"
        "    (m.get(k) ?? m.set(k, []).get(k)!).push(x);\n  }\n  const { a, b: [c, ...d] } = xs as any;\n"
        "  let s = `x ${a} y`;\n  const re = /a[/]b/g;\n  xs.forEach((x, i) => {\n    if (i > 2) return;\n"
        "  });\n  return m\n}",
    ],
}

# The failures the issue saw from a 135M model, and the usual ways small models break code.
REJECTED = {
    "go": [
        'import "clamp"\n\nfunc clamp(x, lo, hi int) int {\n\treturn x\n}',
        "func clamp(x, lo, hi int) int {\n\treturn clamp; return clamp; return clamp;\n}",
        "func clamp(x, lo, hi int) int {\n\treturn x\n\treturn x\n}",
        "func clamp(x int) int {\n\treturn x\n}\nreturn 0",
        "func clamp(x int) int {\n\treturn (x\n}",
        "func clamp(x int) int {\n\treturn x == == 1\n}",
        "func (s *S) method() int {\n\treturn 0\n}",
        "func f() {\n\tx := 1 y := 2\n}",  # two statements on one line need a `;`
        "func f(a, b bool) {\n\tif a\n\t\t&& b {\n\t}\n}",  # Go ends the line after `a`
        "package main\n\nfunc f() {}",
    ],
    "rust": [
        "fn f() -> i32 {\n    return 1;\n    return 2;\n}",
        "fn f() -> i32 {\n    1\n}\nfn g() {}",
        "fn f() -> i32 {\n    (1\n}",
        "use regex::Regex;\nfn f() {}",
        "fn f() -> bool {\n    1 == == 2\n}",
    ],
    "java": [
        "public int f() {\n    return 0;\n}\nreturn 0;\nreturn 0;",
        "public int f() {\n    return 0;\n    return 0;\n}",
        "public int f() {\n    return (0;\n}",
        "import com.google.common.Foo;\npublic int f() {\n    return 0;\n}",
        "public boolean f(int a) {\n    return a == == 0;\n}",
    ],
    "typescript": [
        "function f(): number {\n  return 1;\n  return 2;\n}",
        "function f(): number {\n  return 1;\n}\nreturn 1;",
        "function f(): number {\n  return ((1);\n}",
        'import { x } from "lodash";\nfunction f(): number {\n  return 1;\n}',
        "function f(a: number): boolean {\n  return a === === 1;\n}",
        "function f(): number {\n  let a = 1 let b = 2;\n  return a + b;\n}",  # one line, no `;`
    ],
}


@pytest.mark.parametrize("language", CODE_LANGUAGES)
def test_each_grammar_compiles(language: str) -> None:
    assert compile_grammar(grammar_from_lark(code_grammar(language))) == ""


@pytest.mark.parametrize(("language", "text"), [(lang, t) for lang, ts in ACCEPTED.items() for t in ts])
def test_accepted(language: str, text: str) -> None:
    assert _matcher(language).mismatch(text) is None


@pytest.mark.parametrize(("language", "text"), [(lang, t) for lang, ts in REJECTED.items() for t in ts])
def test_rejected(language: str, text: str) -> None:
    assert _matcher(language).mismatch(text) is not None


HEADERS = {
    "go": ("func clamp(x, lo, hi int) int", "{\n\treturn max(lo, min(x, hi))\n}", 'import "math"\n'),
    "rust": ("fn clamp(x: i32, lo: i32, hi: i32) -> i32", "{\n    x.max(lo).min(hi)\n}", "use std::cmp;\n"),
    "java": (
        "public static int clamp(int x, int lo, int hi)",
        "{\n    return Math.max(lo, Math.min(x, hi));\n}",
        "import java.lang.Math;\n",
    ),
    "typescript": (
        "function clamp(x: number, lo: number, hi: number): number",
        "{\n  return Math.max(lo, Math.min(x, hi));\n}",
        "",  # TypeScript needs no import
    ),
}


@pytest.mark.parametrize("language", CODE_LANGUAGES)
def test_header_is_forced_and_only_the_body_is_free(language: str) -> None:
    header, body, imports = HEADERS[language]
    matcher = _matcher(language, header)
    assert matcher.mismatch(f"{header} {body}") is None
    assert matcher.mismatch(f"{imports}{header} {body}") is None
    renamed = header.replace("clamp", "clamp2")
    assert matcher.mismatch(f"{renamed} {body}") is not None
    assert matcher.mismatch(f"{header} {body}\n{body}") is not None
    assert matcher.mismatch(f"{header} {body}\n") is not None  # the answer ends at the brace
    assert code_grammar(language, header + " {") == code_grammar(language, header)


def test_statement_cap_per_block() -> None:
    body = "".join(f"\tx{i} := {i}\n" for i in range(5))
    text = f"func f() {{\n{body}}}"
    assert accepts("go", text, max_statements=5)
    assert not accepts("go", text, max_statements=4)
    nested = f"func f() {{\n{body}\t{{\n{body}\t}}\n}}"
    assert not accepts("go", nested, max_statements=5)  # six statements: five and the nested block
    assert accepts("go", nested, max_statements=6)


def test_body_budget_lowers_the_statement_cap() -> None:
    body = "".join(f"    let x{i} = {i};\n" for i in range(6))
    text = f"fn f() {{\n{body}}}"
    assert accepts("rust", text, max_body_chars=6 * CHARS_PER_STATEMENT)
    assert not accepts("rust", text, max_body_chars=5 * CHARS_PER_STATEMENT)
    assert code_grammar("rust", max_body_chars=10_000) == code_grammar("rust")
    with pytest.raises(ValueError, match="max_statements"):
        code_grammar("go", max_statements=0)


def test_imports_come_only_from_the_standard_library() -> None:
    assert accepts("go", 'import (\n\t"fmt"\n\tstr "strings"\n\t"unicode/utf8"\n)\n\nfunc f() {}')
    assert not accepts("go", 'import "github.com/x/y"\n\nfunc f() {}')
    assert "container/heap" in STD_IMPORTS["go"]
    assert "clamp" not in STD_IMPORTS["go"]
    assert accepts("java", "import static java.lang.Math.max;\nimport javax.swing.*;\nvoid f() {}")
    assert not accepts("java", "import org.junit.Test;\nvoid f() {}")
    rust_ok = "use std::collections::{HashMap, HashSet};\nuse core::cmp::Ordering as O;\nfn f() {}"
    assert accepts("rust", rust_ok)
    assert not accepts("rust", "use serde::Serialize;\nfn f() {}")
    assert not accepts("typescript", 'import { readFileSync } from "fs";\nfunction f() {}')


def test_unsupported_language_is_a_typed_error() -> None:
    with pytest.raises(UnsupportedLanguageError, match="python") as info:
        code_grammar("python")
    assert isinstance(info.value, lift_dspy.LiftDSPyError)
    assert isinstance(info.value, ValueError)
    assert info.value.language == "python"
    assert "rust" in str(info.value)
    assert code_grammar("rs") == code_grammar("rust")


def test_grammar_is_cached_and_reexported() -> None:
    assert code_grammar("go") is code_grammar("go")
    assert reexported is code_grammar


@pytest.mark.parametrize(
    ("language", "text", "imports"),
    [
        ("go", 'import (\n\t"fmt"\n)\n\nfunc f() {\n\tfmt.Println()\n}', 'import (\n\t"fmt"\n)'),
        ("rust", "use std::fmt;\n\nfn f() {}", "use std::fmt;"),
        ("java", "import java.util.List;\n// note\nint f() { return 0; }", "import java.util.List;"),
        ("typescript", "function f() {}", ""),
    ],
)
def test_split_code(language: str, text: str, imports: str) -> None:
    got_imports, function = split_code(language, text)
    assert got_imports == imports
    assert (got_imports + "\n" + function).strip().endswith("}")
    assert accepts(language, text)


# llguidance lexemes need no separator: without a mandatory blank after these keywords, `imports`
# would read as `import s` and `fnf` as `fn f` (seen on SmolLM2: `imports` then comments forever).
GLUED = {
    "go": [
        'imports "fmt"\n\nfunc f() {}',
        "funcF() {}",
        "func f(x int) int {\n\tif x > 0 {\n\t\treturn 1\n\t} elseif x < 0 {\n\t\treturn 2\n\t}\n"
        "\treturn 0\n}",
        "func f(xs []int) {\n\tfor _, x := rangexs {\n\t}\n}",
    ],
    "rust": [
        "fnf() {}",
        "pub fnf() {}",
        "usestd::fmt;\nfn f() {}",
        "fn f(x: i64) -> i32 { x asi32 }",
        "fn f(x: Vec<i32>) { for y inx {} }",
        "fn f(x: Option<i32>) -> i32 { match x { Some(y) ify > 0 => y, _ => 0 } }",
    ],
    "java": [
        "public int f(Object o) { return o instanceofString ? 1 : 0; }",
        "int f(int x) { switch (x) { case1: return 1; default: return 0; } }",
        "void f() throwsException {}",
        "import staticjava.lang.Math.max;\nvoid f() {}",
    ],
    "typescript": [
        "functionf() {}",
        "exportfunction f() {}",
        "function f(xs: number[]) { for (const x ofxs) {} }",
        "function f(x: any) { return x asnumber; }",
        "function f(x: number) { switch (x) { case1: return 1; } }",
    ],
}
SPACED = {
    "go": "func f() (int, error) {\n\tif x := 1; x > 0 {\n\t\treturn x, nil\n\t} else if x < 0 {\n"
    "\t\treturn // bare\n"
    "\t}\n\tvar c chan int\n\tgo func() {}()\n\tdefer func() {}()\n\tswitch {\n\tcase c == nil:\n\t}\n"
    "\tfor {\n\t\tbreak\n\t}\n\treturn 0, nil\n}",
    "rust": "pub(crate) fn f<T>(x: &mut T) -> i32\nwhere\n    T: Copy,\n{\n    let y = 1 as i64;\n"
    "    if let Some(z) = Some(y) { return z as i32; }\n    loop {\n        break;\n    }\n    0\n}",
    "java": "public int f(Object o) throws Exception {\n    if (o instanceof String s) {\n"
    "        return 1;\n    }\n    switch (o.hashCode()) {\n        case 1: break;\n"
    "        default: return 2;\n    }\n    return;\n}",
    "typescript": "export default async function* f<T extends object>(x: unknown): AsyncGenerator<T> {\n"
    "  for (const k in x as object) {\n    if (k instanceof Object) continue;\n  }\n  return;\n}",
}


@pytest.mark.parametrize(("language", "text"), [(lang, t) for lang, ts in GLUED.items() for t in ts])
def test_keyword_glued_to_a_word_is_rejected(language: str, text: str) -> None:
    assert not accepts(language, text)


@pytest.mark.parametrize("language", CODE_LANGUAGES)
def test_spaced_keywords_still_accepted(language: str) -> None:
    assert accepts(language, SPACED[language])
    assert accepts("typescript", "function() {}")  # anonymous: `function(` touches no word


def test_go_brace_stays_on_the_line() -> None:
    # Go's automatic semicolon makes `header NEWLINE {` a syntax error ("unexpected newline before {")
    header = "func CountVowels(a int) int"
    assert accepts("go", f"{header} {{\n\treturn 0\n}}", header)
    assert not accepts("go", f"{header}\n\n{{\n\treturn 0\n}}", header)
    assert not accepts("go", f"{header}\n{{\n\treturn 0\n}}")
    assert not accepts("go", f"{header} /*\n*/ {{\n\treturn 0\n}}", header)
    assert accepts("go", f"{header} /* ok */ {{\n\treturn 0\n}}", header)
    for bad in (
        "\tif x > 0\n\t{\n\t}\n",
        "\tif x > 0 {\n\t}\n\telse {\n\t}\n",
        "\tg := func()\n\t{\n\t}\n\t_ = g\n",
        "\tfor i := 0; i < 3; i++\n\t{\n\t}\n",
        "\tswitch x\n\t{\n\t}\n",
        "\tif x > 0 /*\n*/ {\n\t}\n",
    ):
        assert not accepts("go", f"func f(x int) {{\n{bad}}}"), bad


def _imports(language: str, n: int) -> str:
    line = {"go": 'import "fmt"\n', "rust": "use std::fmt;\n", "java": "import java.util.List;\n"}[language]
    return line * n


@pytest.mark.parametrize("language", ["go", "rust", "java"])
def test_import_lines_are_bounded(language: str) -> None:
    # SmolLM2 repeated `use std::iter::Iter;` a hundred times before the header
    function = {"go": "func f() {}", "rust": "fn f() {}", "java": "void f() {}"}[language]
    assert accepts(language, _imports(language, 12) + function)
    assert not accepts(language, _imports(language, 13) + function)


LIST_CALLS = {
    "go": "func f() {{\n\tg({})\n}}",
    "rust": "fn f() {{\n    g({});\n}}",
    "java": "void f() {{\n    g({});\n}}",
    "typescript": "function f() {{\n  g({});\n}}",
}
LIST_LITERALS = {
    "go": "func f() {{\n\t_ = []int{{{}}}\n}}",
    "rust": "fn f() {{\n    let _a = [{}];\n}}",
    "java": "void f() {{\n    int[] a = {{{}}};\n}}",
    "typescript": "function f() {{\n  const a = [{}];\n}}",
}


@pytest.mark.parametrize("language", CODE_LANGUAGES)
def test_arguments_and_list_elements_are_bounded(language: str) -> None:
    # SmolLM2 wrote `[..., 0, 1, 1, 1, 1, ...]` until the token limit
    for template in (LIST_CALLS[language], LIST_LITERALS[language]):
        assert accepts(language, template.format(", ".join(["1"] * 32)))
        assert not accepts(language, template.format(", ".join(["1"] * 33)))


@pytest.mark.parametrize("language", CODE_LANGUAGES)
def test_line_comments_are_bounded(language: str) -> None:
    function = {
        "go": "func f() int {{\n\tx := 1 // {}\n\treturn x\n}}",
        "rust": "fn f() -> i32 {{\n    let x = 1; // {}\n    x\n}}",
        "java": "int f() {{\n    int x = 1; // {}\n    return x;\n}}",
        "typescript": "function f(): number {{\n  const x = 1; // {}\n  return x;\n}}",
    }[language]
    # prose (`x x x`) cannot go on as code once the comment reaches its 160 characters
    assert accepts(language, function.format("x " * 79))
    assert not accepts(language, function.format("x " * 100))


def test_go_comment_and_blank_lines_in_a_row_are_bounded() -> None:
    # SmolLM2: `import "fmt"` then `// [go]` lines until max_tokens
    def text(lines: int) -> str:
        return 'import "fmt"\n' + "// [go]\n" * lines + "\nfunc f() {\n\treturn\n}"

    assert accepts("go", text(4))
    assert not accepts("go", text(20))
    assert accepts("go", "func f() {\n\tx := 1\n\n\n\n\n\t_ = x\n}")
    assert not accepts("go", "func f() {\n\tx := 1\n" + "\n" * 12 + "\t_ = x\n}")


def test_go_type_arguments_nest_at_most_three_deep() -> None:
    # SmolLM2 (dspy.Code["go"]): `func ode[ is a[ a[ a[ ...` until max_tokens
    assert accepts("go", "func f[T any](x A[B[C[D]]], m map[string][]P[int, L[string]]) {}")
    assert not accepts("go", "func f[T any](x A[B[C[D[E]]]]) {}")
    assert not accepts("go", "func ode[is a[a[a[a[a]]]]]() {}")


def test_java_type_arguments_nest_at_most_three_deep() -> None:
    assert accepts("java", "void f(Map<String, List<? extends Number[]>> x, A<B<C<D>>> y) {}")
    assert not accepts("java", "void f(A<B<C<D<E>>>> x) {}")


def test_typescript_type_arguments_nest_at_most_three_deep() -> None:
    ok = "function f(x: Map<string, Array<number[]>>): A<B<C<D>>> {\n  return new Map<string, Set<T>>();\n}"
    assert accepts("typescript", ok)
    assert not accepts("typescript", "function f(x: A<B<C<D<E>>>>): void {}")
