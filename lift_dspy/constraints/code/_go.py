"""Go: optional std-only ``import`` declarations, then one ``func`` declaration without receiver.

Subset: every statement form (declarations, ``:=``, multiple assignment, inc/dec, send, if/else
with init, the four ``for`` forms, expression/type switches, select, go/defer, labels, goto),
expressions with composite literals, function literals, conversions, type assertions, index,
slice and generic instantiation. Statements end at a ``;`` or a line break, as Go's automatic
semicolons make them (two statements on one line without ``;`` are an error); a
``return``/``break``/``continue``/``goto``/``fallthrough`` ends its block.
"""

GRAMMAR = r"""
// at most 12 import declarations and 12 paths in an import block; lists hold at most 32 items
imports: (import_decl SEP){1,12}
import_decl: "import " (import_spec | LP (import_spec SEP){0,12} ")")
import_spec: (IDENT | DOT | "_")? STD_IMPORT

fn_header: "func " IDENT type_params? signature
type_params: LB type_param (COMMA type_param)* COMMA? "]"
type_param: IDENT (COMMA IDENT)* constraint
constraint: constraint_term ("|" constraint_term)*
constraint_term: "~"? type
signature: params result?
params: LP (param (COMMA param)* COMMA?)? ")"
param: IDENT? ELLIPSIS? type
result: params | type

body: block
block: LC stmt_list "}"
stmt_list: (stmt SEP)@STMTS@ (stmt | last_stmt SEP?)?
last_stmt: "return " expr_list? | "return" | "break " IDENT? | "break" | "continue " IDENT? | "continue"
         | "goto " IDENT | "fallthrough"
stmt: simple_stmt | decl | if_stmt | for_stmt | switch_stmt | select_stmt | block
    | "go " expr | "defer " expr | IDENT COLON (stmt | last_stmt)
simple_stmt: expr | expr ARROW expr | expr INC_DEC | expr_list ASSIGN_OP expr_list
           | expr_list DEFINE expr_list
decl: "var " (var_spec | LP (var_spec SEP)* ")")
    | "const " (const_spec | LP (const_spec SEP)* ")")
    | "type " (type_spec | LP (type_spec SEP)* ")")
var_spec: ident_list (type (EQ expr_list)? | EQ expr_list)
const_spec: ident_list (type? EQ expr_list)?
type_spec: IDENT type_params? EQ? type
if_stmt: "if " (simple_stmt SEMI)? expr block ("else " (if_stmt | block))?
for_stmt: "for " (expr | for_clause | range_clause)? block
for_clause: simple_stmt? SEMI expr? SEMI simple_stmt?
range_clause: (expr_list (EQ | DEFINE))? "range " expr
switch_stmt: "switch " (simple_stmt? SEMI)? simple_stmt? LC case_clause* "}"
case_clause: ("case " case_item (COMMA case_item)* | "default") COLON stmt_list
case_item: expr | type
select_stmt: "select " LC comm_clause* "}"
comm_clause: ("case " simple_stmt | "default") COLON stmt_list

expr_list: expr (COMMA expr)*
ident_list: IDENT (COMMA IDENT)*
expr: unary (BINARY_OP unary)*
// `&` takes an operand, never another `&` (so `a && &&b` stays an error, as in Go)
unary: UNARY_OP unary | "*" unary | "&" primary | "-" unary | "^" unary | ARROW unary | primary
primary: operand postfix*
postfix: DOT IDENT | DOT LP (type | "type") ")" | index | call | literal_value
index: LB (index_item (COMMA index_item)* COMMA? | expr? COLON expr? (COLON expr)?) "]"
index_item: expr | type
call: LP (arg (COMMA arg){0,31} ELLIPSIS? COMMA?)? ")"
arg: expr | type
operand: literal | IDENT | LP expr ")" | LP type ")" | "func" signature block
       | composite_type literal_value | composite_type LP expr ")"
composite_type: LB expr? "]" type | LB ELLIPSIS "]" type | map_type | struct_type
               | "*" type_name | "func" signature | interface_type | "chan " type
literal_value: LC (element (COMMA element){0,31} COMMA?)? "}"
element: (elem_val COLON)? elem_val
elem_val: expr | literal_value
literal: INT | FLOAT | IMAG | RUNE | STRING | RAW_STRING

type: type_name type_args? | type_other
type_other: "*" type | LB expr? "]" type | LB ELLIPSIS "]" type | map_type
          | "chan " type | "chan" ARROW type | ARROW "chan " type | "func" signature | struct_type
          | interface_type | LP type ")"
type_name: IDENT (DOT IDENT)?
// type arguments nest at most 3 deep (`A[B[C[D]]]`): SmolLM2 wrote `a[ a[ a[ ...` until its token limit
type_args: LB type_arg2 (COMMA type_arg2)* COMMA? "]"
type_arg2: type_name (LB type_arg3 (COMMA type_arg3)* COMMA? "]")? | type_other
type_arg3: type_name (LB type_arg4 (COMMA type_arg4)* COMMA? "]")? | type_other
type_arg4: type_name | type_other
map_type: "map" LB type "]" type
struct_type: "struct" LC (field_decl SEP)* field_decl? "}"
field_decl: ident_list type STRING? | ident_list type RAW_STRING | "*"? type_name type_args? (STRING |
            RAW_STRING)?
interface_type: "interface" LC (iface_elem SEP)* iface_elem? "}"
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
// Newlines are Go's statement terminators: a line break ends a statement unless the line ends in a
// token after which Go inserts no semicolon (an opening bracket, a comma, an operator, ...). Those
// tokens take the line breaks (and comment lines) after them; elsewhere a line break is a SEP.
// At most 6 line breaks in a row (blank or comment lines).
CONT: /[ \t]*((\/\/[^\n]*)?\r?\n[ \t]*){0,5}/
NL: /\r?\n/ CONT
SEP: SEMI | NL
SEMI: ";" CONT
LP: "(" CONT
LB: "[" CONT
LC: "{" CONT
COMMA: "," CONT
COLON: ":" CONT
DEFINE: ":=" CONT
EQ: "=" CONT
ARROW: "<-" CONT
DOT: "." CONT
ELLIPSIS: "..." CONT
ASSIGN_OP: ("=" | "+=" | "-=" | "*=" | "/=" | "%=" | "&=" | "|=" | "^=" | "<<=" | ">>=" | "&^=") CONT
BINARY_OP: ("||" | "&&" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-" | "|" | "^" | "*"
         | "/" | "%" | "<<" | ">>" | "&" | "&^") CONT
UNARY_OP: "!" | "+"
// A block comment spanning lines acts as a line break in Go (`) /*\n*/ {` is a syntax error):
// block comments stay on one line.
// a line comment holds at most 160 characters
%ignore /[ \t]+|\/\/[^\n]{0,160}|\/\*([^*\n]|\*+[^*\/\n])*\*+\//
"""
