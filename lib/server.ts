// The node: builds the listeners, the live hub and the sessions from the config tree (nginx's
// "cycle"), and takes them down again.
import { readFileSync } from 'node:fs'
import { createServer as createNetServer, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import type { AppConf, HttpServerConf, MainConf, RtmpServerConf } from './conf/tree.js'
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

export class EdgeNode {
  readonly hub = new Hub()
  private readonly servers: Server[] = []
  private readonly sockets = new Set<Socket>()
  private sessionCounter = 0
  private readonly rtmpContext: RtmpContext
  private readonly flvContext: FlvContext
  private readonly relayContext: RelayContext

  constructor(private readonly tree: MainConf, private readonly log: Logger, serverName: string) {
    const resolver = tree.events.resolver
    this.relayContext = {
      log,
      resolver: new HostResolver({ addresses: resolver?.addresses ?? [], timeoutMs: tree.events.resolverTimeoutMs }),
      release: (stream) => this.hub.release(stream),
      connectTimeoutMs: tree.connectTimeoutMs,
    }
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
      for (const listener of this.tree.rtmp?.listeners ?? []) {
        const server = createNetServer((socket) => {
          this.track(socket)
          new RtmpServerSession(socket, listener, this.rtmpContext)
        })
        await this.listen(server, listener.address)
        this.log.notice(`rtmp listening on ${listener.address.text}`)
      }
      for (const [address, listener] of httpListeners(this.tree.http?.servers ?? [])) {
        const onSocket = (socket: Socket): void => {
          this.track(socket)
          new HttpConnection(socket, listener, this.flvContext)
        }
        const tls = listener.scheme === 'https' ? listener.defaultServer : null
        const server = tls === null
          ? createNetServer(onSocket)
          : createTlsServer({ cert: readFileSync(tls.sslCertificate as string), key: readFileSync(tls.sslCertificateKey ?? tls.sslCertificate as string) }, onSocket)
        await this.listen(server, address)
        this.log.notice(`${listener.scheme} listening on ${address.text}`)
      }
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  private track(socket: Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
  }

  private listen(server: Server, address: ListenAddress): Promise<void> {
    this.servers.push(server)
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      const done = (): void => {
        server.off('error', reject)
        server.on('error', (err) => this.log.error(`listener ${address.text}: ${err.message}`))
        resolve()
      }
      if (address.unixPath !== null) server.listen(address.unixPath, done)
      else server.listen(address.port, address.host, done)
    })
  }

  /** Stop listening and end every connection. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    this.servers.length = 0
  }

  /** Stop accepting; let current players finish (nginx -s quit). */
  async quit(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }
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
