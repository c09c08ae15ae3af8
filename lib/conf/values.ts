// Value parsers with nginx's rules (src/core/ngx_parse.c, ngx_conf_file.c slots).
// Each returns the value or null; the directive table turns null into nginx's message.

const INT32_MAX = 0x7fffffff

// ngx_parse_time: units y M w d h m s ms in decreasing order, optionally separated by spaces;
// a bare number is seconds. `is_sec` callers (keepalive header etc.) are not needed here.
const TIME_UNITS: Record<string, [rank: number, ms: number]> = {
  y: [1, 365 * 24 * 3600 * 1000],
  M: [2, 30 * 24 * 3600 * 1000],
  w: [3, 7 * 24 * 3600 * 1000],
  d: [4, 24 * 3600 * 1000],
  h: [5, 3600 * 1000],
  m: [6, 60 * 1000],
  s: [7, 1000],
  ms: [8, 1],
}

/** nginx time → milliseconds (`5s`, `1m30s`, `500ms`, bare `3` = 3 s); null if invalid. */
export function parseTimeMs(text: string): number | null {
  const re = /(\d+)(ms|[yMwdhms])?( *)/y
  let rank = 0
  let total = 0
  let pos = 0
  let any = false
  while (pos < text.length) {
    re.lastIndex = pos
    const m = re.exec(text)
    if (m === null) return null
    const unit = m[2] ?? 's'
    const [r, scale] = TIME_UNITS[unit]
    if (m[2] === undefined && pos + m[0].length !== text.length) return null
    if (r <= rank) return null
    rank = r
    const v = Number(m[1]) * scale
    if (!Number.isSafeInteger(v) || total + v > INT32_MAX) return null
    total += v
    pos += m[0].length
    any = true
  }
  return any ? total : null
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
