// nginx-style error log: one line per event,
//   2026/11/23 22:46:36 [warn] 4242#0: *7 message, client: 127.0.0.1, app: live, name: cam1
// written to every configured error_log whose level admits it.
import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

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

export class Logger {
  private readonly ranks: number[]
  /** the most verbose level any target accepts: cheaper checks before formatting */
  private readonly maxRank: number

  constructor(private readonly targets: readonly LogTarget[]) {
    this.ranks = targets.map((t) => LOG_LEVEL_ORDER.indexOf(t.level))
    this.maxRank = Math.max(-1, ...this.ranks)
    for (const t of targets) if (t.path !== 'stderr') mkdirSync(dirname(t.path), { recursive: true })
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
    line += '\n'
    for (let i = 0; i < this.targets.length; i++) {
      if (rank > this.ranks[i]) continue
      const t = this.targets[i]
      if (t.path === 'stderr') process.stderr.write(line)
      else appendFileSync(t.path, line)
    }
  }

  error(message: string, ctx?: LogContext): void { this.log('error', message, ctx) }
  warn(message: string, ctx?: LogContext): void { this.log('warn', message, ctx) }
  notice(message: string, ctx?: LogContext): void { this.log('notice', message, ctx) }
  info(message: string, ctx?: LogContext): void { this.log('info', message, ctx) }
  debug(message: string, ctx?: LogContext): void { this.log('debug', message, ctx) }
}
