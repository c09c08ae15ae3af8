// generated from grammar/nginx.ne by `npm run build:grammar`, do not edit
// Generated automatically by nearley, version 2.20.1
// http://github.com/Hardmath123/nearley
// Bypasses TS6133. Allow declared but unused functions.
// @ts-ignore
function id(d: any[]): any { return d[0]; }
declare var semicolon: any;
declare var lbrace: any;
declare var rbrace: any;
declare var word: any;

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

interface NearleyToken {
  value: any;
  [key: string]: any;
};

interface NearleyLexer {
  reset: (chunk: string, info: any) => void;
  next: () => NearleyToken | undefined;
  save: () => any;
  formatError: (token: never) => string;
  has: (tokenType: string) => boolean;
};

interface NearleyRule {
  name: string;
  symbols: NearleySymbol[];
  postprocess?: (d: any[], loc?: number, reject?: {}) => any;
};

type NearleySymbol = string | { literal: any } | { test: (token: any) => boolean };

interface Grammar {
  Lexer: NearleyLexer | undefined;
  ParserRules: NearleyRule[];
  ParserStart: string;
};

const grammar: Grammar = {
  Lexer: lexer,
  ParserRules: [
    {"name": "file", "symbols": ["statements"], "postprocess": ([list]) => list},
    {"name": "statements", "symbols": [], "postprocess": () => []},
    {"name": "statements", "symbols": ["statements", "statement"], "postprocess": ([list, s]) => { list.push(s); return list }},
    {"name": "statement", "symbols": ["words", (lexer.has("semicolon") ? {type: "semicolon"} : semicolon)], "postprocess": ([words, end]) => statement(words, end, null)},
    {"name": "statement", "symbols": ["words", (lexer.has("lbrace") ? {type: "lbrace"} : lbrace), "statements", (lexer.has("rbrace") ? {type: "rbrace"} : rbrace)], "postprocess": ([words, open, block]) => statement(words, open, block)},
    {"name": "words", "symbols": [(lexer.has("word") ? {type: "word"} : word)], "postprocess": ([w]) => [w]},
    {"name": "words", "symbols": ["words", (lexer.has("word") ? {type: "word"} : word)], "postprocess": ([list, w]) => { list.push(w); return list }}
  ],
  ParserStart: "file",
};

export default grammar;
