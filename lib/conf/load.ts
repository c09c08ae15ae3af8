// Reading config files: text → tokens (grammar/lexer.ts) → statements (grammar/nginx.ne via
// nearley, exactly one parse required), and `include` expansion with globs, resolved against
// the directory of the main config file as nginx does (ngx_conf_include, ngx_conf_full_name).
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import nearley from 'nearley'
import { ConfTokens, TokenStream, type Token } from '../../grammar/lexer.js'
import grammar from '../../grammar/nginx.generated.js'
import { errnoText } from '../core/errno.js'
import { ConfError, type ConfLocation } from '../core/errors.js'
import type { Statement } from './ast.js'

/** Larger files are refused before parsing (nginx has no limit; see docs/compat.md). */
export const CONF_MAX_FILE_BYTES = 8 * 1024 * 1024

const compiledGrammar = nearley.Grammar.fromCompiled(grammar as unknown as nearley.CompiledRules)

/**
 * Parse one file's text into statements. Throws ConfError with nginx's message and line for
 * syntax errors: quote and token errors from the lexer, `unexpected "x"` for a misplaced
 * ";", "{" or "}", and the two end-of-file messages.
 */
export function parseConf(text: string, file: string): Statement[] {
  const tokens = new ConfTokens(text, file)
  const parser = new nearley.Parser(compiledGrammar, { lexer: new TokenStream(tokens) as unknown as nearley.Lexer })
  try {
    parser.feed('')
  } catch (err) {
    const lexError = tokens.failure
    if (lexError !== null) throw new ConfError({ file, line: lexError.line }, lexError.message, 'emerg', 'ERR_CONF_SYNTAX')
    const token = (err as { token?: Token }).token
    if (token === undefined) throw err
    throw new ConfError({ file, line: token.line }, `unexpected "${token.value}"`, 'emerg', 'ERR_CONF_SYNTAX')
  }
  const results = parser.results as Statement[][]
  if (results.length === 1) return results[0]
  if (results.length > 1) throw new Error(`nginx.ne is ambiguous: ${results.length} parses of ${file}`)
  // nearley consumed every token but the file stops inside a statement or a block.
  const eofLine = 1 + countNewlines(text)
  throw new ConfError({ file, line: eofLine },
    tokens.lastType === 'word' ? 'unexpected end of file, expecting ";" or "}"' : 'unexpected end of file, expecting "}"',
    'emerg', 'ERR_CONF_SYNTAX')
}

function countNewlines(text: string): number {
  let n = 0
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++
  return n
}

/** One file read while loading, with its text: what `edge -T` dumps. */
export interface ConfSource {
  readonly path: string
  readonly text: string
}

/**
 * Reads the main file and, on request, included files. Keeps every file it read (for -T)
 * and which include chain led to each statement, so that a cycle is reported, not followed.
 */
export class ConfLoader {
  readonly sources: ConfSource[] = []
  private readonly chains = new WeakMap<Statement, readonly string[]>()

  /** @param confPrefix the directory of the main config file; relative includes resolve here */
  constructor(readonly confPrefix: string) {}

  /** Read and parse a file; `from` is the include statement (null for the main file). */
  load(path: string, from: Statement | null): Statement[] {
    const where: ConfLocation | null = from === null ? null : { file: from.file, line: from.line }
    const chain = from === null ? [] : [...(this.chains.get(from) ?? []), from.file]
    const real = realOrSelf(path)
    if (chain.some((f) => realOrSelf(f) === real)) {
      throw new ConfError(where, `include of "${path}" makes a cycle: ${[...chain, path].join(' -> ')}`,
        'emerg', 'ERR_CONF_INCLUDE_CYCLE')
    }
    const text = readConfText(path, where)
    this.sources.push({ path, text })
    const statements = parseConf(text, path)
    const stack: Statement[] = [...statements]
    while (stack.length > 0) {
      const s = stack.pop() as Statement
      this.chains.set(s, chain)
      if (s.block !== null) stack.push(...s.block)
    }
    return statements
  }

  /** Expand `include <path-or-glob>;`: the statements of every matching file, in glob order. */
  include(stmt: Statement): Statement[] {
    const pattern = isAbsolute(stmt.args[0]) ? stmt.args[0] : join(this.confPrefix, stmt.args[0])
    if (!/[*?[]/.test(pattern)) return this.load(pattern, stmt)
    const out: Statement[] = []
    for (const file of expandGlob(pattern, { file: stmt.file, line: stmt.line })) out.push(...this.load(file, stmt))
    return out
  }
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return resolve(path) // not readable yet: readConfText reports why
  }
}

function readConfText(path: string, where: ConfLocation | null): string {
  let buf: Buffer
  try {
    const size = statSync(path).size
    if (size > CONF_MAX_FILE_BYTES) {
      throw new ConfError(where ?? { file: path, line: 1 },
        `configuration file "${path}" is too large (${size} bytes, at most ${CONF_MAX_FILE_BYTES})`,
        'emerg', 'ERR_CONF_FILE')
    }
    buf = readFileSync(path)
  } catch (err) {
    if (err instanceof ConfError) throw err
    const call = (err as NodeJS.ErrnoException).code === 'EISDIR' ? 'pread()' : 'open()'
    throw new ConfError(where, `${call} "${path}" failed ${errnoText(err)}`, 'emerg', 'ERR_CONF_FILE')
  }
  return buf.toString('utf8')
}

// glob(3) as nginx calls it (ngx_open_glob): *, ? and [...] within one path segment, a leading
// "." only matched by a pattern that starts with ".", results sorted; no match is no error.
function expandGlob(pattern: string, where: ConfLocation): string[] {
  const segments = pattern.split('/')
  let bases = [segments[0] === '' ? '/' : segments[0]]
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]
    if (seg === '') continue
    const last = i === segments.length - 1
    const next: string[] = []
    for (const base of bases) {
      if (!/[*?[]/.test(seg)) {
        next.push(join(base, seg))
        continue
      }
      const re = globSegmentRegExp(seg)
      let names: string[]
      try {
        names = readdirSync(base)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'ENOENT' || code === 'ENOTDIR') continue
        throw new ConfError(where, `glob() "${pattern}" failed ${errnoText(err)}`, 'emerg', 'ERR_CONF_FILE')
      }
      for (const name of names.sort()) {
        if (name.startsWith('.') && !seg.startsWith('.')) continue
        if (!re.test(name)) continue
        const full = join(base, name)
        if (!last && !isDirectory(full)) continue
        next.push(full)
      }
    }
    bases = next
  }
  return bases.filter((p) => exists(p))
}

function globSegmentRegExp(seg: string): RegExp {
  let re = ''
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]
    if (c === '*') re += '.*'
    else if (c === '?') re += '.'
    else if (c === '[') {
      const close = seg.indexOf(']', i + 2)
      if (close === -1) { re += '\\['; continue }
      let body = seg.slice(i + 1, close)
      if (body.startsWith('!')) body = '^' + body.slice(1)
      re += '[' + body.replace(/\\/g, '\\\\') + ']'
      i = close
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 's')
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

function exists(path: string): boolean {
  try {
    statSync(path)
    return true
  } catch {
    return false
  }
}

/** The directory relative config paths resolve against: that of the main file. */
export function confPrefixOf(mainFile: string): string {
  return dirname(mainFile)
}
