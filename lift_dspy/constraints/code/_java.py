"""Java: optional ``import java.…;``/``import javax.…;`` lines, then one method with its modifiers.

Subset: local variables (``var``, ``final``, arrays), assignment and compound assignment,
``++``/``--``, if/else, ``for``, enhanced ``for``, ``while``, ``do``/``while``, ``switch``
(classic and arrow forms, as statement and expression, ``yield``), ``try``/``catch``/``finally``
(with resources), ``throw``, labels, ``synchronized``, ``assert``, local records/classes are NOT
covered. Expressions: ``new`` (arrays with initializers, anonymous classes), lambdas, method
references, casts, ternaries, ``instanceof`` (with pattern), generics, array initializers, text
blocks. A ``return``/``throw``/``break``/``continue``/``yield`` ends its block.
"""

GRAMMAR = r'''
// at most 12 imports; lists (arguments, array initializers) hold at most 32 items
imports: import_decl{1,12}
import_decl: "import " "static "? STD_PACKAGE ("." (IDENT | "*"))* ";"
STD_PACKAGE: "java" | "javax"

fn_header: annotation* modifier* type_params? result_type IDENT "(" params? ")" dims? throws?
annotation: "@" qualified ("(" (elem_value | IDENT "=" elem_value ("," IDENT "=" elem_value)*)? ")")?
elem_value: expr | "{" (elem_value ("," elem_value)* ","?)? "}" | annotation
modifier: "public" | "protected" | "private" | "static" | "final" | "abstract" | "synchronized"
        | "native" | "strictfp" | "default"
type_params: "<" type_param ("," type_param)* ">"
type_param: annotation* IDENT ("extends " type ("&" type)*)?
result_type: type | "void"
params: param ("," param)*
param: (annotation | "final")* type "..."? IDENT dims?
throws: "throws " class_type ("," class_type)*

body: block
block: "{" stmt@STMTS@ (last_stmt)? "}"
last_stmt: ("return " expr? | "return") ";" | "throw " expr ";" | ("break " IDENT? | "break") ";"
         | ("continue " IDENT? | "continue") ";" | "yield " expr ";"
stmt: local_var ";" | stmt_expr ";" | ";" | block | if_stmt | for_stmt | while_stmt | do_stmt
    | switch_block | try_stmt | "synchronized" "(" expr ")" block | IDENT ":" (stmt | last_stmt)
    | "assert" expr (":" expr)? ";" | local_class
local_class: ("final" | "static" | "abstract")* ("class " IDENT type_params? ("extends " type)?
             ("implements " type ("," type)*)? class_body | "record " IDENT "(" params? ")" class_body
             | ("interface " | "enum ") IDENT "{" token_tree* "}")
local_var: (annotation | "final")* (type | "var") var_decl ("," var_decl)*
var_decl: IDENT dims? ("=" var_init)?
var_init: expr | array_init
array_init: "{" (var_init ("," var_init){0,31} ","?)? "}"
stmt_expr: expr
if_stmt: "if" "(" expr ")" body_stmt ("else" body_stmt)?
body_stmt: stmt | last_stmt
for_stmt: "for" "(" for_init? ";" expr? ";" (stmt_expr ("," stmt_expr)*)? ")" body_stmt
        | "for" "(" (annotation | "final")* (type | "var") IDENT dims? ":" expr ")" body_stmt
for_init: local_var | stmt_expr ("," stmt_expr)*
while_stmt: "while" "(" expr ")" body_stmt
do_stmt: "do" body_stmt "while" "(" expr ")" ";"
switch_block: "switch" "(" expr ")" "{" (switch_group* | switch_rule*) "}"
switch_group: switch_label+ stmt_list_case
stmt_list_case: stmt@STMTS@ last_stmt?
switch_label: "case " case_item ("," case_item)* ":" | "default" ":"
switch_rule: ("case " case_item ("," case_item)* | "default") "->" (expr ";" | block | "throw " expr ";")
case_item: expr | type IDENT | "null" | "default"
try_stmt: "try" ("(" resource (";" resource)* ";"? ")")? block catch_clause* ("finally" block)?
resource: ("final"? (type | "var") IDENT "=" expr) | expr
catch_clause: "catch" "(" "final"? class_type ("|" class_type)* IDENT ")" block

expr: lambda | assignment | ternary
assignment: unary assign_op expr
ternary: binary ("?" expr ":" (lambda | ternary))?
binary: unary (binop unary | "instanceof " "final "? type IDENT?)*
unary: ("-" | "+" | "!" | "~" | "++" | "--") unary | "(" type ("&" type)* ")" unary_not_pm | postfix
unary_not_pm: ("!" | "~") unary | "(" type ")" unary_not_pm | postfix | lambda
postfix: primary selector* INC_DEC?
selector: "." type_args? IDENT args? | "." "new" type_args? class_type args class_body?
        | "[" expr "]" | "::" type_args? (IDENT | "new") | "." "this" | "." "class" | "." "super"
args: "(" (expr ("," expr){0,31})? ")"
primary: literal | IDENT args? | "this" args? | "super" ("." type_args? IDENT args? | args | "::" IDENT)
       | "(" expr ")" | new_expr | switch_expr | type_args IDENT args
       | type "::" (IDENT | "new") | primitive dims? "." "class" | qualified dims "." "class"
new_expr: "new " type_args? class_type args class_body?
        | "new " (primitive | class_type) ("[" expr "]")+ dims?
        | "new " (primitive | class_type) dims array_init
class_body: "{" member* "}"
member: annotation* modifier* (type_params? result_type IDENT "(" params? ")" dims? throws? (block | ";")
        | type var_decl ("," var_decl)* ";" | block) | ";"
switch_expr: "switch" "(" expr ")" "{" (switch_group* | switch_rule*) "}"
lambda: (IDENT | "(" (lambda_param ("," lambda_param)*)? ")") "->" (expr | block)
lambda_param: "final"? (type | "var")? IDENT dims? | IDENT
literal: INT | FLOAT | CHAR | STRING | TEXT_BLOCK | "true" | "false" | "null"
token_tree: TT_ATOM | literal | WORD | "(" token_tree* ")" | "[" token_tree* "]" | "{" token_tree* "}"

type: (primitive | class_type) dims?
primitive: "byte" | "short" | "char" | "int" | "long" | "float" | "double" | "boolean"
class_type: annotation* IDENT type_args? ("." annotation* IDENT type_args?)*
qualified: IDENT ("." IDENT)*
// type arguments nest at most 3 deep (`A<B<C<D>>>`): the levels below are copies of type/class_type
type_args: "<" (type_arg ("," type_arg)*)? ">"
type_arg: type2 | "?" (("extends " | "super ") type2)?
type2: (primitive | annotation* IDENT type_args2? ("." annotation* IDENT type_args2?)*) dims?
type_args2: "<" (type_arg2 ("," type_arg2)*)? ">"
type_arg2: type3 | "?" (("extends " | "super ") type3)?
type3: (primitive | annotation* IDENT type_args3? ("." annotation* IDENT type_args3?)*) dims?
type_args3: "<" (type_arg3 ("," type_arg3)*)? ">"
type_arg3: type4 | "?" (("extends " | "super ") type4)?
type4: (primitive | annotation* IDENT ("." annotation* IDENT)*) dims?
dims: ("[" "]")+

// `>>` is two `>` lexemes: a `>>` lexeme would beat the `>` `>` closing nested generics
binop: BINARY_OP | ">" ">" | ">" ">" ">"
assign_op: ASSIGN_OP | ">" ">=" | ">" ">" ">="
KEYWORD: "abstract" | "assert" | "boolean" | "break" | "byte" | "case" | "catch" | "char" | "class"
       | "const" | "continue" | "default" | "do" | "double" | "else" | "enum" | "extends" | "final"
       | "finally" | "float" | "for" | "goto" | "if" | "implements" | "import" | "instanceof"
       | "int" | "interface" | "long" | "native" | "new" | "package" | "private" | "protected"
       | "public" | "return" | "short" | "static" | "strictfp" | "super" | "switch"
       | "synchronized" | "this" | "throw" | "throws" | "transient" | "try" | "void" | "volatile"
       | "while" | "true" | "false" | "null"
IDENT: /[a-zA-Z_$][a-zA-Z0-9_$]*/ & ~KEYWORD
WORD: /[a-zA-Z_$][a-zA-Z0-9_$]*/
INT: /(0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9][0-9_]*)[lL]?/
FLOAT: /([0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)([eE][+-]?[0-9]+)?[fFdD]?/
     | /[0-9][0-9_]*[eE][+-]?[0-9]+[fFdD]?/ | /[0-9][0-9_]*[fFdD]/
     | /0[xX][0-9a-fA-F_]*\.?[0-9a-fA-F_]*[pP][+-]?[0-9]+[fFdD]?/
CHAR: /'([^'\\\n]|\\([btnfrs"'\\]|[0-7]{1,3}|u+[0-9a-fA-F]{4}))'/
STRING: /"([^"\\\n]|\\([btnfrs"'\\]|[0-7]{1,3}|u+[0-9a-fA-F]{4}))*"/
TEXT_BLOCK: /"""[ \t]*\n([^"\\]|\\(.|\n)|"[^"]|""[^"])*"""/
INC_DEC: "++" | "--"
ASSIGN_OP: "=" | "+=" | "-=" | "*=" | "/=" | "%=" | "&=" | "|=" | "^=" | "<<="
BINARY_OP: "||" | "&&" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-" | "|" | "^" | "*"
         | "/" | "%" | "<<" | "&"
TT_ATOM: "=>" | "->" | "::" | "," | ";" | ":" | "." | "=" | "==" | "!=" | "<" | ">" | "<=" | ">="
       | "+" | "-" | "*" | "/" | "%" | "&" | "&&" | "|" | "||" | "!" | "^" | "?" | "@" | "~"
       | "+=" | "-=" | "*=" | "/=" | "++" | "--" | "..."
// a line comment holds at most 160 characters
%ignore /[ \t\r\n]+|\/\/[^\n]{0,160}|\/\*([^*]|\*+[^*\/])*\*+\//
'''
