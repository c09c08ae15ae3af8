// Statements back to nginx.conf text. Printing then parsing gives the same statements:
// quoted arguments stay quoted, and a bare word that would not lex back to itself is quoted.
import { LexError, lexConf } from '../../grammar/lexer.js'
import type { Statement } from './ast.js'

function quote(value: string): string {
  return '"' + value.replace(/[\\"]/g, '\\$&') + '"'
}

/** True when `value` written as is lexes back to one bare word with the same value. */
function lexesBare(value: string): boolean {
  try {
    const tokens = lexConf(value, '')
    return tokens.length === 1 && tokens[0].type === 'word' && !tokens[0].quoted && tokens[0].value === value
  } catch (err) {
    if (err instanceof LexError) return false
    throw err
  }
}

function printArg(value: string, quoted: boolean): string {
  return !quoted && lexesBare(value) ? value : quote(value)
}

export function printConf(statements: readonly Statement[], indent = ''): string {
  let out = ''
  for (const s of statements) {
    out += indent + printArg(s.name, false)
    for (let i = 0; i < s.args.length; i++) out += ' ' + printArg(s.args[i], s.quoted[i])
    out += s.block === null ? ';\n' : ' {\n' + printConf(s.block, indent + '    ') + indent + '}\n'
  }
  return out
}
