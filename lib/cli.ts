// The command line, shaped like nginx's (src/core/nginx.c ngx_get_options):
//   edge [-?hvVtTq] [-s signal] [-p prefix] [-c filename] [-g directives]
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { constants } from 'node:os'
import { dirname, resolve } from 'node:path'
import { loadConfig, testConfig, unimplementedWarning, type LoadedConf, type LoadOptions } from './conf/check.js'
import { errnoText, syscallFailure } from './core/errno.js'
import { ConfError, EdgeError } from './core/errors.js'
import { Logger } from './core/log.js'
import { EdgeNode } from './server.js'

export const PROGRAM = 'edge'

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version

/** nginx's default -c, relative to the prefix */
export const DEFAULT_CONF = 'conf/nginx.conf'

const SIGNALS: Record<string, NodeJS.Signals> = { stop: 'SIGTERM', quit: 'SIGQUIT', reopen: 'SIGUSR1', reload: 'SIGHUP' }

export interface CliOptions {
  help: boolean
  version: 'none' | 'short' | 'long'
  test: 'none' | 'test' | 'dump'
  quiet: boolean
  signal: string | null
  prefix: string | null
  confFile: string | null
  globals: string | null
}

export class CliError extends EdgeError {
  constructor(message: string) {
    super('ERR_CLI_OPTION', message)
  }
}

const VALUE_NAMES: Record<string, string> = { p: 'directory name', c: 'file name', g: 'parameter', s: 'parameter' }

/** Parse argv as nginx does: flags may be grouped (-tq), values attached (-cfile) or next. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = {
    help: false, version: 'none', test: 'none', quiet: false, signal: null, prefix: null, confFile: null, globals: null,
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith('-') || arg.length < 2) throw new CliError(`invalid option: "${arg}"`)
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j]
      if (c === '?' || c === 'h') { o.help = true; continue }
      if (c === 'v') { if (o.version === 'none') o.version = 'short'; continue }
      if (c === 'V') { o.version = 'long'; continue }
      if (c === 't') { if (o.test === 'none') o.test = 'test'; continue }
      if (c === 'T') { o.test = 'dump'; continue }
      if (c === 'q') { o.quiet = true; continue }
      if (c in VALUE_NAMES) {
        let value = arg.slice(j + 1)
        if (value === '') {
          if (i + 1 >= argv.length) throw new CliError(`option "-${c}" requires ${VALUE_NAMES[c]}`)
          value = argv[++i]
        }
        if (c === 'p') o.prefix = value
        else if (c === 'c') o.confFile = value
        else if (c === 'g') o.globals = value
        else {
          if (!(value in SIGNALS)) throw new CliError(`invalid option: "-s ${value}"`)
          o.signal = value
        }
        break
      }
      throw new CliError(`invalid option: "${arg.slice(j)}"`)
    }
  }
  return o
}

const USAGE = `Usage: ${PROGRAM} [-?hvVtTq] [-s signal] [-p prefix] [-c filename] [-g directives]

Options:
  -?,-h         : this help
  -v            : show version and exit
  -V            : show version and build details and exit
  -t            : test configuration and exit
  -T            : test configuration, dump it and exit
  -q            : suppress non-error messages during configuration testing
  -s signal     : send signal to the running node: stop, quit, reopen, reload
  -p prefix     : set prefix path (default: the current directory)
  -c filename   : set configuration file (default: ${DEFAULT_CONF})
  -g directives : set global directives out of configuration file
`

export interface CliIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
}

const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
}

/**
 * Run the command line. Returns the exit code for commands that finish (-t, -v, -s, errors);
 * null when the node was started and keeps running until a signal.
 */
export function main(argv: readonly string[], io: CliIo = processIo): number | null {
  let opts: CliOptions
  try {
    opts = parseArgs(argv)
  } catch (err) {
    if (!(err instanceof CliError)) throw err
    io.stderr(`${PROGRAM}: ${err.message}\n`)
    return 1
  }
  if (opts.version !== 'none') {
    io.stderr(`${PROGRAM} version: ${PROGRAM}/${VERSION}\n`)
    if (opts.version === 'long') io.stderr(`built with Node.js ${process.version} (${process.platform}-${process.arch})\n`)
  }
  if (opts.help) io.stderr(USAGE)
  if (opts.version !== 'none' || opts.help) return 0

  const load: LoadOptions = {
    prefix: resolve(opts.prefix ?? process.cwd()),
    confFile: opts.confFile ?? DEFAULT_CONF,
    globals: opts.globals,
  }
  if (opts.test !== 'none') return runTest(load, opts, io)
  if (opts.signal !== null) return sendSignal(load, opts.signal, io)
  return start(load, io)
}

function runTest(load: LoadOptions, opts: CliOptions, io: CliIo): number {
  const result = testConfig(load, PROGRAM)
  for (const line of result.lines) {
    const isError = result.exitCode !== 0 || line.includes(': [')
    if (opts.quiet && !isError) continue
    io.stderr(line + '\n')
  }
  if (result.exitCode === 0 && opts.test === 'dump' && result.loaded !== null) {
    for (const src of result.loaded.sources) {
      io.stdout(`# configuration file ${src.path}:\n${src.text}${src.text.endsWith('\n') ? '' : '\n'}\n`)
    }
  }
  return result.exitCode
}

function sendSignal(load: LoadOptions, signal: string, io: CliIo): number {
  let pidPath: string
  try {
    pidPath = loadConfig(load).tree.pidPath
  } catch (err) {
    if (!(err instanceof ConfError)) throw err
    io.stderr(`${PROGRAM}: ${err.format()}\n`)
    return 1
  }
  let text: string
  try {
    // ngx_signal_process: the file's text without its trailing line ends, digits only
    text = readFileSync(pidPath, 'latin1').replace(/[\r\n]+$/, '')
  } catch (err) {
    // nginx opens the file, then reads it: a directory opens, and fails in pread()
    const call = (err as NodeJS.ErrnoException).code === 'EISDIR' ? '[crit] pread()' : '[error] open()'
    io.stderr(`${PROGRAM}: ${call} "${pidPath}" failed ${errnoText(err)}\n`)
    return 1
  }
  const pid = /^\d+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    io.stderr(`${PROGRAM}: [error] invalid PID number "${text}" in "${pidPath}"\n`)
    return 1
  }
  try {
    process.kill(pid, SIGNALS[signal])
  } catch (err) {
    io.stderr(`${PROGRAM}: [alert] kill(${pid}, ${constants.signals[SIGNALS[signal]]}) failed ${errnoText(err)}\n`)
    return 1
  }
  return 0
}

function start(load: LoadOptions, io: CliIo): number | null {
  let loaded
  try {
    loaded = loadConfig(load)
  } catch (err) {
    if (!(err instanceof ConfError)) throw err
    io.stderr(`${PROGRAM}: ${err.format()}\n`)
    return 1
  }
  let tree = loaded.tree
  if (tree.daemon && process.env[DAEMON_ENV] !== '1') return daemonize(io, tree.errorLogs.some((l) => l.path === 'stderr'))
  let log: Logger
  try {
    log = new Logger(tree.errorLogs)
  } catch (err) {
    io.stderr(`${PROGRAM}: [emerg] ${syscallFailure(err)}\n`)
    return 1
  }
  const warnUnimplemented = (unimplemented: LoadedConf['unimplemented']): void => {
    const warn = unimplementedWarning(unimplemented)
    if (warn !== null) log.warn(warn.slice('[warn] '.length))
  }
  warnUnimplemented(loaded.unimplemented)
  const node = new EdgeNode(tree, log, `${PROGRAM}/${VERSION}`)
  const fail = (message: string): void => {
    log.log('emerg', message)
    if (process.send !== undefined) process.send({ error: message })
    else if (!tree.errorLogs.some((l) => l.path === 'stderr')) io.stderr(`${PROGRAM}: [emerg] ${message}\n`)
    process.exitCode = 1
  }

  // SIGHUP (nginx's reconfigure): read and check the file again; a valid one is applied to
  // what comes next; an invalid one, or one whose listeners or files cannot be opened, is
  // logged and the node goes on with the old one. HUPs during a reload (or before the node
  // has started) are folded into one more reload after it. Resolves whether it was applied
  // (the metrics count both), or null when the node began stopping meanwhile.
  let started = false
  let stopping = false
  let reloading = false
  let reloadAgain = false
  const reload = async (): Promise<boolean | null> => {
    let next
    try {
      next = loadConfig(load)
    } catch (err) {
      if (!(err instanceof ConfError)) throw err
      log.log(err.level, err.format().slice(err.level.length + 3))
      return false
    }
    warnUnimplemented(next.unimplemented)
    try {
      if (!await node.reload(next.tree)) return null // stopping: nothing applied
    } catch (err) {
      log.log('emerg', syscallFailure(err))
      return false
    }
    if (next.tree.pidPath !== tree.pidPath) {
      const failed = writePid(next.tree.pidPath)
      if (failed !== null) log.log('emerg', failed)
      else rmSync(tree.pidPath, { force: true })
    }
    tree = next.tree
    log.notice('reconfigured')
    return true
  }
  const runReload = (): void => {
    if (stopping) {
      log.notice('shutting down, the reload is ignored')
      return
    }
    if (reloading || !started) {
      reloadAgain = true
      return
    }
    reloading = true
    reload().then((applied) => {
      if (applied !== null) node.metrics.reloaded(applied)
    }, (err: unknown) => {
      log.log('alert', `reload failed: ${(err as Error).stack ?? String(err)}`)
      node.metrics.reloaded(false)
    }).finally(() => {
      reloading = false
      if (reloadAgain) {
        reloadAgain = false
        runReload()
      }
    })
  }
  // QUIT again while quitting changes nothing; TERM or INT after QUIT ends it fast.
  let stoppingFast = false
  const stop = (signal: string, graceful: boolean): void => {
    log.notice(`signal ${signal} received, ${graceful ? 'shutting down gracefully' : 'exiting'}`)
    if (stoppingFast || (stopping && graceful)) return
    stoppingFast = !graceful
    if (!stopping && started) {
      try {
        rmSync(tree.pidPath, { force: true })
      } catch (err) {
        log.log('alert', `unlink() "${tree.pidPath}" failed ${errnoText(err)}`)
      }
    }
    stopping = true
    void (graceful ? node.quit() : node.stop()).then(() => { if (!graceful) log.close() })
  }
  // Every signal nginx knows has its handler before the node starts, for as long as it runs:
  // none kills it by accident, however often it comes.
  process.on('SIGTERM', () => stop('SIGTERM', false))
  process.on('SIGINT', () => stop('SIGINT', false))
  process.on('SIGQUIT', () => stop('SIGQUIT', true))
  process.on('SIGHUP', () => {
    log.notice('signal SIGHUP received, reconfiguring')
    runReload()
  })
  process.on('SIGUSR1', () => {
    log.notice('signal SIGUSR1 received, reopening logs')
    log.reopen()
  })
  // nginx's binary upgrade: nothing to upgrade to here, and the signal must not kill the node
  process.on('SIGUSR2', () => log.notice('signal SIGUSR2 received, binary upgrade is not supported, ignored'))

  node.start().then(() => {
    if (stopping) return
    const failed = writePid(tree.pidPath)
    if (failed !== null) {
      fail(failed)
      void node.stop()
      return
    }
    started = true
    log.notice(`${PROGRAM}/${VERSION} started with ${tree.confFile}`)
    if (process.send !== undefined) {
      process.send('ready')
      process.disconnect()
    }
    if (reloadAgain) {
      reloadAgain = false
      runReload()
    }
  }, (err: NodeJS.ErrnoException) => {
    fail(syscallFailure(err))
    stopping = true
  })
  return null
}

/** Write the pid file; the failure as nginx words it, or null. */
function writePid(path: string): string | null {
  try {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, `${process.pid}\n`)
    return null
  } catch (err) {
    return `open() "${path}" failed ${errnoText(err)}`
  }
}

/** Set in the background child of `daemon on`, which must not fork again. */
const DAEMON_ENV = 'EDGE_DAEMON_CHILD'

// `daemon on` (nginx's default): the node runs in a detached child; this process waits until
// the child listens (or fails), then exits 0 (or 1), as nginx returns once its master is up.
// Its stderr stays the terminal only when error_log is stderr; a start-up failure comes back
// over IPC and is printed here.
function daemonize(io: CliIo, logsToStderr: boolean): number | null {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'ignore', logsToStderr ? 'inherit' : 'ignore', 'ipc'],
    env: { ...process.env, [DAEMON_ENV]: '1' },
  })
  child.once('message', (m: unknown) => {
    const error = (m as { error?: string }).error
    if (error !== undefined && !logsToStderr) io.stderr(`${PROGRAM}: [emerg] ${error}\n`)
    process.exitCode = error === undefined ? 0 : 1
    child.unref()
    if (child.connected) child.disconnect()
  })
  child.once('exit', (code) => {
    process.exitCode = code ?? 1
  })
  return null
}
