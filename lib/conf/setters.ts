// Directive setters: parse a statement's arguments into a scope, with nginx's and PingOS's
// messages for bad values. Generic slots (flag, msec, size, number, enum, string) mirror
// ngx_conf_set_*_slot; the rest mirror the PingOS handlers named beside them.
import { ConfError, type ConfLocation } from '../core/errors.js'
import type { Statement } from './ast.js'
import { at, type Scope } from './scope.js'
import type {
  AccessRule, AddHeader, CidrMatch, FlvLiveHandler, HttpListen, NotifyConf, NotifyEvent, RelayConf,
  RelayUrl, RtmpListen,
} from './tree.js'
import {
  compileRegex, isSoKeepalive, parseFlag, parseListenAddress, parseNumber, parseOffset, parseSize, parseTimeMs, parseUrl, regexFailure,
} from './values.js'
import { compileTemplate } from './variables.js'

export type Setter = (scope: Scope, stmt: Statement) => void

/** `"<name>" directive <reason>`: how nginx prints a string returned by a directive handler. */
export function directiveError(stmt: Statement, reason: string): ConfError {
  return new ConfError(at(stmt), `"${stmt.name}" directive ${reason}`, 'emerg', 'ERR_CONF_VALUE')
}

function emerg(stmt: Statement, message: string): ConfError {
  return new ConfError(at(stmt), message, 'emerg', 'ERR_CONF_VALUE')
}

// PingOS's notify parser logs its reason at [warn] and fails without a second line (§4.1).
function warnFail(stmt: Statement, message: string): ConfError {
  return new ConfError(at(stmt), message, 'warn', 'ERR_CONF_VALUE')
}

// ---- generic slots ------------------------------------------------------------------------

export const flag: Setter = (scope, stmt) => {
  const v = parseFlag(stmt.args[0])
  if (v === null) {
    throw emerg(stmt, `invalid value "${stmt.args[0]}" in "${stmt.name}" directive, it must be "on" or "off"`)
  }
  scope.setOnce(stmt, v)
}

export const msec: Setter = (scope, stmt) => {
  const v = parseTimeMs(stmt.args[0])
  if (v === null) throw directiveError(stmt, 'invalid value')
  scope.setOnce(stmt, v)
}

/** time or "off" (null): sync, drop_idle_publisher */
export const msecOrOff: Setter = (scope, stmt) => {
  if (stmt.args[0] === 'off') return scope.setOnce(stmt, null)
  msec(scope, stmt)
}

export const size: Setter = (scope, stmt) => {
  const v = parseSize(stmt.args[0])
  if (v === null) throw directiveError(stmt, 'invalid value')
  scope.setOnce(stmt, v)
}

export const offset: Setter = (scope, stmt) => {
  const v = parseOffset(stmt.args[0])
  if (v === null) throw directiveError(stmt, 'invalid value')
  scope.setOnce(stmt, v)
}

export const num: Setter = (scope, stmt) => {
  const v = parseNumber(stmt.args[0])
  if (v === null) throw directiveError(stmt, 'invalid number')
  scope.setOnce(stmt, v)
}

export function numAtMost(max: number, message: string): Setter {
  return (scope, stmt) => {
    num(scope, stmt)
    if ((scope.own<number>(stmt.name) as { value: number }).value > max) throw emerg(stmt, message)
  }
}

export const str: Setter = (scope, stmt) => scope.setOnce(stmt, stmt.args[0])

/** ngx_conf_set_enum_slot */
export function oneOf(...allowed: string[]): Setter {
  return (scope, stmt) => {
    const v = stmt.args[0]
    if (!allowed.includes(v)) throw directiveError(stmt, `invalid value "${v}"`)
    scope.setOnce(stmt, v)
  }
}

/** ngx_conf_set_bitmask_slot: every argument must be a known word ([warn] + failure). */
export function bitmask(...allowed: string[]): Setter {
  return (scope, stmt) => {
    for (const a of stmt.args) if (!allowed.includes(a.toLowerCase())) throw warnFail(stmt, `invalid value "${a}"`)
    scope.setOnce(stmt, stmt.args.map((a) => a.toLowerCase()))
  }
}

/** ngx_conf_set_str_array_slot and friends: repeatable, every occurrence kept. */
export const list: Setter = (scope, stmt) => scope.push(stmt.name, stmt, stmt.args)

/** Accepted with its arguments checked for count only (directives edge does not act on). */
export const accept: Setter = () => {}

/** Accepted once per block (a standard slot whose value edge does not use). */
export const acceptOnce: Setter = (scope, stmt) => scope.setOnce(stmt, stmt.args)

// ---- main and events -----------------------------------------------------------------------

export const workerProcesses: Setter = (scope, stmt) => {
  const a = stmt.args[0]
  if (a === 'auto') return scope.setOnce(stmt, 'auto')
  const n = parseNumber(a)
  if (n === null || n < 1) throw directiveError(stmt, 'invalid value')
  scope.setOnce(stmt, n)
}

export const LOG_LEVELS = ['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'] as const
const DEBUG_MASKS = ['debug_core', 'debug_alloc', 'debug_mutex', 'debug_event', 'debug_http', 'debug_mail', 'debug_stream']

export const errorLog: Setter = (scope, stmt) => {
  const [path, ...levels] = stmt.args
  let level: (typeof LOG_LEVELS)[number] = 'error'
  for (const l of levels) {
    if ((LOG_LEVELS as readonly string[]).includes(l)) level = l as typeof level
    else if (DEBUG_MASKS.includes(l)) level = 'debug'
    else throw emerg(stmt, `invalid log level "${l}"`)
  }
  scope.push('error_log', stmt, { path, level })
}

export const resolver: Setter = (scope, stmt) => {
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
  scope.setOnce(stmt, { addresses, validMs, ipv6 })
}

// ---- rtmp server ---------------------------------------------------------------------------

const RTMP_LISTEN_OPTIONS = /^(default_server|default|bind|reuseport|proxy_protocol|ipv6only=(on|off))$/

/** Options of `listen` with a value nginx checks: so_keepalive's own message. */
function checkListenOption(stmt: Statement, option: string): void {
  if (option.startsWith('so_keepalive=') && !isSoKeepalive(option.slice(13))) {
    throw emerg(stmt, `invalid so_keepalive value: "${option.slice(13)}"`)
  }
}

/** rtmp `listen` (ngx_rtmp_core_listen): address plus at most one option (TAKE12). */
export const rtmpListen: Setter = (scope, stmt) => {
  const addr = parseListenAddress(stmt.args[0], 1935)
  if ('reason' in addr) throw emerg(stmt, `${addr.reason} in "${stmt.args[0]}" of the "listen" directive`)
  const option = stmt.args[1]
  if (option !== undefined) {
    if (option.startsWith('so_keepalive=')) checkListenOption(stmt, option)
    else if (!RTMP_LISTEN_OPTIONS.test(option)) throw emerg(stmt, `the invalid "${option}" parameter`)
  }
  const listens = scope.own<RtmpListen[]>('listen')?.value ?? []
  if (listens.some((l) => l.address.text === addr.text)) {
    throw emerg(stmt, `duplicate "${addr.text}" address and port pair`)
  }
  const listen: RtmpListen = {
    address: addr,
    defaultServer: option === 'default_server' || option === 'default',
    where: at(stmt),
  }
  scope.push('listen', stmt, listen)
}

export const serverNames: Setter = (scope, stmt) => {
  for (const name of stmt.args) {
    if (name.startsWith('~')) {
      const regex = compileRegex(name.slice(1), false)
      if (typeof regex === 'string') throw emerg(stmt, regexFailure(name.slice(1), regex))
    }
    scope.push('server_name', stmt, name)
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

export const pull: Setter = (scope, stmt) => scope.setOnce(stmt, parseRelay(stmt))
export const push: Setter = (scope, stmt) => scope.push('push', stmt, parseRelay(stmt))

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

export function parseNotify(stmt: Statement, event: NotifyEvent): NotifyConf {
  let url: string | null = null
  let args: NotifyConf['args'] = null
  let groupId: string | null = null
  let update = false
  let done = false
  let timeoutMs = 3000
  let updateMs = 60000
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
      timeoutMs = t
    } else if (a.startsWith('update=')) {
      const t = parseTimeMs(a.slice(7))
      if (t === null) throw warnFail(stmt, `unknown cont timer format "${a.slice(7)}"`)
      updateMs = t
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

export const notifyOnce: Setter = (scope, stmt) => {
  const event = NOTIFY_ALIASES[stmt.name]
  const key = `on_${event}`
  if (scope.values.has(key)) throw warnFail(stmt, `duplicate ${key}`)
  const conf = parseNotify(stmt, event)
  scope.values.set(key, { value: conf, where: at(stmt) })
}

export const notifyRepeated: Setter = (scope, stmt) => {
  const event = NOTIFY_ALIASES[stmt.name]
  const key = `on_${event}`
  const current = scope.own<NotifyConf[]>(key)?.value ?? []
  if (current.length >= NOTIFY_MAX_REPEATED) throw warnFail(stmt, `too much ${key} events`)
  scope.push(key, stmt, parseNotify(stmt, event))
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
  if (addr.includes(':') && /^[0-9A-Fa-f:.]+$/.test(addr)) {
    const bits = bitsText === undefined ? 128 : parseNumber(bitsText)
    if (bits === null || bits > 128) return null
    return { kind: 'ipv6', address: addr.toLowerCase(), bits }
  }
  return null
}

export const rtmpAccess: Setter = (scope, stmt) => {
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
  scope.push('access', stmt, rule)
}

export const httpAccess: Setter = (scope, stmt) => {
  const match = parseCidr(stmt.args[0])
  if (match === null) throw emerg(stmt, `invalid parameter "${stmt.args[0]}"`)
  const rule: AccessRule = { allow: stmt.name === 'allow', action: 'all', match, where: at(stmt) }
  scope.push('access', stmt, rule)
}

// ---- http ----------------------------------------------------------------------------------

const HTTP_LISTEN_FLAGS = new Set(['default_server', 'default', 'ssl', 'http2', 'spdy', 'quic', 'proxy_protocol',
  'reuseport', 'deferred', 'bind'])
const HTTP_LISTEN_KEYS = /^(backlog|rcvbuf|sndbuf|accept_filter|setfib|fastopen|ipv6only|so_keepalive)=/

export const httpListen: Setter = (scope, stmt) => {
  const addr = parseListenAddress(stmt.args[0], 80)
  if ('reason' in addr) throw emerg(stmt, `${addr.reason} in "${stmt.args[0]}" of the "listen" directive`)
  const opts = stmt.args.slice(1)
  for (const o of opts) {
    if (!HTTP_LISTEN_FLAGS.has(o) && !HTTP_LISTEN_KEYS.test(o)) throw emerg(stmt, `invalid parameter "${o}"`)
    checkListenOption(stmt, o)
  }
  const listen: HttpListen = {
    address: addr,
    ssl: opts.includes('ssl'),
    defaultServer: opts.includes('default_server') || opts.includes('default'),
    where: at(stmt),
  }
  scope.push('listen', stmt, listen)
}

export const addHeader: Setter = (scope, stmt) => {
  if (stmt.args.length === 3 && stmt.args[2] !== 'always') throw emerg(stmt, `invalid parameter "${stmt.args[2]}"`)
  const header: AddHeader = { name: stmt.args[0], value: stmt.args[1], always: stmt.args.length === 3 }
  scope.push('add_header', stmt, header)
}

export const rootOrAlias: Setter = (scope, stmt) => {
  const other = stmt.name === 'root' ? 'alias' : 'root'
  if (scope.values.has(other)) {
    throw emerg(stmt, `"${stmt.name}" directive is duplicate, "${other}" directive was specified earlier`)
  }
  scope.setOnce(stmt, stmt.args[0])
}

/**
 * types { mime ext...; }: a free-form block; each entry maps extensions to a MIME type.
 * Several blocks in one context add to the same table (ngx_http_core_types).
 */
export const types: Setter = (scope, stmt) => {
  const map = scope.own<Map<string, string>>('types')?.value ?? new Map<string, string>()
  for (const entry of stmt.block ?? []) {
    if (entry.block !== null) throw emerg(entry, 'unexpected "{"')
    for (const ext of entry.args) map.set(ext.toLowerCase(), entry.name)
  }
  if (!scope.values.has('types')) scope.values.set('types', { value: map, where: at(stmt) })
}

/** flv_live <rtmp-listen> [app=X] [audio=0|1] [video=0|1] (§1.7, §8.1) */
export const flvLive: Setter = (scope, stmt) => {
  let app: string | null = null
  let audio = true
  let video = true
  for (const a of stmt.args.slice(1)) {
    const m = /^(app|audio|video)=(.*)$/.exec(a)
    if (m === null || (m[1] !== 'app' && m[2] !== '0' && m[2] !== '1')) throw directiveError(stmt, `invalid parameter "${a}"`)
    if (m[1] === 'app') app = m[2]
    else if (m[1] === 'audio') audio = m[2] === '1'
    else video = m[2] === '1'
  }
  const addr = parseListenAddress(stmt.args[0], 1935)
  const handler: FlvLiveHandler = {
    kind: 'flv_live', rtmpListen: stmt.args[0], rtmpListenAddress: 'reason' in addr ? '' : addr.text, app, audio, video, where: at(stmt),
  }
  scope.setOnce(stmt, handler, 'handler')
}

/** ts_live / hls2_live: accepted; arguments checked as PingOS does; not served by edge. */
export function liveHandlerOptions(...keys: string[]): Setter {
  return (scope, stmt) => {
    for (const a of stmt.args.slice(1)) {
      const eq = a.indexOf('=')
      if (eq === -1 || !keys.includes(a.slice(0, eq))) {
        if (stmt.name === 'hls2_live') throw emerg(stmt, `"${a}" para not support`)
        throw directiveError(stmt, `invalid parameter "${a}"`)
      }
    }
    scope.setOnce(stmt, { kind: 'unsupported', directive: stmt.name, where: at(stmt) }, 'handler')
  }
}

/** Handlers that answer a location (rtmp_stat, rtmp_control, sys_stat, ...). */
export function locationHandler(kind: 'rtmp_stat' | 'rtmp_control' | 'sys_stat' | 'unsupported', check?: Setter): Setter {
  return (scope, stmt) => {
    check?.(scope, stmt)
    const where: ConfLocation = at(stmt)
    const value = kind === 'unsupported'
      ? { kind, directive: stmt.name, where }
      : { kind, args: stmt.args.map((a) => a.toLowerCase()), where }
    scope.setOnce(stmt, value, 'handler')
  }
}
