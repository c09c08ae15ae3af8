// The node: builds the listeners, the live hub and the sessions from the config tree (nginx's
// "cycle"), and takes them down again.
import { readFileSync } from 'node:fs'
import { createServer as createNetServer, type Server, type Socket } from 'node:net'
import { createSecureContext, createServer as createTlsServer, type Server as TlsServer } from 'node:tls'
import type { AppConf, HttpServerConf, MainConf, RtmpListener, RtmpServerConf } from './conf/tree.js'
import { syscallFailure } from './core/errno.js'
import type { Logger } from './core/log.js'
import { NodeMetrics } from './core/node-metrics.js'
import { Hub, streamKey } from './live/hub.js'
import { selectServer } from './core/vhost.js'
import type { LiveOptions } from './live/stream.js'
import { LiveStages, type PlayRequest, type PublishRequest } from './live/stages.js'
import { RtmpServerSession, type RtmpContext } from './rtmp/server-session.js'
import { HostResolver } from './core/resolve.js'
import { WriteMergers } from './core/output.js'
import { NotifyClient } from './notify/client.js'
import { Notifier, onMetaStage, onPlayOrPublishStage, onStreamStage, processNotifications } from './notify/stages.js'
import { locationTarget, type RelayContext } from './relay/leg.js'
import { pullStage } from './relay/pull.js'
import { pushStage, startPush } from './relay/push.js'
import { RECORD_STOP_WAIT_MS, Recordings } from './record/stage.js'
import { accessStage, type Stage } from './stages.js'
import { HTTP_HEADER_TIMEOUT_MS, HttpConnection, type HttpContext, type HttpListener } from './http/server.js'
import { NodeStats } from './stats/snapshot.js'
import { answerOperations, type Operations } from './stats/operations.js'
import { metricsText } from './stats/metrics.js'
import type { ListenAddress } from './conf/values.js'

/** One listening socket and the configuration its next connection gets (swapped on reload). */
interface Listening<L> {
  readonly server: Server
  readonly scheme: 'rtmp' | 'http' | 'https'
  readonly address: ListenAddress
  listener: L
}

export class EdgeNode {
  /** what the node counts for edge_metrics, from start to stop (reloads included) */
  readonly metrics = new NodeMetrics()
  readonly hub = new Hub(this.metrics)
  private readonly rtmpListening = new Map<string, Listening<RtmpListener>>()
  private readonly httpListening = new Map<string, Listening<HttpListener>>()
  private readonly sockets = new Set<Socket>()
  private sessionCounter = 0
  /** stop or quit has begun: nothing is opened again */
  private stopping = false
  private readonly rtmpContext: RtmpContext
  private httpContext: HttpContext
  /** what rtmp_stat, sys_stat and the metrics report */
  readonly stats: NodeStats
  private readonly operations: Operations
  private relayContext: RelayContext
  /** one client for every notification and on_pull callout */
  private readonly notify: Notifier
  private readonly live: LiveStages
  /** every publish's recorders (record, recorder): the record stage, /control/record, closed at stop */
  readonly recordings: Recordings
  /** relay.pull, reading the relay context current when a pull starts */
  private readonly pull = pullStage(() => this.relayContext)
  /** relay.push, likewise */
  private readonly push = pushStage(() => this.relayContext)
  /** the pipelines of each application of the current tree, composed at start and at reload */
  private pipelines = new Map<AppConf, Pipelines>()
  private stopProcessNotifications: (() => void) | null = null

  constructor(private tree: MainConf, private readonly log: Logger, private readonly serverName: string) {
    this.notify = new Notifier(new NotifyClient(resolverOf(tree), this.metrics), log)
    this.relayContext = relayContext(tree, log, this.hub, this.notify, (socket) => this.stats.track(socket))
    this.live = new LiveStages(this.hub, (server, app) => liveOptions(server, app, serverName))
    this.recordings = new Recordings(log, this.notify)
    this.pipelines = this.compose(tree)
    this.rtmpContext = {
      log,
      mergers: new WriteMergers(),
      metrics: this.metrics,
      nextSessionId: () => ++this.sessionCounter,
      play: (req, outcome) => this.guard(req, req.enter(this.pipelinesOf(req.app).play, outcome)),
      publish: (req, outcome) => this.guard(req, req.enter(this.pipelinesOf(req.app).publish, outcome)),
      currentApp: (listen, domain, app) => currentApp(this.tree, listen, domain, app),
    }
    this.stats = new NodeStats(this.hub)
    this.operations = {
      hub: this.hub,
      stats: this.stats,
      tree: () => this.tree,
      record: (key, rec, start) => (start ? this.recordings.start(key, rec) : this.recordings.stop(key, rec)),
      metrics: () => metricsText(this.stats.snapshot(this.tree), this.metrics),
    }
    this.httpContext = this.newHttpContext()
  }

  /** The pipelines of every application of `tree`, composed once (at start and at reload). */
  private compose(tree: MainConf): Map<AppConf, Pipelines> {
    const out = new Map<AppConf, Pipelines>()
    for (const server of tree.rtmp?.servers ?? []) {
      for (const app of server.starApplication === null ? server.applications : [...server.applications, server.starApplication]) {
        out.set(app, this.composeApp(app))
      }
    }
    return out
  }

  /**
   * An application's play and publish pipelines (DESIGN.md, pingos-behaviour.md §0): a stage is
   * in them only when the application's configuration asks for it.
   */
  private composeApp(app: AppConf): Pipelines {
    const n = this.notify
    const { play, publish, stream, meta } = app.notify
    return {
      play: stages<PlayRequest>(
        app.access.length > 0 && accessStage,
        this.live.enter,
        stream !== null && onStreamStage(n, stream),
        play !== null && onPlayOrPublishStage(n, play),
        (app.notify.pull !== null || app.pull !== null) && this.pull,
        this.live.play,
      ),
      publish: stages<PublishRequest>(
        app.access.length > 0 && accessStage,
        this.live.enter,
        stream !== null && onStreamStage(n, stream),
        publish !== null && onPlayOrPublishStage(n, publish),
        this.live.publish,
        (app.pushes.length > 0 || app.notify.push.length > 0) && this.push,
        meta.length > 0 && onMetaStage(n, meta, (req, location, domain) => this.pushTo(req as PublishRequest, location, domain)),
        // last: it may wait for the disk (record_notify's Record.Start comes before Publish.Start),
        // and the stages before it must see the publish as it joined (the first publisher, its headers)
        app.recorders.length > 0 && this.recordings.stage,
      ),
    }
  }

  /** on_meta answered 3xx: push the publisher's stream to the Location (an RTMP URL); null if it is none. */
  private pushTo(req: PublishRequest, location: string, domain: string | null): (() => void) | null {
    const target = locationTarget(location, domain, req.info)
    if (target === null || target.scheme !== 'rtmp' || req.stream === null) return null
    return startPush(this.relayContext, req.stream, req.app, req.server, req.info, { kind: 'target', target })
  }

  private pipelinesOf(app: AppConf): Pipelines {
    let p = this.pipelines.get(app)
    if (p === undefined) {
      p = this.composeApp(app)
      this.pipelines.set(app, p)
    }
    return p
  }

  /** A stage that throws is a bug: logged, and only that request ends. */
  private guard(req: PlayRequest | PublishRequest, running: Promise<void>): void {
    running.catch((err: unknown) => {
      this.log.log('alert', `${req.action} pipeline: internal error: ${(err as Error).stack ?? String(err)}`, { session: req.info.clientId })
      req.close()
    })
  }

  private newHttpContext(): HttpContext {
    return {
      ...this.rtmpContext,
      serverName: this.serverName,
      rtmp: this.tree.rtmp,
      published: (serverId, app, name) => this.hub.get(streamKey(serverId, app, name))?.hasPublisher === true,
      operations: (h, loc, path, query) => answerOperations(this.operations, h, loc, path, query),
    }
  }

  /** Open every listener; rejects (and closes what was opened) if one cannot be bound. */
  async start(): Promise<void> {
    const opened = await this.bindNew(this.tree)
    this.adopt(opened)
    if (!this.stopping) this.stats.start()
    if (!this.stopping) this.stopProcessNotifications = processNotifications(this.notify, this.tree.rtmp)
  }

  /**
   * Apply a new configuration (SIGHUP) to what comes next: new connections get the new tree,
   * listeners are opened and closed as it says, and live streams, players and pulls go on; a
   * stream whose application no longer exists is ended. What can fail (binding new listeners,
   * TLS certificates, log files) is done first: on a failure it rejects and nothing changed.
   * Resolves false when the node began stopping meanwhile (nothing was applied).
   */
  async reload(tree: MainConf): Promise<boolean> {
    if (this.stopping) return false
    for (const [address, l] of httpListeners(tree.http?.servers ?? [])) {
      const open = this.httpListening.get(address.text)
      if (open !== undefined && open.scheme !== l.scheme) throw new Error(`listen ${address.text}: changing ${open.scheme} to ${l.scheme} needs a restart`)
    }
    const opened = await this.bindNew(tree)
    const secure = new Map<string, TlsFiles>()
    try {
      if (this.stopping) throw new Error('stopping')
      for (const [address, l] of httpListeners(tree.http?.servers ?? [])) {
        if (l.scheme !== 'https' || !this.httpListening.has(address.text)) continue
        const files = tlsOptions(l.defaultServer)
        createSecureContext(files)
        secure.set(address.text, files)
      }
      this.log.configure(tree.errorLogs)
    } catch (err) {
      for (const entry of opened) entry.server.close()
      if (this.stopping) return false
      throw err
    }
    this.tree = tree
    this.notify.client.resolver = resolverOf(tree)
    this.relayContext = relayContext(tree, this.log, this.hub, this.notify, (socket) => this.stats.track(socket))
    this.pipelines = this.compose(tree)
    this.httpContext = this.newHttpContext()
    this.stats.reloaded()
    // a reload starts new worker processes in nginx: init_process and init_master again
    this.stopProcessNotifications?.()
    this.stopProcessNotifications = processNotifications(this.notify, tree.rtmp)
    const rtmpWanted = new Map((tree.rtmp?.listeners ?? []).map((l) => [l.address.text, l]))
    const httpWanted = new Map([...httpListeners(tree.http?.servers ?? [])].map(([a, l]) => [a.text, l]))
    // connections accepted on a closed listener go on; the close completes when they end
    const closed = [
      ...this.closeListeners(this.rtmpListening, (key) => !rtmpWanted.has(key)).names,
      ...this.closeListeners(this.httpListening, (key) => !httpWanted.has(key)).names,
    ]
    for (const text of closed) this.log.notice(`${text}: no longer listening`)
    for (const [key, l] of this.rtmpListening) l.listener = rtmpWanted.get(key) as RtmpListener
    for (const [key, l] of this.httpListening) {
      l.listener = httpWanted.get(key) as HttpListener
      const files = secure.get(key)
      if (files !== undefined) (l.server as TlsServer).setSecureContext(files)
    }
    this.adopt(opened)
    for (const stream of [...this.hub.all()]) {
      if (!appExists(tree, stream.opts.serverId, stream.opts.application)) {
        this.log.notice(`application "${stream.opts.application}" is gone after reload, stream ended`, { app: stream.opts.application, name: stream.key })
        stream.end('application removed by reload')
        this.hub.forget(stream)
      }
    }
    return true
  }

  /** Bind the listeners `tree` has and this node does not; on a failure, close them all and reject. */
  private async bindNew(tree: MainConf): Promise<Listening<RtmpListener | HttpListener>[]> {
    const opened: Listening<RtmpListener | HttpListener>[] = []
    try {
      for (const listener of tree.rtmp?.listeners ?? []) {
        if (this.rtmpListening.has(listener.address.text)) continue
        const entry: Listening<RtmpListener> = {
          server: createNetServer((socket) => {
            if (!this.admit(socket)) return
            this.stats.naccepted++
            new RtmpServerSession(socket, entry.listener, this.rtmpContext)
          }),
          scheme: 'rtmp',
          address: listener.address,
          listener,
        }
        opened.push(entry)
        await this.listen(entry)
      }
      for (const [address, listener] of httpListeners(tree.http?.servers ?? [])) {
        if (this.httpListening.has(address.text)) continue
        const onSocket = (socket: Socket): void => {
          if (listener.scheme === 'https' || this.admit(socket)) new HttpConnection(socket, entry.listener, this.httpContext)
        }
        const entry: Listening<HttpListener> = {
          server: listener.scheme === 'https'
            ? createTlsServer({ ...tlsOptions(listener.defaultServer), handshakeTimeout: HTTP_HEADER_TIMEOUT_MS }, onSocket)
            : createNetServer(onSocket),
          scheme: listener.scheme,
          address,
          listener,
        }
        // TLS: the TCP connection is admitted and tracked, before and through its handshake
        if (listener.scheme === 'https') entry.server.on('connection', (raw: Socket) => { this.admit(raw) })
        opened.push(entry)
        await this.listen(entry)
      }
    } catch (err) {
      for (const entry of opened) entry.server.close()
      throw err
    }
    return opened
  }

  /** Bound listeners join the node: from now on they are reloaded and closed with it. */
  private adopt(opened: readonly Listening<RtmpListener | HttpListener>[]): void {
    for (const entry of opened) {
      if (this.stopping) {
        entry.server.close()
        continue
      }
      if (entry.scheme === 'rtmp') this.rtmpListening.set(entry.address.text, entry as Listening<RtmpListener>)
      else this.httpListening.set(entry.address.text, entry as Listening<HttpListener>)
      this.log.notice(`${entry.scheme} listening on ${entry.address.text}`)
    }
  }

  // worker_connections (ngx_event_accept): past it, nginx logs "worker_connections are not
  // enough" and closes the new connection; the listening sockets count too.
  private admit(socket: Socket): boolean {
    const limit = this.tree.events.workerConnections
    if (this.stopping || this.sockets.size + this.rtmpListening.size + this.httpListening.size >= limit) {
      if (!this.stopping) this.log.log('alert', `${limit} worker_connections are not enough`, { peer: socket.remoteAddress })
      socket.destroy()
      return false
    }
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    this.stats.track(socket)
    return true
  }

  private listen(entry: Listening<unknown>): Promise<void> {
    const { server, address } = entry
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      const done = (): void => {
        server.off('error', reject)
        // accept errors (EMFILE ...) from now on are logged as nginx logs them, never thrown
        server.on('error', (err) => this.log.error(`${syscallFailure(err)} while accepting new connection on ${address.text}`))
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
    this.stopping = true
    // recordings end first: their files are written out and closed before the node is done
    const recorded = this.recordings.closeAll(RECORD_STOP_WAIT_MS)
    for (const s of this.sockets) s.destroy()
    this.notify.client.close()
    await Promise.all([this.quit(), recorded])
  }

  /** Stop accepting; let current players finish (nginx -s quit). No reload is applied after it. */
  async quit(): Promise<void> {
    this.stopping = true
    this.stats.stop()
    this.stopProcessNotifications?.()
    this.stopProcessNotifications = null
    const all = (): boolean => true
    await Promise.all([this.closeListeners(this.rtmpListening, all).closed, this.closeListeners(this.httpListening, all).closed])
  }
}

interface Pipelines {
  readonly play: readonly Stage<PlayRequest>[]
  readonly publish: readonly Stage<PublishRequest>[]
}

/** The stages of a pipeline, leaving out the ones the configuration does not ask for (false). */
function stages<R>(...list: (Stage<R> | false)[]): Stage<R>[] {
  return list.filter((s): s is Stage<R> => s !== false)
}

function resolverOf(tree: MainConf): HostResolver {
  return new HostResolver({ addresses: tree.events.resolver?.addresses ?? [], timeoutMs: tree.events.resolverTimeoutMs })
}

function relayContext(tree: MainConf, log: Logger, hub: Hub, notify: Notifier, countBytes: (socket: Socket) => void): RelayContext {
  return {
    countBytes,
    log,
    resolver: notify.client.resolver,
    notify,
    release: (stream, by) => hub.release(stream, by),
    connectTimeoutMs: tree.connectTimeoutMs,
    metrics: hub.metrics,
  }
}

interface TlsFiles {
  readonly cert: Buffer
  readonly key: Buffer
}

function tlsOptions(server: HttpServerConf): TlsFiles {
  return { cert: readFileSync(server.sslCertificate as string), key: readFileSync(server.sslCertificateKey ?? server.sslCertificate as string) }
}

/** The application a connect to `app` on the rtmp listener `listen` for `domain` finds in `tree`. */
function currentApp(tree: MainConf, listen: string, domain: string, app: string): AppConf | null {
  const l = tree.rtmp?.listeners.find((x) => x.address.text === listen)
  if (l === undefined) return null
  const server = selectServer(l.servers, l.defaultServer, domain)
  return server.applications.find((a) => a.name === app) ?? server.starApplication
}

/**
 * A stream's application is still there: a server with its serverid has the application of
 * that configured name (`*` included) or an `application *` that would take its players.
 */
function appExists(tree: MainConf, serverId: string, application: string): boolean {
  for (const l of tree.rtmp?.listeners ?? []) {
    for (const s of l.servers) {
      if (s.serverId === serverId && (s.starApplication !== null || s.applications.some((a) => a.name === application))) return true
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
