// Setters of the http{} directives (listen, add_header, root/alias, types and the PingOS location
// handlers flv_live, rtmp_stat, rtmp_control ...): nginx's and PingOS's messages for bad values.
import { at } from './scope.js'
import { checkListenOption, checkWords, directiveError, emerg, type Setter } from './setters.js'
import type { Into } from './slots.js'
import type { ConfLocation } from '../core/errors.js'
import type { AddHeader, FlvLiveHandler, HttpListen, LocationHandler } from './tree.js'
import { parseListenAddress } from './values.js'

// ---- http ----------------------------------------------------------------------------------

const HTTP_LISTEN_FLAGS = new Set(['default_server', 'default', 'ssl', 'http2', 'spdy', 'quic', 'proxy_protocol',
  'reuseport', 'deferred', 'bind'])
const HTTP_LISTEN_KEYS = /^(backlog|rcvbuf|sndbuf|accept_filter|setfib|fastopen|ipv6only|so_keepalive)=/

export const httpListen: Setter<readonly HttpListen[]> = (scope, stmt, into) => {
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
  scope.push(into, listen)
}

export const addHeader: Setter<readonly AddHeader[]> = (scope, stmt, into) => {
  if (stmt.args.length === 3 && stmt.args[2] !== 'always') throw emerg(stmt, `invalid parameter "${stmt.args[2]}"`)
  scope.push(into, { name: stmt.args[0], value: stmt.args[1], always: stmt.args.length === 3 })
}

/** root / alias (ngx_http_core_root): one of the two per location; `other` is the other's slot. */
export function rootOrAlias(other: Into<never>): Setter<string> {
  return (scope, stmt, into) => {
    if (scope.has(other)) {
      const otherName = stmt.name === 'root' ? 'alias' : 'root'
      throw emerg(stmt, `"${stmt.name}" directive is duplicate, "${otherName}" directive was specified earlier`)
    }
    scope.setOnce(stmt, into, stmt.args[0])
  }
}

/**
 * types { mime ext...; }: a free-form block; each entry maps extensions to a MIME type.
 * Several blocks in one context add to the same table (ngx_http_core_types).
 */
export const types: Setter<ReadonlyMap<string, string>> = (scope, stmt, into) => {
  const map = new Map(scope.own(into))
  for (const entry of stmt.block ?? []) {
    if (entry.block !== null) throw emerg(entry, 'unexpected "{"')
    for (const ext of entry.args) map.set(ext.toLowerCase(), entry.name)
  }
  scope.replace(into, map)
}

/** flv_live <rtmp-listen> [app=X] [audio=0|1] [video=0|1] (§1.7, §8.1) */
export const flvLive: Setter<LocationHandler> = (scope, stmt, into) => {
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
  scope.setOnce(stmt, into, handler)
}

/** ts_live / hls2_live: accepted; arguments checked as PingOS does; not served by edge. */
export function liveHandlerOptions(...keys: string[]): Setter<LocationHandler> {
  return (scope, stmt, into) => {
    for (const a of stmt.args.slice(1)) {
      const eq = a.indexOf('=')
      if (eq === -1 || !keys.includes(a.slice(0, eq))) {
        if (stmt.name === 'hls2_live') throw emerg(stmt, `"${a}" para not support`)
        throw directiveError(stmt, `invalid parameter "${a}"`)
      }
    }
    scope.setOnce(stmt, into, { kind: 'unsupported', directive: stmt.name, where: at(stmt) })
  }
}

/**
 * Handlers that answer a location (rtmp_stat, rtmp_control, sys_stat, ...); `words`: the
 * bitmask their arguments are checked against.
 */
export function locationHandler(kind: 'rtmp_stat' | 'rtmp_control' | 'sys_stat' | 'edge_metrics' | 'unsupported', words?: readonly string[]): Setter<LocationHandler> {
  return (scope, stmt, into) => {
    const args = words === undefined ? stmt.args.map((a) => a.toLowerCase()) : checkWords(stmt, words)
    const where: ConfLocation = at(stmt)
    scope.setOnce(stmt, into, kind === 'unsupported' ? { kind, directive: stmt.name, where } : { kind, args, where })
  }
}
