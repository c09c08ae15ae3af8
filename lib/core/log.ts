// nginx-style error log: one line per event,
//   2026/11/23 22:46:36 [warn] 4242#0: *7 message, client: 127.0.0.1, app: live, name: cam1
// written to every configured error_log whose level admits it.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { errnoText } from './errno.js'

export const LOG_LEVEL_ORDER = ['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'] as const
export type Level = (typeof LOG_LEVEL_ORDER)[number]

/** Who an event is about: printed as `*<session>` and `, client: …, app: …, name: …`. */
export interface LogContext {
  readonly session?: number
  readonly peer?: string
  readonly app?: string
  readonly name?: string
}

export interface LogTarget {
  /** a file path, or "stderr" */
  readonly path: string
  readonly level: Level
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0')
}

export function formatLogTime(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** A target as written to: stderr, or a file held open (nginx's open_file; USR1 reopens it). */
interface OpenTarget {
  readonly path: string
  readonly rank: number
  fd: number | null
}

const CONTROL_CHARS = /[\x00-\x1f\x7f]/
const CONTROL_CHARS_ALL = /[\x00-\x1f\x7f]/g

export class Logger {
  private targets: OpenTarget[] = []
  /** the most verbose level any target accepts: cheaper checks before formatting */
  private maxRank = -1
  /** lines a log file or stderr did not take (ENOSPC, EIO, EPIPE ...), for the stats of issue 12 */
  lost = 0

  constructor(targets: readonly LogTarget[]) {
    this.configure(targets)
    watchStderr()
  }

  /**
   * Log to these targets from now on (the configuration was reloaded). Throws, changing
   * nothing, when a file cannot be opened.
   */
  configure(targets: readonly LogTarget[]): void {
    const opened: OpenTarget[] = []
    try {
      for (const t of targets) opened.push({ path: t.path, rank: LOG_LEVEL_ORDER.indexOf(t.level), fd: openLog(t.path) })
    } catch (err) {
      closeLogs(opened)
      throw err
    }
    const old = this.targets
    this.targets = opened
    this.maxRank = Math.max(-1, ...opened.map((t) => t.rank))
    closeLogs(old)
  }

  /**
   * Reopen every log file by its path (SIGUSR1, after a rotation renamed them). A file that
   * cannot be opened keeps its old descriptor, and the failure is logged to it.
   */
  reopen(): void {
    for (const t of this.targets) {
      if (t.fd === null) continue
      let fd: number
      try {
        fd = openLog(t.path) as number
      } catch (err) {
        this.log('alert', `open() "${t.path}" failed ${errnoText(err)}`)
        continue
      }
      closeSync(t.fd)
      t.fd = fd
    }
  }

  /** Close the log files (the node has stopped). */
  close(): void {
    closeLogs(this.targets)
    this.targets = []
    this.maxRank = -1
  }

  enabled(level: Level): boolean {
    return LOG_LEVEL_ORDER.indexOf(level) <= this.maxRank
  }

  log(level: Level, message: string, ctx?: LogContext): void {
    const rank = LOG_LEVEL_ORDER.indexOf(level)
    if (rank > this.maxRank) return
    let line = `${formatLogTime(new Date())} [${level}] ${process.pid}#0: `
    if (ctx?.session !== undefined) line += `*${ctx.session} `
    line += message
    if (ctx?.peer !== undefined) line += `, client: ${ctx.peer}`
    if (ctx?.app !== undefined) line += `, app: ${ctx.app}`
    if (ctx?.name !== undefined) line += `, name: ${ctx.name}`
    // one line per event, whatever a peer put in the text (nginx escapes the same way)
    if (CONTROL_CHARS.test(line)) line = line.replace(CONTROL_CHARS_ALL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    line += '\n'
    for (const t of this.targets) {
      if (rank > t.rank) continue
      if (t.fd === null) {
        if (stderrFailed) this.lost++
        else process.stderr.write(line)
        continue
      }
      try {
        writeSync(t.fd, line)
      } catch (err) {
        // a full or failing disk loses log lines, never the node (nginx ignores write errors too)
        if ((err as NodeJS.ErrnoException).code === undefined) throw err
        this.lost++
      }
    }
  }

  error(message: string, ctx?: LogContext): void { this.log('error', message, ctx) }
  warn(message: string, ctx?: LogContext): void { this.log('warn', message, ctx) }
  notice(message: string, ctx?: LogContext): void { this.log('notice', message, ctx) }
  info(message: string, ctx?: LogContext): void { this.log('info', message, ctx) }
  debug(message: string, ctx?: LogContext): void { this.log('debug', message, ctx) }
}

/** stderr → null; a file is created with its directory and opened for appending */
function openLog(path: string): number | null {
  if (path === 'stderr') return null
  mkdirSync(dirname(path), { recursive: true })
  return openSync(path, 'a')
}

function closeLogs(targets: readonly OpenTarget[]): void {
  for (const t of targets) if (t.fd !== null) closeSync(t.fd)
}

/** stderr's reader went away (EPIPE): its lines are lost, never the node */
let stderrFailed = false
let stderrWatched = false

function watchStderr(): void {
  if (stderrWatched) return
  stderrWatched = true
  process.stderr.on('error', () => { stderrFailed = true })
}
