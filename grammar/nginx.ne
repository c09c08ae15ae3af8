# nginx.conf: a file is a list of statements; a statement is one or more arguments closed by
# ";" or by a block. Tokens come from lexer.ts (lexConf), replayed by TokenStream.
@preprocessor typescript

@{%
import { TokenStream, type Token } from './lexer.js'
import type { Statement } from '../lib/conf/ast.js'

const lexer = new TokenStream()

function statement(words: Token[], end: Token, block: Statement[] | null): Statement {
  return {
    name: words[0].value,
    args: words.slice(1).map((w) => w.value),
    quoted: words.slice(1).map((w) => w.quoted),
    block,
    file: end.file,
    line: end.line,
  }
}
%}

@lexer lexer

# Lists are left-recursive and extended in place: the grammar is unambiguous (load.ts checks
# that there is exactly one parse), so each partial list is extended once, and appending stays
# linear where nearley's :* macro would copy the list at every statement.
file       -> statements                                  {% ([list]) => list %}
statements -> null                                        {% () => [] %}
            | statements statement                        {% ([list, s]) => { list.push(s); return list } %}
statement  -> words %semicolon                            {% ([words, end]) => statement(words, end, null) %}
            | words %lbrace statements %rbrace            {% ([words, open, block]) => statement(words, open, block) %}
words      -> %word                                       {% ([w]) => [w] %}
            | words %word                                 {% ([list, w]) => { list.push(w); return list } %}
