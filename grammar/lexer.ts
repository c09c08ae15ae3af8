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

/** Deeper nesting than any real config; past it a walk would only risk the stack. */
export const CONF_MAX_DEPTH = 64

/**
 * The tokens of one file, produced lazily (so that a big file's tokens die young while
 * nearley consumes them). Applies the rules moo cannot express and throws LexError with
 * nginx's message for the errors ngx_conf_read_token itself reports (quote rules, over-long
 * tokens, end of file inside a token), and for nesting deeper than CONF_MAX_DEPTH.
 */
export class ConfTokens {
  /** each stream owns a clone of the compiled lexer (an included file is read mid-parse) */
  private readonly lexer: moo.Lexer = (mooLexer as moo.Lexer & { clone(): moo.Lexer }).clone()
  private afterQuote = false
  private depth = 0
  /** type of the last token handed out (the end-of-file message depends on it) */
  lastType: TokenType | null = null
  /** the error next() threw: nearley wraps lexer errors in its own, so the parser reads it here */
  failure: LexError | null = null

  constructor(source: string, private readonly file: string) {
    this.lexer.reset(source)
  }

  next(): Token | undefined {
    try {
      for (let t = this.lexer.next(); t !== undefined; t = this.lexer.next()) {
        const tok = this.accept(t)
        if (tok !== null) {
          this.lastType = tok.type
          return tok
        }
      }
    } catch (err) {
      if (err instanceof LexError) this.failure = err
      throw err
    }
    return undefined
  }

  private accept(t: moo.Token): Token | null {
    const type = t.type as string
    const file = this.file
    if (this.afterQuote) {
      this.afterQuote = false
      if (type === 'word' && t.text[0] === ')') {
        // nginx lets ")" follow a quote directly: if ($a = "b") is four arguments.
      } else if (type !== 'space' && type !== 'semicolon' && type !== 'lbrace') {
        throw new LexError(`unexpected "${t.text[0]}"`, t.line)
      }
    }
    switch (type) {
      case 'space':
      case 'comment':
        return null
      case 'lbrace':
        if (++this.depth > CONF_MAX_DEPTH) throw new LexError(`blocks nested deeper than ${CONF_MAX_DEPTH} levels`, t.line)
        return { type, value: t.text, quoted: false, file, line: t.line }
      case 'rbrace':
        this.depth--
        return { type, value: t.text, quoted: false, file, line: t.line }
      case 'semicolon':
        return { type, value: t.text, quoted: false, file, line: t.line }
      case 'dquoted':
      case 'squoted': {
        const body = t.text.slice(1, -1)
        if (body.length + 1 >= CONF_TOKEN_MAX_BYTES) {
          throw new LexError(`too long parameter, probably missing terminating "${t.text[0]}" character`,
            lineAfter(t.text, t.line, CONF_TOKEN_MAX_BYTES))
        }
        this.afterQuote = true
        return { type: 'word', value: unescapeConf(body), quoted: true, file, line: t.line + t.lineBreaks }
      }
      case 'word':
        if (t.text.length >= CONF_TOKEN_MAX_BYTES) {
          throw new LexError(`too long parameter "${t.text.slice(0, 10)}..." started`,
            lineAfter(t.text, t.line, CONF_TOKEN_MAX_BYTES))
        }
        return { type: 'word', value: unescapeConf(t.text), quoted: false, file, line: t.line + t.lineBreaks }
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
}

/** All tokens of a file at once (tests and the printer; parsing streams them). */
export function lexConf(source: string, file: string): Token[] {
  const stream = new ConfTokens(source, file)
  const out: Token[] = []
  for (let t = stream.next(); t !== undefined; t = stream.next()) out.push(t)
  return out
}

/**
 * The lexer nearley drives: hands out ConfTokens' tokens. nearley asks it whether a token
 * type exists (`has`) when the grammar names %word, %semicolon, %lbrace or %rbrace.
 */
export class TokenStream {
  constructor(private readonly tokens: ConfTokens | null = null) {}
  reset(): void {}
  next(): Token | undefined { return this.tokens?.next() }
  save(): Record<string, never> { return {} }
  formatError(token: Token): string { return `unexpected "${token.value}"` }
  has(type: string): boolean { return type === 'word' || type === 'semicolon' || type === 'lbrace' || type === 'rbrace' }
}
