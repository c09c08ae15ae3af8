// The node: builds the listeners, the live hub and the sessions from the config tree (nginx's
// "cycle"), and takes them down again.
import { readFileSync } from 'node:fs'
import { createServer as createNetServer, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls'
import type { AppConf, HttpServerConf, MainConf, RtmpListener, RtmpServerConf } from './conf/tree.js'
import type { Logger } from './core/log.js'
import { Hub, streamKey } from './live/hub.js'
import type { LiveOptions } from './live/stream.js'
import { RtmpServerSession, type RtmpContext } from './rtmp/server-session.js'
import type { FlvContext } from './http/flv-live.js'
import { HostResolver } from './core/resolve.js'
import { WriteMergers } from './core/output.js'
import { pullIfNeeded, type RelayContext } from './relay/pull.js'
import { HttpConnection, type HttpListener } from './http/server.js'
import type { ListenAddress } from './conf/values.js'

/** One listening socket and the configuration its next connection gets (swapped on reload). */
interface Listening<L> {
  readonly server: Server
  readonly scheme: 'rtmp' | 'http' | 'https'
  listener: L
}

export class EdgeNode {
  readonly hub = new Hub()
  private readonly rtmpListening = new Map<string, Listening<RtmpListener>>()
  private readonly httpListening = new Map<string, Listening<HttpListener>>()
  private readonly sockets = new Set<Socket>()
  private sessionCounter = 0
  private readonly rtmpContext: RtmpContext
  private flvContext: FlvContext
  private relayContext: RelayContext

  constructor(private tree: MainConf, private readonly log: Logger, private readonly serverName: string) {
    this.relayContext = relayContext(tree, log, this.hub)
    this.rtmpContext = {
      hub: this.hub,
      log,
      mergers: new WriteMergers(),
      nextSessionId: () => ++this.sessionCounter,
      liveOptions: (server, app) => liveOptions(server, app, serverName),
      streamKey,
      pull: (stream, app, server, player) => pullIfNeeded(this.relayContext, stream, app, server, player),
    }
    this.flvContext = { ...this.rtmpContext, serverName, rtmp: tree.rtmp }
  }

  /** Open every listener; rejects (and closes what was opened) if one cannot be bound. */
  async start(): Promise<void> {
    try {
      await this.openListeners()
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /**
   * Apply a new configuration (SIGHUP) to what comes next: new connections get the new tree,
   * listeners are opened and closed as it says, and live streams, players and pulls go on;
   * a stream whose application no longer exists is ended. Rejects, keeping every listener that
   * was open, when a new listener cannot be bound.
   */
  async reload(tree: MainConf): Promise<void> {
    this.tree = tree
    this.log.configure(tree.errorLogs)
    this.relayContext = relayContext(tree, this.log, this.hub)
    this.flvContext = { ...this.rtmpContext, serverName: this.serverName, rtmp: tree.rtmp }
    const rtmpWanted = new Set((tree.rtmp?.listeners ?? []).map((l) => l.address.text))
    const httpWanted = new Set([...httpListeners(tree.http?.servers ?? [])].map(([a, l]) => `${l.scheme} ${a.text}`))
    // connections accepted on a closed listener go on; the close completes when they end
    const closed = [
      ...this.closeListeners(this.rtmpListening, (key) => !rtmpWanted.has(key)).names,
      ...this.closeListeners(this.httpListening, (key, l) => !httpWanted.has(`${l.scheme} ${key}`)).names,
    ]
    for (const text of closed) this.log.notice(`${text}: no longer listening`)
    await this.openListeners()
    for (const stream of [...this.hub.all()]) {
      if (!appExists(tree, stream.opts.serverId, stream.opts.application)) {
        this.log.notice(`application "${stream.opts.application}" is gone after reload, stream ended`, { app: stream.opts.application, name: stream.key })
        stream.end('application removed by reload')
      }
    }
  }

  private async openListeners(): Promise<void> {
    for (const listener of this.tree.rtmp?.listeners ?? []) {
      const key = listener.address.text
      const open = this.rtmpListening.get(key)
      if (open !== undefined) {
        open.listener = listener
        continue
      }
      const entry: Listening<RtmpListener> = {
        server: createNetServer((socket) => {
          if (this.admit(socket)) new RtmpServerSession(socket, entry.listener, this.rtmpContext)
        }),
        scheme: 'rtmp',
        listener,
      }
      await this.listen(entry, this.rtmpListening, key, listener.address)
    }
    for (const [address, listener] of httpListeners(this.tree.http?.servers ?? [])) {
      const key = address.text
      const open = this.httpListening.get(key)
      if (open !== undefined) {
        open.listener = listener
        if (listener.scheme === 'https') (open.server as TlsServer).setSecureContext(tlsOptions(listener.defaultServer))
        continue
      }
      const onSocket = (socket: Socket): void => {
        if (this.admit(socket)) new HttpConnection(socket, entry.listener, this.flvContext)
      }
      const entry: Listening<HttpListener> = {
        server: listener.scheme === 'https' ? createTlsServer(tlsOptions(listener.defaultServer), onSocket) : createNetServer(onSocket),
        scheme: listener.scheme,
        listener,
      }
      await this.listen(entry, this.httpListening, key, address)
    }
  }

  // worker_connections (ngx_event_accept): past it, nginx logs "worker_connections are not
  // enough" and closes the new connection; the listening sockets count too.
  private admit(socket: Socket): boolean {
    const limit = this.tree.events.workerConnections
    if (this.sockets.size + this.rtmpListening.size + this.httpListening.size >= limit) {
      this.log.log('alert', `${limit} worker_connections are not enough`, { peer: socket.remoteAddress })
      socket.destroy()
      return false
    }
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    return true
  }

  private listen<L>(entry: Listening<L>, into: Map<string, Listening<L>>, key: string, address: ListenAddress): Promise<void> {
    const server = entry.server
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      const done = (): void => {
        server.off('error', reject)
        server.on('error', (err) => this.log.error(`listener ${address.text}: ${err.message}`))
        into.set(key, entry)
        this.log.notice(`${entry.scheme} listening on ${address.text}`)
        resolve()
      }
      if (address.unixPath !== null) server.listen(address.unixPath, done)
      else server.listen(address.port, address.host, done)
    })
  }

  /**
   * Stop accepting on the listeners `which` picks: their "<scheme> <address>" names, and a
   * promise that resolves once their last connection has ended.
   */
  private closeListeners<L>(from: Map<string, Listening<L>>, which: (key: string, l: Listening<L>) => boolean): { names: string[], closed: Promise<unknown> } {
    const names: string[] = []
    const closing: Promise<void>[] = []
    for (const [key, l] of from) {
      if (!which(key, l)) continue
      from.delete(key)
      names.push(`${l.scheme} ${key}`)
      closing.push(new Promise<void>((resolve) => l.server.close(() => resolve())))
    }
    return { names, closed: Promise.all(closing) }
  }

  /** Stop listening and end every connection. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await this.quit()
  }

  /** Stop accepting; let current players finish (nginx -s quit). */
  async quit(): Promise<void> {
    const all = (): boolean => true
    await Promise.all([this.closeListeners(this.rtmpListening, all).closed, this.closeListeners(this.httpListening, all).closed])
  }
}

function relayContext(tree: MainConf, log: Logger, hub: Hub): RelayContext {
  const resolver = tree.events.resolver
  return {
    log,
    resolver: new HostResolver({ addresses: resolver?.addresses ?? [], timeoutMs: tree.events.resolverTimeoutMs }),
    release: (stream) => hub.release(stream),
    connectTimeoutMs: tree.connectTimeoutMs,
  }
}

function tlsOptions(server: HttpServerConf): { cert: Buffer, key: Buffer } {
  return { cert: readFileSync(server.sslCertificate as string), key: readFileSync(server.sslCertificateKey ?? server.sslCertificate as string) }
}

/** An application of this name (or `application *`) is on a server with this serverid. */
function appExists(tree: MainConf, serverId: string, application: string): boolean {
  for (const l of tree.rtmp?.listeners ?? []) {
    for (const s of l.servers) {
      if (s.serverId !== serverId) continue
      if (application === '*' ? s.starApplication !== null : s.applications.some((a) => a.name === application)) return true
    }
  }
  return false
}

export function liveOptions(server: RtmpServerConf, app: AppConf, serverName: string): LiveOptions {
  return {
    cacheTimeMs: app.cacheTimeMs,
    sendAll: app.sendAll,
    lowLatency: app.lowLatency,
    waitKey: app.waitKey,
    waitVideo: app.waitVideo,
    idleStreams: app.idleStreams,
    meta: app.meta,
    outQueue: server.outQueue,
    chunkSize: server.chunkSize,
    hevcCodecId: server.hevcCodecId,
    serverName,
    serverId: server.serverId,
    application: app.name,
  }
}

/** Group http servers by listening address: the default_server (or the first) is the default. */
function httpListeners(servers: readonly HttpServerConf[]): Map<ListenAddress, HttpListener> {
  const byText = new Map<string, { address: ListenAddress, servers: HttpServerConf[], marked: HttpServerConf | null, ssl: boolean }>()
  for (const srv of servers) {
    for (const l of srv.listens) {
      let e = byText.get(l.address.text)
      if (e === undefined) {
        e = { address: l.address, servers: [], marked: null, ssl: false }
        byText.set(l.address.text, e)
      }
      e.servers.push(srv)
      if (l.defaultServer) e.marked = srv
      if (l.ssl) e.ssl = true
    }
  }
  const out = new Map<ListenAddress, HttpListener>()
  for (const e of byText.values()) {
    out.set(e.address, { servers: e.servers, defaultServer: e.marked ?? e.servers[0], scheme: e.ssl ? 'https' : 'http' })
  }
  return out
}
