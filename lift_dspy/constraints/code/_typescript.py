"""TypeScript: one ``function`` declaration (``export``/``export default``/``async``/``function*``).

Subset: ``const``/``let``/``var`` with destructuring and type annotations, assignment and compound
assignment (``??=``, ``||=``, ``&&=``), ``++``/``--``, if/else, ``for``/``for…in``/``for…of``
(``for await``), ``while``, ``do…while``, ``switch``, ``try``/``catch``/``finally``, ``throw``,
labels, nested function declarations, local ``type`` aliases. A simple statement ends with ``;``
unless it is the last of its block (no other automatic semicolon insertion: it would let two
statements share a line unnoticed). Expressions: arrow functions and
function expressions, object/array literals with spread, computed and shorthand members, optional
chaining, non-null ``!``, ``as``/``satisfies``, ``new``, ``typeof``/``instanceof``/``in``,
``await``/``yield``, template literals, regular expressions, generic calls. Types: unions,
intersections, arrays, tuples, function types, object types, generics, ``keyof``/``typeof``,
indexed access, literal types, conditional types. A ``return``/``throw``/``break``/``continue``
ends its block.
"""

GRAMMAR = r"""
imports: "import" "type"? "{" "}" "from" STRING ";"

fn_header: ("export " "default "?)? "declare "? "async "? fn_name type_params? "(" params?
           ")" (":" ret_type)?
type_params: "<" type_param ("," type_param)* ","? ">"
type_param: "const "? IDENT ("extends " type)? ("=" type)?
params: param ("," param)* ","?
param: ACCESS? "readonly "? ("..." binding | binding "?"?) (":" type)? ("=" expr)? | "this" ":" type
ret_type: type | (IDENT | "this") "is " type | "asserts " (IDENT | "this") ("is " type)?

body: block
block: "{" stmt@STMTS@ (last_stmt | decl | expr)? "}"
last_stmt: ("return " expr? | "return" | "throw " expr | "break " IDENT? | "break" | "continue " IDENT?
           | "continue") ";"?
stmt: decl ";" | expr ";" | ";" | block | if_stmt | for_stmt | while_stmt | do_stmt
    | switch_stmt | try_stmt | IDENT ":" (stmt | last_stmt) | fn_decl
    | "type " IDENT type_params? "=" type ";"
body_stmt: stmt | last_stmt
// `function` touches only `*`, `(` or `<`: never an identifier (`functionf` is not `function f`)
fn_name: "function " "*"? IDENT? | "function" "*" IDENT? | "function"
fn_decl: "async "? ("function " "*"? | "function" "*") IDENT type_params? "(" params? ")" (":" ret_type)?
         block
decl: ("const " | "let " | "var ") var_decl ("," var_decl)*
var_decl: binding "!"? (":" type)? ("=" expr)?
binding: IDENT | obj_pattern | arr_pattern
obj_pattern: "{" (pat_prop ("," pat_prop)* ","?)? "}"
pat_prop: "..." IDENT | prop_name ":" binding ("=" expr)? | IDENT ("=" expr)?
arr_pattern: "[" (arr_elem? ("," arr_elem?)*)? "]"
arr_elem: "..." binding | binding ("=" expr)?
if_stmt: "if" "(" expr ")" body_stmt ("else" body_stmt)?
for_stmt: "for" "(" (decl | expr)? ";" expr? ";" expr? ")" body_stmt
        | "for" "await"? "(" (("const " | "let " | "var ") binding | lhs) ("of " | "in ") expr ")" body_stmt
while_stmt: "while" "(" expr ")" body_stmt
do_stmt: "do" body_stmt "while" "(" expr ")" ";"
switch_stmt: "switch" "(" expr ")" "{" case_clause* "}"
case_clause: ("case " expr | "default") ":" stmt@STMTS@ (last_stmt | decl | expr)?
try_stmt: "try" block ("catch" ("(" binding (":" type)? ")")? block)? ("finally" block)?

expr: assign ("," assign)*
assign: arrow | lhs assign_op assign | conditional | "yield" "*"? assign? | "async "? fn_expr
lhs: postfix | obj_pattern | arr_pattern
conditional: binary ("?" assign ":" assign)?
binary: unary (binop unary | ("as " | "satisfies ") (type | "const"))*
unary: ("!" | "-" | "+" | "~" | "++" | "--" | "typeof" | "void" | "delete" | "await") unary
     | "<" type ">" unary | postfix
postfix: primary suffix* INC_DEC?
suffix: ("." | "?.") (IDENT | KEYWORD_NAME | PRIVATE) | "?."? "[" expr "]" | "?."? type_args? args
      | "!" | TEMPLATE
// lists (arguments, array elements) hold at most 32 items
args: "(" (arg ("," arg){0,31} ","?)? ")"
arg: "..."? assign
primary: literal | IDENT | "this" | "super" | "(" expr ")" | array | object | TEMPLATE | REGEX
       | "new " postfix_new | "new" "." "target" | "import" "." "meta"
postfix_new: primary ("." (IDENT | KEYWORD_NAME) | "[" expr "]")* type_args? args?
fn_expr: fn_name type_params? "(" params? ")" (":" ret_type)? block
arrow: "async "? (IDENT | type_params? "(" params? ")" (":" ret_type)?) "=>" (assign | block)
array: "[" (("..."? assign)? ("," ("..."? assign)?){0,31})? "]"
object: "{" (member ("," member)* ","?)? "}"
member: prop_name ":" assign | "..." assign | IDENT | "async "? "*"? prop_name type_params? "(" params?
        ")" (":" ret_type)? block
      | ("get " | "set ") prop_name "(" params? ")" (":" ret_type)? block
prop_name: IDENT | KEYWORD_NAME | STRING | NUMBER | "[" assign "]"
literal: NUMBER | STRING | "true" | "false" | "null" | "undefined"

type: "keyof" type | "typeof" qualified | "readonly" type | union
    | type_params? "(" params? ")" "=>" type | "new" "(" params? ")" "=>" type
    | union "extends " union "?" type ":" type
union: "|"? intersection ("|" intersection)*
intersection: "&"? type_postfix ("&" type_postfix)*
type_postfix: type_primary ("[" type? "]")*
type_primary: qualified type_args? | "(" type ")" | "[" (tuple_elem ("," tuple_elem)* ","?)? "]"
            | "{" (type_member ((";" | ",") type_member)* (";" | ",")?)? "}" | STRING | NUMBER
            | "-" NUMBER | "true" | "false" | "null" | "undefined" | "void" | "this" | TEMPLATE
            | "typeof" qualified | "infer" IDENT | "unique" "symbol"
tuple_elem: "..."? (IDENT "?"? ":")? type "?"?
type_member: "readonly"? prop_name "?"? ":" type | "readonly"? "[" IDENT ":" type "]" ":" type
           | prop_name "?"? type_params? "(" params? ")" (":" type)? | "(" params? ")" ":" type
           | "[" IDENT "in " type ("as " type)? "]" "?"? ":" type
type_args: "<" type ("," type)* ","? ">"
qualified: IDENT ("." IDENT)*

// `>>` is two `>` lexemes: a `>>` lexeme would beat the `>` `>` closing nested generics
binop: BINARY_OP | ">" ">" | ">" ">" ">"
assign_op: ASSIGN_OP | ">" ">=" | ">" ">" ">="
KEYWORD: "break" | "case" | "catch" | "class" | "const" | "continue" | "debugger" | "default"
       | "delete" | "do" | "else" | "enum" | "export" | "extends" | "false" | "finally" | "for"
       | "function" | "if" | "import" | "in" | "instanceof" | "new" | "null" | "return"
       | "super" | "switch" | "this" | "throw" | "true" | "try" | "typeof" | "var" | "void"
       | "while" | "with" | "let" | "yield" | "await"
IDENT: /[a-zA-Z_$][a-zA-Z0-9_$]*/ & ~KEYWORD
KEYWORD_NAME: KEYWORD
PRIVATE: /#[a-zA-Z_$][a-zA-Z0-9_$]*/
ACCESS: /(public|private|protected)[ \t\r\n]+/
NUMBER: /(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+)n?/
      | /([0-9][0-9_]*\.?[0-9_]*|\.[0-9][0-9_]*)([eE][+-]?[0-9_]+)?n?/
STRING: /"([^"\\\n]|\\(.|\n))*"|'([^'\\\n]|\\(.|\n))*'/
TEMPLATE: /`([^`\\]|\\(.|\n))*`/
REGEX: /\/([^\/\\\n\[*]|\\.|\[([^\]\\\n]|\\.)*\])([^\/\\\n\[]|\\.|\[([^\]\\\n]|\\.)*\])*\/[dgimsuyv]*/
INC_DEC: "++" | "--"
ASSIGN_OP: "=" | "+=" | "-=" | "*=" | "/=" | "%=" | "**=" | "&=" | "|=" | "^=" | "<<="
         | "&&=" | "||=" | "??="
BINARY_OP: "||" | "&&" | "??" | "==" | "!=" | "===" | "!==" | "<" | "<=" | ">" | ">=" | "+" | "-"
         | "|" | "^" | "*" | "**" | "/" | "%" | "<<" | "&" | /instanceof[ \t\r\n]+/ | /in[ \t\r\n]+/
// a line comment holds at most 160 characters
%ignore /[ \t\r\n]+|\/\/[^\n]{0,160}|\/\*([^*]|\*+[^*\/])*\*+\//
"""
