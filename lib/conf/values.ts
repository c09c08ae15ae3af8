// Value parsers with nginx's rules (src/core/ngx_parse.c, ngx_conf_file.c slots).
// Each returns the value or null; the directive table turns null into nginx's message.

/** The longest a Node timer waits (setTimeout's limit); longer times are held at it. */
export const TIMER_MAX_MS = 0x7fffffff

// ngx_parse_time (src/core/ngx_parse.c), step by step: units y M w d h m s ms, each after a
// larger one, optionally followed by spaces; a number with no unit after it counts as seconds
// (`1m30` is 90 s), and so does one ended by a space. Milliseconds (msec slots) refuse y and
// M; seconds (sec slots) refuse ms.
const enum Step { Start, Year, Month, Week, Day, Hour, Min, Sec, Msec, Last }
const UNITS: Record<string, readonly [Step, seconds: number]> = {
  y: [Step.Year, 365 * 24 * 3600], M: [Step.Month, 30 * 24 * 3600], w: [Step.Week, 7 * 24 * 3600],
  d: [Step.Day, 24 * 3600], h: [Step.Hour, 3600], m: [Step.Min, 60], s: [Step.Sec, 1], ms: [Step.Msec, 0.001],
}

/** nginx time in `unit` (`5s`, `1m30s`, `500ms`, bare `3` = 3 s); null where nginx says invalid. */
export function parseTime(text: string, unit: 'ms' | 's'): number | null {
  const perSecond = unit === 'ms' ? 1000 : 1
  let step = unit === 'ms' ? Step.Month : Step.Start
  let value = 0
  let total = 0
  let valid = false
  let p = 0
  while (p < text.length) {
    const c = text[p++]
    if (c >= '0' && c <= '9') {
      value = value * 10 + Number(c)
      valid = true
      continue
    }
    if (c === ' ') {
      if (step >= Step.Sec) return null
      step = Step.Last
      total += value * perSecond
    } else {
      const name = c === 'm' && text[p] === 's' ? 'ms' : c
      const u = UNITS[name]
      if (u === undefined || step >= u[0] || (name === 'ms' && unit === 's')) return null
      p += name.length - 1
      step = u[0]
      total += value * u[1] * perSecond
    }
    value = 0
    while (text[p] === ' ') p++
  }
  if (!valid) return null
  total += value * perSecond
  return Number.isSafeInteger(total) ? total : null
}

/** nginx time as an msec slot reads it, in milliseconds; held at TIMER_MAX_MS. */
export function parseTimeMs(text: string): number | null {
  const ms = parseTime(text, 'ms')
  return ms === null ? null : Math.min(ms, TIMER_MAX_MS)
}

/** nginx size (`512`, `64k`, `6m`): bytes, null if invalid (ngx_parse_size). */
export function parseSize(text: string): number | null {
  const m = /^(\d+)([kKmM]?)$/.exec(text)
  if (m === null) return null
  const scale = m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1024 : 1024 * 1024
  const v = Number(m[1]) * scale
  return Number.isSafeInteger(v) ? v : null
}

/** nginx offset (size plus `g`): bytes, null if invalid (ngx_parse_offset). */
export function parseOffset(text: string): number | null {
  const m = /^(\d+)([gG])$/.exec(text)
  if (m !== null) return Number(m[1]) * 1024 * 1024 * 1024
  return parseSize(text)
}

/** Non-negative decimal integer (ngx_atoi), null if invalid. */
export function parseNumber(text: string): number | null {
  if (!/^\d+$/.test(text)) return null
  const v = Number(text)
  return Number.isSafeInteger(v) ? v : null
}

/** "on"/"off", case-insensitive as ngx_conf_set_flag_slot compares; null otherwise. */
export function parseFlag(text: string): boolean | null {
  const t = text.toLowerCase()
  if (t === 'on') return true
  if (t === 'off') return false
  return null
}

/** host[:port] | port | *:port | unix:path, as nginx listen/flv_live arguments. */
export interface ListenAddress {
  /** the address as nginx prints it: `0.0.0.0:1935`, `127.0.0.1:8080`, `unix:/tmp/s` */
  readonly text: string
  readonly host: string
  readonly port: number
  readonly unixPath: string | null
}

/** Parse a listen-style address; `reason` is nginx's ngx_parse_url error when invalid. */
export function parseListenAddress(arg: string, defaultPort: number): ListenAddress | { reason: string } {
  if (arg.startsWith('unix:')) {
    const path = arg.slice(5)
    if (path === '') return { reason: 'no path in the unix domain socket' }
    return { text: arg, host: '', port: 0, unixPath: path }
  }
  let host = '0.0.0.0'
  let portText: string
  const colon = arg.lastIndexOf(':')
  if (arg.startsWith('[')) {
    const end = arg.indexOf(']')
    if (end === -1) return { reason: 'invalid host' }
    host = arg.slice(0, end + 1)
    portText = arg[end + 1] === ':' ? arg.slice(end + 2) : String(defaultPort)
  } else if (colon !== -1) {
    host = arg.slice(0, colon)
    portText = arg.slice(colon + 1)
    if (host === '*') host = '0.0.0.0'
    if (host === '') return { reason: 'no host' }
  } else if (/^\d+$/.test(arg)) {
    portText = arg
  } else {
    host = arg
    portText = String(defaultPort)
  }
  if (host === 'localhost') host = '127.0.0.1'
  if (!/^\d+$/.test(portText)) return { reason: 'invalid port' }
  const port = Number(portText)
  if (port < 1 || port > 65535) return { reason: 'invalid port' }
  if (!/^[A-Za-z0-9.\-_[\]:]+$/.test(host)) return { reason: 'invalid host' }
  return { text: `${host}:${port}`, host, port, unixPath: null }
}

/** scheme://host[:port][/path][?query] pieces of an origin or notify URL. */
export interface ParsedUrl {
  readonly scheme: string
  readonly host: string
  /** explicit port, or null when the URL gives none */
  readonly port: number | null
  /** path including the leading "/", "" when absent */
  readonly path: string
  /** query without "?", null when absent */
  readonly query: string | null
}

/** Parse `scheme://host[:port][/path][?query]`; null if it has no scheme, host or a bad port. */
export function parseUrl(text: string): ParsedUrl | null {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?:]+)(?::([^/?]*))?([^?]*)(?:\?(.*))?$/s.exec(text)
  if (m === null) return null
  let port: number | null = null
  if (m[3] !== undefined) {
    if (!/^\d+$/.test(m[3])) return null
    port = Number(m[3])
    if (port < 1 || port > 65535) return null
  }
  return { scheme: m[1], host: m[2], port, path: m[4], query: m[5] ?? null }
}

/**
 * so_keepalive=on|off|[idle]:[intvl]:[cnt] of `listen` (ngx_rtmp_core_listen): idle and intvl
 * are times (bare number = seconds), cnt a number; each part may be empty, not all three.
 */
export function isSoKeepalive(value: string): boolean {
  if (value === 'on' || value === 'off') return true
  const parts = value.split(':')
  if (parts.length !== 3 || parts.every((p) => p === '')) return false
  return (parts[0] === '' || parseTimeMs(parts[0]) !== null) &&
    (parts[1] === '' || parseTimeMs(parts[1]) !== null) &&
    (parts[2] === '' || parseNumber(parts[2]) !== null)
}

/**
 * A location or server_name regex (ngx_regex_compile), compiled by JavaScript's engine: the
 * RegExp, or the reason it does not compile (JavaScript's words; nginx prints PCRE's).
 */
export function compileRegex(source: string, caseless: boolean): RegExp | string {
  try {
    return new RegExp(source, caseless ? 'i' : '')
  } catch (err) {
    const message = (err as Error).message
    return message.slice(message.lastIndexOf(': ') + 2)
  }
}

/** nginx's message for a regex that does not compile */
export function regexFailure(source: string, reason: string): string {
  return `pcre2_compile() failed: ${reason} in "${source}"`
}
