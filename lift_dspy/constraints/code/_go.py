"""Go: optional std-only ``import`` declarations, then one ``func`` declaration without receiver.

Subset: every statement form (declarations, ``:=``, multiple assignment, inc/dec, send, if/else
with init, the four ``for`` forms, expression/type switches, select, go/defer, labels, goto),
expressions with composite literals, function literals, conversions, type assertions, index,
slice and generic instantiation. Semicolons are optional (Go inserts them at line ends); a
``return``/``break``/``continue``/``goto``/``fallthrough`` ends its block.
"""

GRAMMAR = r"""
imports: import_decl+
import_decl: "import" (import_spec | "(" (import_spec ";"?)* ")") ";"?
import_spec: (IDENT | "." | "_")? STD_IMPORT

fn_header: "func" IDENT type_params? signature
type_params: "[" type_param ("," type_param)* ","? "]"
type_param: IDENT ("," IDENT)* constraint
constraint: constraint_term ("|" constraint_term)*
constraint_term: "~"? type
signature: params result?
params: "(" (param ("," param)* ","?)? ")"
param: IDENT? "..."? type
result: params | type

body: block
block: "{" stmt_list "}"
stmt_list: (stmt ";"?)@STMTS@ (last_stmt ";"?)?
last_stmt: "return" expr_list? | "break" IDENT? | "continue" IDENT? | "goto" IDENT | "fallthrough"
stmt: simple_stmt | decl | if_stmt | for_stmt | switch_stmt | select_stmt | block
    | "go" expr | "defer" expr | IDENT ":" (stmt | last_stmt) | ";"
simple_stmt: expr | expr "<-" expr | expr INC_DEC | expr_list ASSIGN_OP expr_list
           | expr_list ":=" expr_list
decl: "var" (var_spec | "(" (var_spec ";"?)* ")")
    | "const" (const_spec | "(" (const_spec ";"?)* ")")
    | "type" (type_spec | "(" (type_spec ";"?)* ")")
var_spec: ident_list (type ("=" expr_list)? | "=" expr_list)
const_spec: ident_list (type? "=" expr_list)?
type_spec: IDENT type_params? "="? type
if_stmt: "if" (simple_stmt ";")? expr block ("else" (if_stmt | block))?
for_stmt: "for" (expr | for_clause | range_clause)? block
for_clause: simple_stmt? ";" expr? ";" simple_stmt?
range_clause: (expr_list ("=" | ":="))? "range" expr
switch_stmt: "switch" (simple_stmt? ";")? simple_stmt? "{" case_clause* "}"
case_clause: ("case" case_item ("," case_item)* | "default") ":" stmt_list
case_item: expr | type
select_stmt: "select" "{" comm_clause* "}"
comm_clause: ("case" simple_stmt | "default") ":" stmt_list

expr_list: expr ("," expr)*
ident_list: IDENT ("," IDENT)*
expr: unary (BINARY_OP unary)*
// `&` takes an operand, never another `&` (so `a && &&b` stays an error, as in Go)
unary: UNARY_OP unary | "*" unary | "&" primary | "-" unary | "^" unary | "<-" unary | primary
primary: operand postfix*
postfix: "." IDENT | "." "(" (type | "type") ")" | index | call | literal_value
index: "[" (index_item ("," index_item)* ","? | expr? ":" expr? (":" expr)?) "]"
index_item: expr | type
call: "(" (arg ("," arg)* "..."? ","?)? ")"
arg: expr | type
operand: literal | IDENT | "(" expr ")" | "(" type ")" | "func" signature block
       | composite_type literal_value | composite_type "(" expr ")"
composite_type: "[" expr? "]" type | "[" "..." "]" type | map_type | struct_type
               | "*" type_name | "func" signature | interface_type | "chan" type
literal_value: "{" (element ("," element)* ","?)? "}"
element: (elem_val ":")? elem_val
elem_val: expr | literal_value
literal: INT | FLOAT | IMAG | RUNE | STRING | RAW_STRING

type: type_name type_args? | "*" type | "[" expr? "]" type | "[" "..." "]" type | map_type
    | "chan" type | "chan" "<-" type | "<-" "chan" type | "func" signature | struct_type
    | interface_type | "(" type ")"
type_name: IDENT ("." IDENT)?
type_args: "[" type ("," type)* ","? "]"
map_type: "map" "[" type "]" type
struct_type: "struct" "{" (field_decl ";"?)* "}"
field_decl: ident_list type STRING? | ident_list type RAW_STRING | "*"? type_name type_args? (STRING |
            RAW_STRING)?
interface_type: "interface" "{" (iface_elem ";"?)* "}"
iface_elem: IDENT signature | constraint

KEYWORD: "break" | "case" | "chan" | "const" | "continue" | "default" | "defer" | "else"
       | "fallthrough" | "for" | "func" | "go" | "goto" | "if" | "import" | "interface" | "map"
       | "package" | "range" | "return" | "select" | "struct" | "switch" | "type" | "var"
IDENT: /[a-zA-Z_][a-zA-Z0-9_]*/ & ~KEYWORD
INT: /0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]+|[1-9][0-9_]*|0/
FLOAT: /([0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)([eE][+-]?[0-9_]+)?/
     | /[0-9][0-9_]*[eE][+-]?[0-9_]+/ | /0[xX][0-9a-fA-F_]*\.?[0-9a-fA-F_]*[pP][+-]?[0-9_]+/
IMAG: /([0-9][0-9_]*|[0-9][0-9_]*\.[0-9_]*([eE][+-]?[0-9_]+)?)i/
RUNE: /'([^'\\\n]|\\([abfnrtv\\'"]|[0-7]{3}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}))'/
STRING: /"([^"\\\n]|\\.)*"/
RAW_STRING: /`[^`]*`/
INC_DEC: "++" | "--"
ASSIGN_OP: "=" | "+=" | "-=" | "*=" | "/=" | "%=" | "&=" | "|=" | "^=" | "<<=" | ">>=" | "&^="
BINARY_OP: "||" | "&&" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-" | "|" | "^" | "*"
         | "/" | "%" | "<<" | ">>" | "&" | "&^"
UNARY_OP: "!" | "+"
%ignore /[ \t\r\n]+|\/\/[^\n]*|\/\*([^*]|\*+[^*\/])*\*+\//
"""
