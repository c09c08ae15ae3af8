// nginx.conf tokens, as ngx_conf_read_token (src/core/ngx_conf_file.c) splits them:
// - a bare word ends at space, tab, CR, LF, ";" or "{" (not "}"); "${" keeps its brace;
// - "..." and '...' are one argument each; a backslash escapes the next byte anywhere;
// - "#" starts a comment only where a token could start;
// - a closing quote must be followed by whitespace, ";", "{" or ")".
// moo does the scanning; `lexConf` applies the rules moo cannot express and turns the
// result into the token list that the nearley grammar (nginx.ne) parses.
import moo from 'moo'

/** NGX_CONF_BUFFER: nginx reads a config through a 4 KiB buffer; a token must fit in it. */
export const CONF_TOKEN_MAX_BYTES = 4096

export const mooLexer = moo.compile({
  space: { match: /[ \t\r\n]+/, lineBreaks: true },
  comment: /#[^\n]*/,
  semicolon: ';',
  lbrace: '{',
  rbrace: '}',
  dquoted: { match: /"(?:\\[^]|[^"\\])*"/, lineBreaks: true },
  squoted: { match: /'(?:\\[^]|[^'\\])*'/, lineBreaks: true },
  unterminated: { match: /["'][^]*/, lineBreaks: true },
  word: {
    match: /(?:\\[^]|\$\{|[^ \t\r\n;{}"'#\\])(?:\\[^]|\$\{|[^ \t\r\n;{\\])*/,
    lineBreaks: true,
  },
  stray: { match: /\\/ },
})

export type TokenType = 'word' | 'semicolon' | 'lbrace' | 'rbrace'

export interface Token {
  type: TokenType
  /** the argument after quote removal and unescaping (words), or the punctuation itself */
  value: string
  /** true when the argument was written in quotes */
  quoted: boolean
  file: string
  /** line of the token's last byte: nginx reports errors at the line it has read up to */
  line: number
  /** byte offset in the source text, for nearley's error reports */
  offset: number
  text: string
}

/** A syntax error found while tokenising; `line` is where nginx would report it. */
export class LexError extends Error {
  constructor(message: string, readonly line: number) {
    super(message)
  }
}

// ngx_conf_read_token's unescaping: \" \' \\ lose the backslash, \t \r \n become control
// characters, any other backslash pair is kept as written.
export function unescapeConf(raw: string): string {
  if (!raw.includes('\\')) return raw
  let out = ''
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]
    if (c === '\\' && i + 1 < raw.length) {
      const n = raw[i + 1]
      if (n === '"' || n === "'" || n === '\\') { out += n; i++; continue }
      if (n === 't') { out += '\t'; i++; continue }
      if (n === 'r') { out += '\r'; i++; continue }
      if (n === 'n') { out += '\n'; i++; continue }
    }
    out += c
  }
  return out
}

function countLines(s: string): number {
  let n = 0
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++
  return n
}

/** Line nginx is on after reading `len` bytes of a token that starts at `line`. */
function lineAfter(text: string, line: number, len: number): number {
  return line + countLines(text.slice(0, len))
}

/**
 * Tokenise a whole config file. Throws LexError with nginx's message for the errors that
 * ngx_conf_read_token itself reports (quote rules, over-long tokens, end of file inside a token).
 */
export function lexConf(source: string, file: string): Token[] {
  const tokens: Token[] = []
  mooLexer.reset(source)
  let afterQuote = false
  for (let t = mooLexer.next(); t !== undefined; t = mooLexer.next()) {
    const type = t.type as string
    if (afterQuote) {
      afterQuote = false
      if (type === 'word' && t.text[0] === ')') {
        // nginx lets ")" follow a quote directly: if ($a = "b") is four arguments.
      } else if (type !== 'space' && type !== 'semicolon' && type !== 'lbrace') {
        throw new LexError(`unexpected "${t.text[0]}"`, t.line)
      }
    }
    switch (type) {
      case 'space':
      case 'comment':
        continue
      case 'semicolon':
      case 'lbrace':
      case 'rbrace':
        tokens.push({ type, value: t.text, quoted: false, file, line: t.line, offset: t.offset, text: t.text })
        continue
      case 'dquoted':
      case 'squoted': {
        const body = t.text.slice(1, -1)
        if (body.length + 1 >= CONF_TOKEN_MAX_BYTES) {
          throw new LexError(`too long parameter, probably missing terminating "${t.text[0]}" character`,
            lineAfter(t.text, t.line, CONF_TOKEN_MAX_BYTES))
        }
        const line = t.line + t.lineBreaks
        tokens.push({ type: 'word', value: unescapeConf(body), quoted: true, file, line, offset: t.offset, text: t.text })
        afterQuote = true
        continue
      }
      case 'word': {
        if (t.text.length >= CONF_TOKEN_MAX_BYTES) {
          throw new LexError(`too long parameter "${t.text.slice(0, 10)}..." started`,
            lineAfter(t.text, t.line, CONF_TOKEN_MAX_BYTES))
        }
        const line = t.line + t.lineBreaks
        tokens.push({ type: 'word', value: unescapeConf(t.text), quoted: false, file, line, offset: t.offset, text: t.text })
        continue
      }
      case 'unterminated':
        if (t.text.length >= CONF_TOKEN_MAX_BYTES) {
          throw new LexError(`too long parameter, probably missing terminating "${t.text[0]}" character`,
            lineAfter(t.text, t.line, CONF_TOKEN_MAX_BYTES))
        }
        throw new LexError('unexpected end of file, expecting ";" or "}"', t.line + t.lineBreaks)
      default:
        // a lone backslash as the file's last byte: nginx is still inside a token at EOF
        throw new LexError('unexpected end of file, expecting ";" or "}"', t.line)
    }
  }
  return tokens
}

/**
 * The lexer nearley drives: replays a token list made by lexConf. nearley asks it whether a
 * token type exists (`has`) when the grammar names %word, %semicolon, %lbrace or %rbrace.
 */
export class TokenStream {
  private index = 0
  constructor(private readonly tokens: readonly Token[] = []) {}
  reset(): void { this.index = 0 }
  next(): Token | undefined { return this.tokens[this.index++] }
  save(): Record<string, never> { return {} }
  formatError(token: Token): string { return `unexpected "${token.value}"` }
  has(type: string): boolean { return type === 'word' || type === 'semicolon' || type === 'lbrace' || type === 'rbrace' }
}
