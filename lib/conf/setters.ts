// Directive setters: parse a statement's arguments into the slot of its row, with nginx's and
// PingOS's messages for bad values. Generic slots (flag, msec, sec, size, number, enum,
// bitmask, string) mirror ngx_conf_set_*_slot; the rest mirror the PingOS handlers named
// beside them.
import { isIPv6 } from 'node:net'
import { at, type Scope } from './scope.js'
import type { Into } from './slots.js'
import { ConfError } from '../core/errors.js'
import type { Statement } from './ast.js'
import type {
  AccessRule, CidrMatch, ErrorLogConf, NotifyConf, NotifyEvent, RelayConf, RelayUrl, ResolverConf, RtmpListen,
} from './tree.js'
import {
  compileRegex, isSoKeepalive, parseFlag, parseListenAddress, parseNumber, parseOffset, parseSize, parseTime,
  parseTimeMs, parseUrl, regexFailure,
} from './values.js'
import { compileTemplate } from './variables.js'

/** nginx's cmd->set: put what a statement says into its row's slot, in the scope of its block. */
export type Setter<V> = (scope: Scope, stmt: Statement, into: Into<V>) => void

/** `"<name>" directive <reason>`: how nginx prints a string returned by a directive handler. */
export function directiveError(stmt: Statement, reason: string): ConfError {
  return new ConfError(at(stmt), `"${stmt.name}" directive ${reason}`, 'emerg', 'ERR_CONF_VALUE')
}

export function emerg(stmt: Statement, message: string): ConfError {
  return new ConfError(at(stmt), message, 'emerg', 'ERR_CONF_VALUE')
}

// ngx_conf_log_error(NGX_LOG_WARN, ...) then NGX_CONF_ERROR: the reason at [warn] and no second
// line (the enum and bitmask slots; PingOS's notify parser, §4.1).
function warnFail(stmt: Statement, message: string): ConfError {
  return new ConfError(at(stmt), message, 'warn', 'ERR_CONF_VALUE')
}

// ---- generic slots (src/core/ngx_conf_file.c) -----------------------------------------------

/** A slot set once per block: "is duplicate" is checked before the value is read, as nginx does. */
function once<V>(parse: (stmt: Statement) => V): Setter<V> {
  return (scope, stmt, into) => {
    scope.claim(stmt, into)
    scope.replace(into, parse(stmt))
  }
}

export const flag = once((stmt) => {
  const v = parseFlag(stmt.args[0])
  if (v === null) {
    throw emerg(stmt, `invalid value "${stmt.args[0]}" in "${stmt.name}" directive, it must be "on" or "off"`)
  }
  return v
})

/** ngx_conf_set_msec_slot: nginx time, in milliseconds */
export const msec = once((stmt) => {
  const v = parseTimeMs(stmt.args[0])
  if (v === null) throw directiveError(stmt, 'invalid value')
  return v
})

/** ngx_conf_set_sec_slot: nginx time, in seconds */
export const sec = once((stmt) => {
  const v = parseTime(stmt.args[0], 's')
  if (v === null) throw directiveError(stmt, 'invalid value')
  return v
})

/**
 * ngx_rtmp_live_set_msec_slot (sync, drop_idle_publisher): "off" (null) replaces whatever the
 * block held, unchecked; a time is an msec slot.
 */
export const msecOrOff: Setter<number | null> = (scope, stmt, into) => {
  if (stmt.args[0].toLowerCase() === 'off') return scope.replace(into, null)
  msec(scope, stmt, into)
}

export const size = once((stmt) => {
  const v = parseSize(stmt.args[0])
  if (v === null) throw directiveError(stmt, 'invalid value')
  return v
})

export const offset = once((stmt) => {
  const v = parseOffset(stmt.args[0])
  if (v === null) throw directiveError(stmt, 'invalid value')
  return v
})

function parseNum(stmt: Statement): number {
  const v = parseNumber(stmt.args[0])
  if (v === null) throw directiveError(stmt, 'invalid number')
  return v
}

export const num = once(parseNum)

/** A number slot with a post handler refusing more than `max` (merge_frame). */
export function numAtMost(max: number, message: string): Setter<number> {
  return once((stmt) => {
    const v = parseNum(stmt)
    if (v > max) throw emerg(stmt, message)
    return v
  })
}

export const str = once((stmt) => stmt.args[0])

/** The first of a repeatable string slot (ssl_certificate: edge uses one certificate). */
export const first: Setter<string> = (scope, stmt, into) => {
  if (!scope.has(into)) scope.replace(into, stmt.args[0])
}

/** ngx_conf_set_enum_slot: one word of a list, case-insensitive. */
export function oneOf<const T extends string>(...allowed: T[]): Setter<T> {
  return once((stmt) => {
    const v = allowed.find((a) => a.toLowerCase() === stmt.args[0].toLowerCase())
    if (v === undefined) throw warnFail(stmt, `invalid value "${stmt.args[0]}"`)
    return v
  })
}

/** ngx_conf_set_bitmask_slot's check: every argument must be a word of the list. */
export function checkWords(stmt: Statement, allowed: readonly string[]): string[] {
  const words = stmt.args.map((a) => a.toLowerCase())
  const bad = words.findIndex((w) => !allowed.includes(w))
  if (bad !== -1) throw warnFail(stmt, `invalid value "${stmt.args[bad]}"`)
  return words
}

/** ngx_conf_set_bitmask_slot: words of a list; a second line adds to the first. */
export function bitmask<const T extends string>(...allowed: T[]): Setter<readonly T[]> {
  return (scope, stmt, into) => {
    for (const w of checkWords(stmt, allowed)) scope.push(into, w as T)
  }
}

/** ngx_conf_set_str_array_slot and friends: repeatable, every argument kept. */
export const list: Setter<readonly string[]> = (scope, stmt, into) => {
  for (const a of stmt.args) scope.push(into, a)
}

/** Accepted with its arguments checked for count only (directives edge does not act on). */
export const accept: Setter<never> = () => {}

/** Accepted once per block (a standard slot whose value edge does not use). */
export const acceptOnce = once((stmt) => stmt.args)

// ---- main and events -----------------------------------------------------------------------

export const workerProcesses = once((stmt): number | 'auto' => {
  const a = stmt.args[0]
  if (a === 'auto') return 'auto'
  const n = parseNumber(a)
  if (n === null || n < 1) throw directiveError(stmt, 'invalid value')
  return n
})

export const LOG_LEVELS = ['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'] as const
const DEBUG_MASKS = ['debug_core', 'debug_alloc', 'debug_mutex', 'debug_event', 'debug_http', 'debug_mail', 'debug_stream']

export const errorLog: Setter<readonly ErrorLogConf[]> = (scope, stmt, into) => {
  const [path, ...levels] = stmt.args
  let level: (typeof LOG_LEVELS)[number] = 'error'
  for (const l of levels) {
    if ((LOG_LEVELS as readonly string[]).includes(l)) level = l as typeof level
    else if (DEBUG_MASKS.includes(l)) level = 'debug'
    else throw emerg(stmt, `invalid log level "${l}"`)
  }
  scope.push(into, { path, level })
}

export const resolver = once((stmt): ResolverConf => {
  const addresses: string[] = []
  let validMs: number | null = null
  let ipv6 = true
  for (const a of stmt.args) {
    if (a.startsWith('valid=')) {
      validMs = parseTimeMs(a.slice(6))
      if (validMs === null) throw emerg(stmt, `invalid parameter: ${a}`)
    } else if (a.startsWith('ipv6=')) {
      const f = parseFlag(a.slice(5))
      if (f === null) throw emerg(stmt, `invalid parameter: ${a}`)
      ipv6 = f
    } else if (a.startsWith('status_zone=')) {
      continue
    } else {
      const addr = parseListenAddress(a, 53)
      if ('reason' in addr || addr.unixPath !== null) throw emerg(stmt, `invalid resolver address "${a}"`)
      addresses.push(`${addr.host}:${addr.port}`)
    }
  }
  if (addresses.length === 0) throw emerg(stmt, 'no name servers defined')
  return { addresses, validMs, ipv6 }
})

// ---- rtmp server ---------------------------------------------------------------------------

const RTMP_LISTEN_OPTIONS = /^(default_server|default|bind|reuseport|proxy_protocol|ipv6only=(on|off))$/

/** Options of `listen` with a value nginx checks: so_keepalive's own message. */
export function checkListenOption(stmt: Statement, option: string): void {
  if (option.startsWith('so_keepalive=') && !isSoKeepalive(option.slice(13))) {
    throw emerg(stmt, `invalid so_keepalive value: "${option.slice(13)}"`)
  }
}

/** rtmp `listen` (ngx_rtmp_core_listen): address plus at most one option (TAKE12). */
export const rtmpListen: Setter<readonly RtmpListen[]> = (scope, stmt, into) => {
  const addr = parseListenAddress(stmt.args[0], 1935)
  if ('reason' in addr) throw emerg(stmt, `${addr.reason} in "${stmt.args[0]}" of the "listen" directive`)
  const option = stmt.args[1]
  if (option !== undefined) {
    if (option.startsWith('so_keepalive=')) checkListenOption(stmt, option)
    else if (!RTMP_LISTEN_OPTIONS.test(option)) throw emerg(stmt, `the invalid "${option}" parameter`)
  }
  const listens = scope.own(into) ?? []
  if (listens.some((l) => l.address.text === addr.text)) {
    throw emerg(stmt, `duplicate "${addr.text}" address and port pair`)
  }
  const listen: RtmpListen = {
    address: addr,
    defaultServer: option === 'default_server' || option === 'default',
    where: at(stmt),
  }
  scope.push(into, listen)
}

export const serverNames: Setter<readonly string[]> = (scope, stmt, into) => {
  for (const name of stmt.args) {
    if (name.startsWith('~')) {
      const regex = compileRegex(name.slice(1), false)
      if (typeof regex === 'string') throw emerg(stmt, regexFailure(name.slice(1), regex))
    }
    scope.push(into, name)
  }
}

// ---- relays: pull / push (ngx_live_relay_simple.c, ngx_live_relay_push_pull) ----------------

const RELAY_KEYS = ['domain', 'app', 'name', 'pargs', 'referer', 'user_agent'] as const

export function parseRelay(stmt: Statement): RelayConf {
  const urls: RelayUrl[] = []
  const params: Record<(typeof RELAY_KEYS)[number], string> = {
    domain: '', app: '', name: '', pargs: '', referer: '', user_agent: '',
  }
  for (const a of stmt.args) {
    const lower = a.toLowerCase()
    if (lower.startsWith('rtmp://') || lower.startsWith('http://')) {
      urls.push(parseRelayUrl(stmt, a))
      continue
    }
    const eq = a.indexOf('=')
    if (eq === -1) throw directiveError(stmt, 'unsupported parameter format')
    const key = a.slice(0, eq).toLowerCase() as (typeof RELAY_KEYS)[number]
    if (!RELAY_KEYS.includes(key)) throw directiveError(stmt, 'unsupported parameter')
    params[key] = a.slice(eq + 1)
  }
  if (urls.length === 0) throw directiveError(stmt, 'has no rtmp:// or http:// url')
  return {
    urls,
    domain: params.domain,
    app: params.app,
    name: params.name,
    pargs: params.pargs,
    referer: params.referer,
    userAgent: params.user_agent,
    where: at(stmt),
  }
}

function parseRelayUrl(stmt: Statement, text: string): RelayUrl {
  // Only scheme, host and port are used; path and query are ignored (§2.1).
  const rest = text.slice(7)
  const m = /^([^/:?]+)(?::([^/?]*))?/.exec(rest)
  if (m === null) throw directiveError(stmt, `invalid url "${text}"`)
  const scheme = text.slice(0, 4).toLowerCase() === 'rtmp' ? 'rtmp' : 'http'
  let port: number
  if (m[2] === undefined) {
    // the default port is looked up with the scheme as written: "RTMP://h" has none
    const written = text.slice(0, text.indexOf(':'))
    if (written !== 'rtmp' && written !== 'http') throw directiveError(stmt, 'invalid port')
    port = written === 'rtmp' ? 1935 : 80
  } else {
    const p = parseNumber(m[2])
    if (p === null || p < 1 || p > 65535) throw directiveError(stmt, 'invalid port')
    port = p
  }
  return { scheme, host: m[1], port, text }
}

export const pull = once(parseRelay)
export const push: Setter<readonly RelayConf[]> = (scope, stmt, into) => scope.push(into, parseRelay(stmt))

// ---- notifications (ngx_rtmp_notify_create_event, §4.1) -------------------------------------

const NOTIFY_ALIASES: Record<string, NotifyEvent> = {
  on_play: 'play', oclp_play: 'play',
  on_publish: 'publish', oclp_publish: 'publish',
  on_pull: 'pull', oclp_pull: 'pull',
  on_push: 'push', oclp_push: 'push',
  on_stream: 'stream', oclp_stream: 'stream',
  on_meta: 'meta', oclp_meta: 'meta',
  on_record: 'record', oclp_record: 'record',
  on_connect: 'connect', oclp_connect: 'connect',
  on_proc: 'proc', oclp_proc: 'proc',
  on_master: 'master',
}

/** on_push and on_meta may repeat up to this many times per application. */
export const NOTIFY_MAX_REPEATED = 8

/** timeout= and update= when absent or 0 (ngx_rtmp_notify_create_event, §4.1) */
const NOTIFY_DEFAULT_TIMEOUT_MS = 3000
const NOTIFY_DEFAULT_UPDATE_MS = 60000

export function parseNotify(stmt: Statement, event: NotifyEvent): NotifyConf {
  let url: string | null = null
  let args: NotifyConf['args'] = null
  let groupId: string | null = null
  let update = false
  let done = false
  let timeoutMs = NOTIFY_DEFAULT_TIMEOUT_MS
  let updateMs = NOTIFY_DEFAULT_UPDATE_MS
  for (const a of stmt.args) {
    if (a.startsWith('args=')) {
      const compiled = compileTemplate(a.slice(5))
      if ('reason' in compiled) throw emerg(stmt, compiled.reason)
      args = { text: a.slice(5), template: compiled }
    } else if (a.startsWith('groupid=')) {
      groupId = a.slice(8)
    } else if (a.startsWith('stage=')) {
      update = false
      done = false
      for (const s of a.slice(6).split(',')) {
        if (s === 'update') update = true
        else if (s === 'done') done = true
        else if (s !== 'start') throw warnFail(stmt, `unknown stage "${s}"`)
      }
    } else if (a.startsWith('timeout=')) {
      const t = parseTimeMs(a.slice(8))
      if (t === null) throw warnFail(stmt, `unknown timeout timer format "${a.slice(8)}"`)
      // ngx_rtmp_notify_create_event: 0 means the default
      timeoutMs = t === 0 ? NOTIFY_DEFAULT_TIMEOUT_MS : t
    } else if (a.startsWith('update=')) {
      const t = parseTimeMs(a.slice(7))
      if (t === null) throw warnFail(stmt, `unknown cont timer format "${a.slice(7)}"`)
      updateMs = t === 0 ? NOTIFY_DEFAULT_UPDATE_MS : t
    } else if (a.startsWith('http://')) {
      if (url !== null) throw warnFail(stmt, 'duplicate url')
      if (parseUrl(a) === null) throw warnFail(stmt, 'request url format error')
      url = a
    } else {
      throw warnFail(stmt, 'must be http url')
    }
  }
  if (url === null) throw warnFail(stmt, 'must be http url')
  const parsed = parseUrl(url)
  if (parsed === null) throw warnFail(stmt, 'request url format error')
  return { event, url, parsed, args, groupId, stages: { update, done }, timeoutMs, updateMs, where: at(stmt) }
}

// on_<event> and oclp_<event> fill one slot: a second one of either is a duplicate.
export const notifyOnce: Setter<NotifyConf> = (scope, stmt, into) => {
  const event = NOTIFY_ALIASES[stmt.name]
  if (scope.has(into)) throw warnFail(stmt, `duplicate on_${event}`)
  scope.replace(into, parseNotify(stmt, event))
}

export const notifyRepeated: Setter<readonly NotifyConf[]> = (scope, stmt, into) => {
  const event = NOTIFY_ALIASES[stmt.name]
  if ((scope.own(into) ?? []).length >= NOTIFY_MAX_REPEATED) throw warnFail(stmt, `too much on_${event} events`)
  scope.push(into, parseNotify(stmt, event))
}

// ---- access (ngx_rtmp_access_module.c / ngx_http_access_module.c) ---------------------------

export function parseCidr(text: string): CidrMatch | null {
  if (text === 'all') return { kind: 'all' }
  if (text.startsWith('unix:')) return { kind: 'unix' }
  const [addr, bitsText] = text.split('/', 2)
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr)
  if (v4 !== null) {
    const octets = v4.slice(1).map(Number)
    if (octets.some((o) => o > 255)) return null
    const bits = bitsText === undefined ? 32 : parseNumber(bitsText)
    if (bits === null || bits > 32) return null
    return { kind: 'ipv4', octets, bits }
  }
  if (isIPv6(addr)) {
    const bits = bitsText === undefined ? 128 : parseNumber(bitsText)
    if (bits === null || bits > 128) return null
    return { kind: 'ipv6', address: addr.toLowerCase(), bits }
  }
  return null
}

export const rtmpAccess: Setter<readonly AccessRule[]> = (scope, stmt, into) => {
  let action: AccessRule['action'] = 'all'
  let target = stmt.args[0]
  if (stmt.args.length === 2) {
    const a = stmt.args[0]
    if (a !== 'publish' && a !== 'play') throw emerg(stmt, `unexpected "${a}"`)
    action = a
    target = stmt.args[1]
  }
  const match = parseCidr(target)
  if (match === null) throw emerg(stmt, `invalid parameter "${target}"`)
  const rule: AccessRule = { allow: stmt.name === 'allow', action, match, where: at(stmt) }
  scope.push(into, rule)
}

export const httpAccess: Setter<readonly AccessRule[]> = (scope, stmt, into) => {
  const match = parseCidr(stmt.args[0])
  if (match === null) throw emerg(stmt, `invalid parameter "${stmt.args[0]}"`)
  const rule: AccessRule = { allow: stmt.name === 'allow', action: 'all', match, where: at(stmt) }
  scope.push(into, rule)
}
