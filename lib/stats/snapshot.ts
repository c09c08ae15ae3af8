// The node as rtmp_stat and sys_stat see it (§9.1, §9.3): taken from the hub's streams and their
// members when asked, with bandwidths over 10 s intervals as nginx-rtmp measures them (each
// stream's first interval starts as it appears, so its bw_* read 0 for about 10 s, observed §9).
import { statSync } from 'node:fs'
import type { Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { MainConf } from '../conf/tree.js'
import type { Hub } from '../live/hub.js'
import type { LiveStream } from '../live/stream.js'
import { audioMeta, videoMeta, type StreamMeta } from './meta.js'

/** NGX_RTMP_BANDWIDTH_INTERVAL: bw_* are the bytes of the last 10 s interval, per second */
export const BANDWIDTH_INTERVAL_MS = 10_000
/** how often intervals are checked for their end: a stream's first one starts within this of its creation */
const BANDWIDTH_TICK_MS = 1000

export interface StatClient {
  readonly id: number
  /** the listening address text it came in on */
  readonly address: string
  /** the peer's IP; '' for relay legs */
  readonly remoteAddress: string
  /** ms since it joined */
  readonly time: number
  readonly flashver: string
  readonly pageurl: string
  readonly swfurl: string
  readonly dropped: number
  readonly avsync: number
  readonly timestamp: number
  readonly publishing: boolean
  readonly active: boolean
  readonly relay: boolean
  readonly protocol: 'rtmp' | 'flv'
}

export interface StatStream {
  /** the stream key: serverid/app/name (§1.9) */
  readonly key: string
  readonly app: string
  /** the last component of the stream name (§9.1) */
  readonly name: string
  /** the whole stream name (JSON: what a player plays) */
  readonly fullName: string
  /** ms since the stream was created */
  readonly time: number
  /** bits per second */
  readonly bwIn: number
  readonly bytesIn: number
  readonly bwOut: number
  readonly bytesOut: number
  readonly bwAudio: number
  readonly bwVideo: number
  readonly clients: readonly StatClient[]
  /** null without a publisher */
  readonly meta: StreamMeta | null
  readonly publishing: boolean
  readonly active: boolean
}

export interface StatServer {
  readonly serverId: string
  readonly streams: readonly StatStream[]
}

export interface StatNode {
  readonly pid: number
  /** s since the configuration was loaded */
  readonly uptime: number
  readonly naccepted: number
  readonly bwIn: number
  readonly bytesIn: number
  readonly bwOut: number
  readonly bytesOut: number
  readonly builtAt: Date
  readonly servers: readonly StatServer[]
}

/** Byte counters at the start of the current interval, and the bandwidths (bytes per second) of the last one. */
interface Sampled {
  since: number
  counts: number[]
  rates: number[]
}

/** When the code was built: the compiled module's time (nginx: the binary's __DATE__ __TIME__). */
function builtAt(): Date {
  return statSync(fileURLToPath(import.meta.url), { throwIfNoEntry: false })?.mtime ?? new Date(0)
}

export class NodeStats {
  private loadedAt = Date.now()
  /** RTMP connections accepted (§9.1) */
  naccepted = 0
  /** the connections open now: accepted ones and relay legs' */
  private readonly sockets = new Set<Socket>()
  /** bytes of connections already closed */
  private closedIn = 0
  private closedOut = 0
  private readonly streams = new WeakMap<LiveStream, Sampled>()
  private readonly node: Sampled = { since: Date.now(), counts: [0, 0], rates: [0, 0] }
  private timer: NodeJS.Timeout | null = null
  private readonly built = builtAt()

  constructor(private readonly hub: Hub) {}

  /** Sample every 10 s from now (stopped by stop()). */
  start(): void {
    this.timer ??= setInterval(() => this.sample(), BANDWIDTH_TICK_MS).unref()
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  /** A new configuration is in force: uptime counts from now (§9.1). */
  reloaded(): void {
    this.loadedAt = Date.now()
  }

  /** Count `socket`'s bytes in the totals, while it is open and after. */
  track(socket: Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => {
      this.sockets.delete(socket)
      this.closedIn += socket.bytesRead
      this.closedOut += socket.bytesWritten
    })
  }

  /** Bytes read and written by every connection counted, open or closed. */
  totals(): [number, number] {
    let bytesIn = this.closedIn
    let bytesOut = this.closedOut
    for (const s of this.sockets) {
      bytesIn += s.bytesRead
      // bytesWritten counts what Node still buffers, and loses it if the socket is destroyed:
      // only what left counts, so that the total never goes back
      bytesOut += s.bytesWritten - s.writableLength
    }
    return [bytesIn, bytesOut]
  }

  private sample(): void {
    const now = Date.now()
    if (now - this.node.since >= BANDWIDTH_INTERVAL_MS) update(this.node, this.totals(), now)
    for (const s of this.hub.all()) {
      const prev = this.streams.get(s)
      if (prev !== undefined && now - prev.since < BANDWIDTH_INTERVAL_MS) continue
      const t = s.traffic
      const counts = [t.bytesIn, t.bytesOut, t.audioIn, t.videoIn]
      if (prev === undefined) this.streams.set(s, { since: now, counts, rates: [0, 0, 0, 0] })
      else update(prev, counts, now)
    }
  }

  /** The node now, its streams grouped by the serverids of `tree` (in their order). */
  snapshot(tree: MainConf): StatNode {
    const now = Date.now()
    const [bytesIn, bytesOut] = this.totals()
    const byServer = new Map<string, StatStream[]>()
    for (const l of tree.rtmp?.listeners ?? []) for (const s of l.servers) byServer.set(s.serverId, [])
    for (const s of this.hub.all()) {
      const id = serverIdOf(s)
      let list = byServer.get(id)
      if (list === undefined) byServer.set(id, list = [])
      list.push(this.stream(s, now))
    }
    return {
      pid: process.pid,
      uptime: Math.floor((now - this.loadedAt) / 1000),
      naccepted: this.naccepted,
      bwIn: this.node.rates[0] * 8,
      bytesIn,
      bwOut: this.node.rates[1] * 8,
      bytesOut,
      builtAt: this.built,
      servers: [...byServer].map(([serverId, streams]) => ({ serverId, streams })),
    }
  }

  private stream(s: LiveStream, now: number): StatStream {
    const codec = s.codecState
    const avsync = codec.lastAudioTs >= 0 && codec.lastVideoTs >= 0 ? codec.lastAudioTs - codec.lastVideoTs : 0
    const timestamp = Math.max(codec.lastAudioTs, codec.lastVideoTs, 0)
    // the last joined first, as nginx-rtmp's list
    const views = [...s.members()].sort((a, b) => b.member.seq - a.member.seq)
    const clients = views.map(({ member: m, publishing, dropped, paused }): StatClient => ({
        id: m.id,
        address: m.info.listen,
        remoteAddress: m.relay ? '' : m.info.remoteAddr,
        time: now - m.since,
        flashver: m.info.flashVer,
        pageurl: m.info.pageUrl,
        swfurl: m.info.swfUrl,
        dropped,
        avsync,
        timestamp,
        // a push leg plays the stream: it is listed as a subscriber (observed §15)
        publishing,
        // nginx-rtmp's ctx->active: media flows to (or from) it
        active: s.isActive && !paused,
        relay: m.relay,
        protocol: m.protocol,
      }))
    const rates = this.streams.get(s)?.rates ?? [0, 0, 0, 0]
    const t = s.traffic
    // a pull leg still connecting is not listed (§9.1): the stream is not publishing yet either
    const publishing = views.some((v) => v.publishing)
    return {
      key: s.key,
      app: s.app,
      name: s.name.slice(s.name.lastIndexOf('/') + 1),
      fullName: s.name,
      time: now - s.createdAt,
      bwIn: rates[0] * 8,
      bytesIn: t.bytesIn,
      bwOut: rates[1] * 8,
      bytesOut: t.bytesOut,
      bwAudio: rates[2] * 8,
      bwVideo: rates[3] * 8,
      clients,
      meta: publishing ? { video: videoMeta(codec.metadata, codec.videoHeader, s.opts.hevcCodecId), audio: audioMeta(codec.audioHeader) } : null,
      publishing,
      active: s.isActive,
    }
  }
}

/**
 * The serverid a stream is listed under: its key's (§1.9: the listener's default server's,
 * scenario 36), not that of the vhost whose application serves it.
 */
export function serverIdOf(s: LiveStream): string {
  return s.key.slice(0, s.key.indexOf('/'))
}

function update(x: Sampled, counts: number[], now: number): void {
  x.rates = counts.map((c, i) => Math.round((c - x.counts[i]) * 1000 / (now - x.since)))
  x.counts = counts
  x.since = now
}
