// Applying statements to scopes (the one checking dispatcher, ngx_conf_handler's order of
// checks), then merging each branch of scopes into the typed tree with PingOS's defaults.
import { accessSync, constants } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { errnoText } from '../core/errno.js'
import { ConfError, type ConfLocation } from '../core/errors.js'
import type { Statement } from './ast.js'
import { DIRECTIVES } from './directives.js'
import type { ConfLoader } from './load.js'
import {
  EVENTS, HTTP, HTTP_LOC, HTTP_SRV, MAIN, RTMP, RTMP_APP, RTMP_REC, RTMP_SRV, Scope, at, type ContextBit,
} from './scope.js'
import { slotValues } from './slots.js'
import type {
  AppConf, HttpConf, HttpListen, HttpServerConf, LocationConf, LocationModifier, MainConf, RecorderConf, RtmpConf,
  RtmpListen, RtmpListener, RtmpServerConf,
} from './tree.js'
import { compileRegex, parseListenAddress, regexFailure, type ListenAddress } from './values.js'

/** Directives written in the config that edge accepts but does not act on, first use of each. */
export type Unimplemented = Map<string, ConfLocation>

/**
 * Apply statements to a scope in order, expanding `include` where it stands, so that errors
 * come out in the order nginx would report them.
 */
export function applyStatements(
  statements: readonly Statement[],
  scope: Scope,
  loader: ConfLoader,
  unimplemented: Unimplemented,
): void {
  for (const stmt of statements) {
    const rows = DIRECTIVES.get(stmt.name)
    if (rows === undefined) throw new ConfError(at(stmt), `unknown directive "${stmt.name}"`)
    const row = rows.find((r) => (r.ctx & scope.ctx) !== 0)
    if (row === undefined) throw new ConfError(at(stmt), `"${stmt.name}" directive is not allowed here`)
    if (row.block === undefined && stmt.block !== null) {
      throw new ConfError(at(stmt), `directive "${stmt.name}" is not terminated by ";"`)
    }
    if (row.block !== undefined && stmt.block === null) {
      throw new ConfError(at(stmt), `directive "${stmt.name}" has no opening "{"`)
    }
    if (stmt.args.length < row.args[0] || stmt.args.length > row.args[1]) {
      throw new ConfError(at(stmt), `invalid number of arguments in "${stmt.name}" directive`)
    }
    if (stmt.name === 'include') {
      applyStatements(loader.include(stmt), scope, loader, unimplemented)
      continue
    }
    row.set(scope, stmt)
    if (!row.runtime && !unimplemented.has(stmt.name)) unimplemented.set(stmt.name, at(stmt))
    if (row.block === undefined || row.block === 'free') continue
    const ctx = typeof row.block === 'function' ? row.block(scope.ctx) : row.block
    const label = row.label?.(stmt) ?? stmt.args.join(' ')
    if (ctx === HTTP_LOC) checkLocation(scope, stmt, label)
    const child = new Scope(ctx, scope, stmt, label)
    applyStatements(stmt.block ?? [], child, loader, unimplemented)
  }
}

// ngx_http_core_location: no two identical locations in one block; a nested prefix location
// must lie inside its parent.
function checkLocation(parent: Scope, stmt: Statement, label: string): void {
  const regex = locationRegex(label)
  if (typeof regex === 'string') throw new ConfError(at(stmt), regexFailure(label.slice(label.indexOf(' ') + 1), regex))
  if (parent.childrenOf(HTTP_LOC).some((c) => c.label === label)) {
    throw new ConfError(at(stmt), `duplicate location "${label.slice(label.indexOf(' ') + 1)}"`)
  }
  if (parent.ctx === HTTP_LOC && label.startsWith(' ') && parent.label.startsWith(' ')) {
    const path = label.slice(1)
    const outer = parent.label.slice(1)
    if (!path.startsWith(outer)) throw new ConfError(at(stmt), `location "${path}" is outside location "${outer}"`)
  }
}

/** a `~` / `~*` location's compiled regex (or why it does not compile); null for the others */
function locationRegex(label: string): RegExp | string | null {
  const modifier = label.slice(0, label.indexOf(' '))
  if (modifier !== '~' && modifier !== '~*') return null
  return compileRegex(label.slice(modifier.length + 1), modifier === '~*')
}

// ---- merge into the typed tree -------------------------------------------------------------
// Every field a directive fills comes from its slot (slots.ts: the nearest level's value or
// the row's default); a builder adds the children, names and places, and the fields it derives.

/** Build the typed tree from the main scope; `prefix` and `confFile` are absolute. */
export function buildTree(main: Scope, prefix: string, confFile: string): MainConf {
  const confDir = confFile.slice(0, confFile.lastIndexOf('/') + 1)
  const events = main.childrenOf(EVENTS)[0]
  if (events === undefined) throw new ConfError(null, 'no "events" section in configuration')
  const rtmpScope = main.childrenOf(RTMP)[0]
  const httpScope = main.childrenOf(HTTP)[0]
  const rtmp = rtmpScope === undefined ? null : buildRtmp(rtmpScope)
  const http = httpScope === undefined ? null : buildHttp(httpScope, prefix, confDir)
  if (http !== null) checkFlvRelations(http, rtmp)
  const conf = slotValues(main, 'main')
  const errorLogs = conf.errorLogs.map((l) => ({ path: l.path === 'stderr' ? 'stderr' : underPrefix(prefix, l.path), level: l.level }))
  return {
    ...conf,
    prefix,
    confFile,
    pidPath: underPrefix(prefix, conf.pidPath),
    errorLogs: errorLogs.length > 0 ? errorLogs : [{ path: 'stderr', level: 'error' }],
    events: slotValues(events, 'events'),
    rtmp,
    http,
  }
}

function underPrefix(prefix: string, path: string): string {
  return isAbsolute(path) ? path : join(prefix, path)
}

const DEFAULT_RTMP_LISTEN = parseListenAddress('1935', 1935) as ListenAddress

function buildRtmp(rtmp: Scope): RtmpConf {
  const servers = rtmp.childrenOf(RTMP_SRV).map(buildRtmpServer)
  const byAddress = new Map<string, { address: ListenAddress, servers: RtmpServerConf[], marked: RtmpServerConf | null }>()
  for (const srv of servers) {
    const listens: readonly RtmpListen[] = srv.listens.length > 0
      ? srv.listens
      : [{ address: DEFAULT_RTMP_LISTEN, defaultServer: false, where: srv.where }]
    for (const l of listens) {
      let entry = byAddress.get(l.address.text)
      if (entry === undefined) {
        entry = { address: l.address, servers: [], marked: null }
        byAddress.set(l.address.text, entry)
      }
      if (l.defaultServer) {
        if (entry.marked !== null) {
          throw new ConfError(l.where, `a duplicate default server for ${l.address.text}`)
        }
        entry.marked = srv
      }
      entry.servers.push(srv)
    }
  }
  const listeners: RtmpListener[] = [...byAddress.values()].map((e) => {
    const defaultServer = e.marked ?? e.servers[0]
    return { address: e.address, servers: e.servers, defaultServer, serverId: defaultServer.serverId }
  })
  return { ...slotValues(rtmp, 'rtmp'), servers, listeners }
}

function buildRtmpServer(s: Scope): RtmpServerConf {
  const apps = s.childrenOf(RTMP_APP).map(buildApp)
  const star = apps.filter((a) => a.name === '*')
  return {
    ...slotValues(s, 'rtmpServer'),
    applications: apps.filter((a) => a.name !== '*'),
    starApplication: star.length > 0 ? star[star.length - 1] : null,
    where: scopeLocation(s),
  }
}

function buildApp(a: Scope): AppConf {
  const where = scopeLocation(a)
  return { ...slotValues(a, 'app'), name: a.label, notify: slotValues(a, 'appNotify'), recorders: recordersOf(a), where }
}

// ngx_rtmp_record_merge_app_conf: each `recorder` block joins the application's list as it is
// read, and the application's own settings join last (recorder ""), when they record.
// A recorder that records nothing (`off`, or no `record` at any level) is left out.
function recordersOf(a: Scope): RecorderConf[] {
  const blocks = a.childrenOf(RTMP_REC).map((r) => ({ ...slotValues(r, 'record'), name: r.label }))
  const all = [...blocks, { ...slotValues(a, 'record'), name: '' }]
  return all.filter((r) => r.record.length > 0 && !r.record.includes('off'))
}

function scopeLocation(s: Scope): ConfLocation {
  return s.stmt === null ? { file: '', line: 0 } : at(s.stmt)
}

// ---- http ----------------------------------------------------------------------------------

const DEFAULT_HTTP_LISTEN = parseListenAddress('80', 80) as ListenAddress

function buildHttp(http: Scope, prefix: string, confDir: string): HttpConf {
  return { servers: http.childrenOf(HTTP_SRV).map((s) => buildHttpServer(s, prefix, confDir)) }
}

function buildHttpServer(s: Scope, prefix: string, confDir: string): HttpServerConf {
  const conf = slotValues(s, 'httpServer')
  const listens = conf.listens.length > 0
    ? conf.listens
    : [{ address: DEFAULT_HTTP_LISTEN, ssl: false, defaultServer: false, where: scopeLocation(s) }]
  const certPath = conf.sslCertificate === null ? null : underPrefix(confDir, conf.sslCertificate)
  const keyPath = conf.sslCertificateKey === null ? null : underPrefix(confDir, conf.sslCertificateKey)
  if (listens.some((l) => l.ssl)) {
    const l = listens.find((x) => x.ssl) as HttpListen
    if (certPath === null) throw new ConfError(l.where, `no "ssl_certificate" is defined for the "listen ... ssl" directive`)
    for (const [what, path] of [['certificate', certPath], ['certificate key', keyPath ?? certPath]] as const) {
      try {
        accessSync(path, constants.R_OK)
      } catch (err) {
        throw new ConfError(l.where, `cannot load ${what} "${path}": open() failed ${errnoText(err)}`)
      }
    }
  }
  return {
    ...conf,
    listens,
    sslCertificate: certPath,
    sslCertificateKey: keyPath,
    locations: s.childrenOf(HTTP_LOC).map((l) => buildLocation(l, prefix)),
    where: scopeLocation(s),
  }
}

function buildLocation(l: Scope, prefix: string): LocationConf {
  const conf = slotValues(l, 'location')
  const space = l.label.indexOf(' ')
  return {
    ...conf,
    modifier: l.label.slice(0, space) as LocationModifier,
    path: l.label.slice(space + 1),
    regex: locationRegex(l.label) as RegExp | null, // checked when the location was read
    root: underPrefix(prefix, conf.root),
    alias: conf.alias === null ? null : underPrefix(prefix, conf.alias),
    locations: l.childrenOf(HTTP_LOC).map((c) => buildLocation(c, prefix)),
    where: scopeLocation(l),
  }
}

/** flv_live names an rtmp listen address (ngx_rtmp_find_related_addr_conf, §1.1). */
function checkFlvRelations(http: HttpConf, rtmp: RtmpConf | null): void {
  const listens = rtmp?.listeners.map((l) => l.address) ?? []
  const known = new Set(listens.map((a) => a.text))
  const visit = (locs: readonly LocationConf[]): void => {
    for (const loc of locs) {
      const h = loc.handler
      if (h.kind === 'flv_live' && !known.has(h.rtmpListenAddress)) {
        throw new ConfError(h.where, `Can not find relation port: ${h.rtmpListen} (${relationHint(h.rtmpListen, listens)})`)
      }
      visit(loc.locations)
    }
  }
  for (const srv of http.servers) visit(srv.locations)
}

/**
 * What to write instead of a flv_live address no rtmp listen has (PingOS's message says only
 * which argument): the listens on the same port (a host that differs, `flv_live 1935` next to
 * `listen 127.0.0.1:1935`), else every rtmp listen, each as flv_live would name it.
 */
function relationHint(arg: string, listens: readonly ListenAddress[]): string {
  if (listens.length === 0) return 'no rtmp server has a "listen"'
  const addr = parseListenAddress(arg, 1935)
  const samePort = 'reason' in addr ? [] : listens.filter((l) => l.unixPath === null && l.port === addr.port)
  const candidates = samePort.length > 0 ? samePort : listens
  const what = 'reason' in addr ? `"${arg}" is not an address` : `no rtmp "listen" is ${addr.text}`
  const names = candidates.map((l) => `"flv_live ${flvLiveName(l)}"`).join(' or ')
  return `${what}; write ${names} to name the rtmp listen on ${candidates.map((l) => l.text).join(' or ')}`
}

/** A listen as flv_live names it: the port alone for a wildcard address (as `listen 1935` is written). */
function flvLiveName(a: ListenAddress): string {
  return a.unixPath === null && a.host === '0.0.0.0' ? String(a.port) : a.text
}

export function newMainScope(): Scope {
  return new Scope(MAIN as ContextBit, null, null)
}

