// Loading a whole configuration as `edge -c` and `edge -t` do: -g directives first (as
// nginx's ngx_conf_param), then the main file with its includes, then the typed tree.
import { isAbsolute, join } from 'node:path'
import { ConfError } from '../core/errors.js'
import { applyStatements, buildTree, newMainScope, type Unimplemented } from './contexts.js'
import { ConfLoader, confPrefixOf, parseConf, type ConfSource } from './load.js'
import type { MainConf } from './tree.js'

export interface LoadOptions {
  /** -p: the prefix relative paths resolve against (absolute) */
  readonly prefix: string
  /** -c: the main file, absolute or relative to the prefix */
  readonly confFile: string
  /** -g: extra main-context directives, or null */
  readonly globals: string | null
}

export interface LoadedConf {
  readonly tree: MainConf
  /** every file read, in order (what -T dumps) */
  readonly sources: readonly ConfSource[]
  readonly unimplemented: Unimplemented
}

export function resolveConfFile(prefix: string, confFile: string): string {
  return isAbsolute(confFile) ? confFile : join(prefix, confFile)
}

/** Load and check a configuration; throws ConfError with nginx's message and location. */
export function loadConfig(opts: LoadOptions): LoadedConf {
  const confFile = resolveConfFile(opts.prefix, opts.confFile)
  const loader = new ConfLoader(confPrefixOf(confFile))
  const main = newMainScope()
  const unimplemented: Unimplemented = new Map()
  if (opts.globals !== null) applyStatements(parseConf(opts.globals, ''), main, loader, unimplemented)
  applyStatements(loader.load(confFile, null), main, loader, unimplemented)
  const tree = buildTree(main, opts.prefix, confFile)
  return { tree, sources: loader.sources, unimplemented }
}

/** The start-up [warn] naming accepted directives edge does not act on; null when none. */
export function unimplementedWarning(unimplemented: Unimplemented): string | null {
  if (unimplemented.size === 0) return null
  const names = [...unimplemented].map(([name, w]) => `"${name}" (${w.file === '' ? 'command line' : `${w.file}:${w.line}`})`)
  return `[warn] accepted but not implemented, ignored: ${names.join(', ')}`
}

/** The lines `edge -t` prints (to stderr, as nginx does) and its exit code. */
export function testConfig(opts: LoadOptions, program: string): { lines: string[], exitCode: number, loaded: LoadedConf | null } {
  const confFile = resolveConfFile(opts.prefix, opts.confFile)
  try {
    const loaded = loadConfig(opts)
    const lines: string[] = []
    const warn = unimplementedWarning(loaded.unimplemented)
    if (warn !== null) lines.push(`${program}: ${warn}`)
    lines.push(`${program}: the configuration file ${confFile} syntax is ok`)
    lines.push(`${program}: configuration file ${confFile} test is successful`)
    return { lines, exitCode: 0, loaded }
  } catch (err) {
    if (!(err instanceof ConfError)) throw err
    return {
      lines: [`${program}: ${err.format()}`, `${program}: configuration file ${confFile} test failed`],
      exitCode: 1,
      loaded: null,
    }
  }
}
