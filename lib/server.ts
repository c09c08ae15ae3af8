// The node: builds the listeners, the live hub and the sessions from the config tree (nginx's
// "cycle"), and takes them down again.
import { createServer as createNetServer, type Server, type Socket } from 'node:net'
import type { AppConf, MainConf, RtmpServerConf } from './conf/tree.js'
import type { Logger } from './core/log.js'
import { Hub, streamKey } from './live/hub.js'
import type { LiveOptions } from './live/stream.js'
import { RtmpServerSession, type RtmpContext } from './rtmp/server-session.js'
import type { ListenAddress } from './conf/values.js'

export class EdgeNode {
  readonly hub = new Hub()
  private readonly servers: Server[] = []
  private readonly sockets = new Set<Socket>()
  private sessionCounter = 0
  private readonly rtmpContext: RtmpContext

  constructor(private readonly tree: MainConf, private readonly log: Logger, serverName: string) {
    this.rtmpContext = {
      hub: this.hub,
      log,
      nextSessionId: () => ++this.sessionCounter,
      liveOptions: (server, app) => liveOptions(server, app, serverName),
      streamKey,
    }
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
