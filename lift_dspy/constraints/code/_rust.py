"""Rust: optional ``use std::…;``/``core::``/``alloc::`` lines, then one ``fn`` item.

Subset: ``let`` (patterns, types, ``let … else``), expression statements, tail expressions,
``if``/``if let``/``else``, ``match`` (guards, ``|`` patterns, bindings, ranges), ``loop``/
``while``/``while let``/``for`` with labels, ``break``/``continue`` with labels and values,
closures (``move``), references/``mut``/deref, ``?``, ``as`` casts, ranges, struct/tuple/array
literals, paths with turbofish, method chains, field and tuple-index access, ``unsafe`` blocks,
nested ``fn``/``const``/``use`` items, macros (``vec!``/``format!``/``println!``/``assert!``… as
expression lists, any other macro as balanced token trees), generics, lifetimes, ``where``,
``impl``/``dyn`` Trait types. A ``return``/``break``/``continue`` statement ends its block.
"""

GRAMMAR = r"""
// at most 12 `use` lines; lists (arguments, elements) hold at most 32 items
imports: use_decl{1,12}
use_decl: "pub "? "use " "::"? STD_CRATE ("::" use_tree)? ";"
use_tree: IDENT ("::" use_tree)? ("as " IDENT)? | "*" | "{" (use_tree ("," use_tree)* ","?)? "}"
        | "self" ("as " IDENT)?
STD_CRATE: "std" | "core" | "alloc"

fn_header: attribute* visibility? "const "? "async "? "unsafe "? ("extern " STRING?)? "fn " IDENT generics?
           "(" (param ("," param)* ","?)? ")" ("->" type)? where_clause?
attribute: ("#[" | "#![") token_tree* "]"
visibility: "pub" "(" ("crate" | "super" | "self" | "in " expr_path) ")" | "pub "
generics: "<" (generic_param ("," generic_param)* ","?)? ">"
generic_param: LIFETIME (":" LIFETIME ("+" LIFETIME)*)? | "const " IDENT ":" type ("=" expr)?
             | IDENT (":" bounds?)? ("=" type)?
bounds: bound ("+" bound)*
bound: LIFETIME | ("?" | "~" "const")? ("for" generics)? type_path | "(" bound ")"
where_clause: "where " (where_pred ("," where_pred)* ","?)?
where_pred: (LIFETIME | ("for" generics)? type) ":" bounds?
param: attribute* (pattern ":" type | self_param)
self_param: ("&" LIFETIME? "mut"?)? "mut"? "self" (":" type)?

body: block
block: "{" stmt@STMTS@ last? "}"
last: attribute* (jump ";"? | expr_noblock)
jump: "return " expr? | "return" | "break " LIFETIME? expr? | "break" | "continue " LIFETIME? | "continue"
stmt: ";" | item | let_stmt | attribute* (assign | range_expr) ";" | attribute* expr_block ";"?
item: attribute* visibility? (fn_item | const_item | use_item | extern_block | type_item)
type_item: "struct " IDENT generics? (";" | "(" token_tree* ")" where_clause? ";"
           | where_clause? "{" token_tree* "}")
         | "enum " IDENT generics? where_clause? "{" token_tree* "}" | "type " IDENT generics? "=" type ";"
extern_block: "unsafe "? "extern " STRING? "{" token_tree* "}"
fn_item: "const "? "async "? "unsafe "? "fn " IDENT generics? "(" (param ("," param)* ","?)? ")" ("->"
         type)? where_clause? block
const_item: ("const " | "static " "mut "?) IDENT ":" type "=" expr ";"
use_item: "use " ("crate" | "self" | "super" | STD_CRATE) ("::" use_tree)? ";"
let_stmt: attribute* "let " pattern (":" type)? ("=" expr ("else" block)?)? ";"

expr: expr_noblock | expr_block
// `unsafe`/`async` also start items (`unsafe fn`): both spellings, or `unsafe {` would lex as `unsafe ` `{`
expr_block: block | ("unsafe" | "unsafe ") block | ("async" | "async ") "move"? block | if_expr
          | match_expr | loop_expr
if_expr: "if " cond block ("else " (if_expr | block))?
cond: expr_ns | "let " pattern "=" expr_ns | cond "&&" cond
match_expr: "match " expr_ns "{" (match_arm ("," match_arm)* ","?)? "}"
          | "match " expr_ns "{" match_arm_block* (match_arm ","?)? "}"
match_arm: attribute* pattern ("if " expr)? "=>" expr
match_arm_block: (attribute* pattern ("if " expr)? "=>" expr_block ","?) | (attribute* pattern ("if "
                 expr)? "=>" expr ",")
loop_expr: (LIFETIME ":")? ("loop" block | "while " cond block | "for " pattern "in " expr_ns block)

expr_noblock: assign | jump | range_expr
assign: lhs assign_op expr
lhs: unary | "_" | "(" (lhs ("," lhs)* ","?)? ")" | "[" (lhs ("," lhs)* ","?)? "]"
range_expr: binary? (".." | "..=") binary? | binary | (binary binop)? INT_RANGE binary?
binary: operand (binop operand)*
operand: unary ("as " type)*
unary: ("-" | "!" | "*" | "&" "mut"? | "&&" "mut"?) unary | postfix
postfix: primary suffix*
suffix: "?" | "." IDENT turbofish? call_args | "." (IDENT | TUPLE_INDEX | FLOAT) | "." "await"
      | "." TUPLE_DOT IDENT (turbofish? call_args)?
      | call_args | "[" expr "]"
call_args: "(" (expr ("," expr){0,31} ","?)? ")"
turbofish: "::" "<" (generic_arg ("," generic_arg)* ","?)? ">"
primary: literal | expr_path | expr_path "{" struct_fields "}" | "(" expr ")" | tuple | array
       | closure | macro_call | expr_block | "self" | "Self"
expr_path: "::"? path_seg ("::" path_seg)*
path_seg: (IDENT | "self" | "super" | "crate" | "Self") turbofish? | "<" type ("as " type_path)? ">"
struct_fields: (field_init ("," field_init)* ("," ".." expr)? ","?)? | ".." expr
field_init: (IDENT | TUPLE_INDEX) (":" expr)?
tuple: "(" ")" | "(" expr "," (expr ("," expr){0,30} ","?)? ")"
array: "[" (expr ("," expr){0,31} ","?)? "]" | "[" expr ";" expr "]"
closure: attribute* "move"? ("|" (closure_param ("," closure_param)* ","?)? "|" | "||")
         (expr | "->" type block)
closure_param: pattern (":" type)?
macro_call: KNOWN_MACRO "!" ("(" macro_args ")" | "[" macro_args "]")
          | "vec" "!" "[" expr ";" expr "]"
          | "matches" "!" "(" expr "," pattern ("if" expr)? ","? ")"
          | macro_path "!" ("(" token_tree* ")" | "[" token_tree* "]" | "{" token_tree* "}")
macro_args: (expr ("," expr){0,31} ","?)?
macro_path: "::"? (IDENT | "crate" | "self" | "super") ("::" IDENT)*
// `#` only inside the one lexeme `#[` (or `#![`): no lexeme sequence can spell DSPy's field header `[[ ##`
token_tree: TT_ATOM | literal | WORD | LIFETIME | "(" token_tree* ")" | "[" token_tree* "]" | attribute
          | "{" token_tree* "}"
literal: INT | FLOAT | STRING | RAW_STRING | CHAR | BYTE | BYTE_STRING | "true" | "false"

expr_ns: ns_range
ns_range: ns_binary? (".." | "..=") ns_binary? | ns_binary | (ns_binary binop)? INT_RANGE ns_binary?
ns_binary: ns_operand (binop ns_operand)*
ns_operand: ns_unary ("as " type)*
ns_unary: ("-" | "!" | "*" | "&" "mut"? | "&&" "mut"?) ns_unary | ns_postfix
ns_postfix: ns_primary suffix*
ns_primary: literal | expr_path | "(" expr ")" | tuple | array | closure | macro_call | expr_block
          | "self" | "Self"

pattern: "|"? pattern_one ("|" pattern_one)*
pattern_one: "_" | ".." | literal | "-" (INT | FLOAT) | "ref"? "mut"? IDENT ("@" pattern_one)?
           | ("&" | "&&") "mut"? pattern_one | "(" (pattern ("," pattern)* ","?)? ")"
           | "[" (pattern ("," pattern)* ","?)? "]" | expr_path | expr_path "(" (pattern ("," pattern)*
    ","?)? ")"
           | expr_path "{" (field_pat ("," field_pat)* ("," "..")? ","? | "..")? "}"
           | range_pat | "box" pattern_one
field_pat: "ref"? "mut"? IDENT | (IDENT | TUPLE_INDEX) ":" pattern
range_pat: range_end ("..=" | "..." | "..") range_end? | ("..=" | "..") range_end | "-"? INT_RANGE range_end?
range_end: "-"? (INT | FLOAT) | CHAR | BYTE | expr_path

type: type_path | "&" LIFETIME? "mut"? type | "&&" LIFETIME? "mut"? type | "*" ("const " | "mut ") type
    | "[" type (";" expr)? "]" | "(" (type ("," type)* ","?)? ")" | "!" | "_"
    | ("for" generics)? "unsafe "? ("extern " STRING?)? "fn" "(" (fn_type_param ("," fn_type_param)*
    ","?)? ")" ("->" type)?
    | "impl " bounds | "dyn " bounds | "<" type ("as " type_path)? ">" "::" IDENT
fn_type_param: (IDENT ":")? type
type_path: "::"? type_seg ("::" type_seg)*
type_seg: (IDENT | "Self" | "self" | "super" | "crate") ("::"? "<" (generic_arg ("," generic_arg)*
          ","?)? ">")?
        | IDENT "(" (type ("," type)* ","?)? ")" ("->" type)?
generic_arg: type | LIFETIME | literal | "{" expr "}" | IDENT "=" type | IDENT ":" bounds

KNOWN_MACRO: "vec" | "format" | "print" | "println" | "eprint" | "eprintln" | "write" | "writeln"
           | "panic" | "assert" | "assert_eq" | "assert_ne" | "debug_assert" | "debug_assert_eq"
           | "debug_assert_ne" | "unreachable" | "todo" | "unimplemented" | "format_args" | "dbg"
// `>>` is two `>` lexemes: a `>>` lexeme would beat the `>` `>` closing nested generics
binop: BINARY_OP | ">" ">"
assign_op: ASSIGN_OP | ">" ">="
KEYWORD: "as" | "break" | "const" | "continue" | "crate" | "else" | "enum" | "extern" | "false"
       | "fn" | "for" | "if" | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut"
       | "pub" | "ref" | "return" | "self" | "Self" | "static" | "struct" | "super" | "trait"
       | "true" | "type" | "unsafe" | "use" | "where" | "while" | "async" | "await" | "dyn" | "_"
IDENT: (/[a-zA-Z_][a-zA-Z0-9_]*/ & ~KEYWORD) | /r#[a-zA-Z_][a-zA-Z0-9_]*/
WORD: /[a-zA-Z_][a-zA-Z0-9_]*/
LIFETIME: /'[a-zA-Z_][a-zA-Z0-9_]*/
INT: /(0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*)([iu](8|16|32|64|128|size))?/
TUPLE_INDEX: /[0-9]+/
// `0..n` and `t.0.f` as single lexemes: llguidance's lexer does not back off from `0.` (a float's
// prefix) to the integer `0` once the next byte is another `.`
INT_RANGE: /(0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*)([iu](8|16|32|64|128|size))?\.\.=?/
TUPLE_DOT: /[0-9]+\./
FLOAT: /[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9_]+)?(f32|f64)?/
     | /[0-9][0-9_]*([eE][+-]?[0-9_]+)(f32|f64)?/ | /[0-9][0-9_]*(f32|f64)/
STRING: /"([^"\\]|\\(.|\n))*"/
RAW_STRING: /b?r"[^"]*"|b?r#"([^"]|"[^#])*"#|b?r##"([^"]|"[^#]|"#[^#])*"##/
CHAR: /'([^'\\\n]|\\([nrt\\0'"]|x[0-7][0-9a-fA-F]|u\{[0-9a-fA-F_]{1,6}\}))'/
BYTE: /b'([^'\\\n]|\\([nrt\\0'"]|x[0-9a-fA-F]{2}))'/
BYTE_STRING: /b"([^"\\]|\\(.|\n))*"/
ASSIGN_OP: "=" | "+=" | "-=" | "*=" | "/=" | "%=" | "&=" | "|=" | "^=" | "<<="
BINARY_OP: "||" | "&&" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-" | "|" | "^" | "*"
         | "/" | "%" | "<<" | "&"
TT_ATOM: "=>" | "->" | "::" | "," | ";" | ":" | "." | ".." | "..=" | "=" | "==" | "!=" | "<" | ">"
       | "<=" | ">=" | "+" | "-" | "*" | "/" | "%" | "&" | "&&" | "|" | "||" | "!" | "^" | "?"
       | "$" | "@" | "+=" | "-=" | "*=" | "/=" | "<<"
// a line comment holds at most 160 characters
%ignore /[ \t\r\n]+|\/\/[^\n]{0,160}|\/\*([^*]|\*+[^*\/])*\*+\//
"""
