// Target `session`: the publisher side of an RTMP connection, whole. The input is what a
// client sends from its first byte (C0 C1 C2, then the chunk stream); it goes to a real
// RtmpServerSession of a node built from a config, with a real live hub and two capture
// players on every stream the session opens:
//
//   input ─► stand-in socket ─► RtmpServerSession ─► handshake, ChunkReader, commands
//                 ▲                   │ publish / publishData
//                 │ writes            ▼
//                 │             LiveStream ─► Frame (codec inspection, metadata path)
//                 │                   │
//                 └── out (S0S1S2, results, statuses)   ├─► "early" player: joined at creation
//                                                       └─► "late" player: joined at the end (GOP cache burst)
//
// Emitted: every write to the socket after the 3073-byte handshake answer (whose S1 is random)
// except Acknowledgements (where they fall depends on how the input was split), each frame's
// RTMP chunks and FLV tag as the players get them, and every log line. A crash is an
// exception escaping the socket's 'data' handler or a session closing with an alert
// ("internal error"), which is how the session reports anything that is not an EdgeError.
//
// The socket is a stand-in with the members the session and its Output use; data is handed
// over synchronously, so a run is deterministic and takes microseconds, not a TCP round trip.
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import type { MainConf, RtmpListener } from '../../../lib/conf/tree.js'
import { Logger, type Level, type LogContext } from '../../../lib/core/log.js'
import { WriteMergers } from '../../../lib/core/output.js'
import { NodeMetrics } from '../../../lib/core/node-metrics.js'
import type { Frame } from '../../../lib/live/frame.js'
import { Hub } from '../../../lib/live/hub.js'
import { LiveStages } from '../../../lib/live/stages.js'
import type { LiveOptions, LiveStream } from '../../../lib/live/stream.js'
import type { Sink } from '../../../lib/live/player.js'
import { RtmpServerSession, type RtmpContext } from '../../../lib/rtmp/server-session.js'
import { liveOptions } from '../../../lib/server.js'
import type { PlayFailure } from '../../../lib/stages.js'
import { readSeeds } from '../corpus.js'
import { Outcome } from '../outcome.js'
import type { Target } from '../target.js'
import { treeFromText } from '../tree.js'
import { HANDSHAKE_BYTES, chunkFields, reformedHeaders } from './chunk.js'
import { selectServer } from '../../../lib/core/vhost.js'

/**
 * The node: `live` as ffmpeg publishes to it (GOP cache, metadata rebuilt: meta on), `copy`
 * with the publisher's metadata passed on and no cache, and `*` for any other name.
 */
const SESSION_CONF = `events {}
rtmp {
    server {
        listen 127.0.0.1:1935;
        application live { live on; cache_time 1s; }
        application copy { live on; meta copy; cache_time 0; wait_key off; wait_video off; }
        application * { live on; }
    }
}
`

/** what `ackMessage` writes, up to the sequence number: 02, ts 0, length 4, type 3, stream 0 */
const ACK_PREFIX = Buffer.from('020000000000040300000000', 'hex')
const ACK_BYTES = ACK_PREFIX.length + 4

/** The subset of net.Socket the session and its Output use; writes are kept. */
class StandInSocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1'
  readonly remotePort = 50000
  readonly localAddress = '127.0.0.1'
  readonly localPort = 1935
  destroyed = false
  readonly writableLength = 0
  bytesWritten = 0
  readonly writes: Buffer[] = []

  setNoDelay(): this { return this }
  cork(): void {}
  uncork(): void {}

  write(data: Buffer): boolean {
    this.writes.push(data)
    this.bytesWritten += data.length
    return true
  }

  destroy(): this {
    this.destroyed = true
    return this
  }
}

/** Keeps log lines instead of writing them. */
class CaptureLog extends Logger {
  readonly lines: { level: Level, message: string }[] = []

  constructor() {
    super([])
  }

  override enabled(): boolean {
    return true
  }

  override log(level: Level, message: string, _ctx?: LogContext): void {
    this.lines.push({ level, message })
  }
}

/** A player that keeps what the stream gives it, in both output formats. */
class CapturePlayer implements Sink {
  readonly format = 'rtmp' as const
  readonly queuedBytes = 0

  constructor(private readonly out: Outcome, private readonly name: string) {}

  writeFrame(frame: Frame): void {
    const m = frame.msg
    const label = `${this.name} frame type=${m.typeId} ts=${m.timestamp} key=${frame.keyframe} header=${frame.sequenceHeader}`
    this.out.emit(`${label} rtmp`, frame.rtmp)
    this.out.emit(`${label} flv`, frame.flv)
  }

  streamBegin(): void { this.out.emit(`${this.name} streamBegin`) }
  streamEof(): void { this.out.emit(`${this.name} streamEof`) }
  close(reason: string): void { this.out.emit(`${this.name} close: ${reason}`) }
  fail(f: PlayFailure): void { this.out.emit(`${this.name} fail: ${f.code}`) }
}

/** A hub that puts an early capture player on each stream it creates. */
class CaptureHub extends Hub {
  constructor(private readonly out: Outcome) {
    super(new NodeMetrics())
  }

  override acquire(key: string, opts: LiveOptions, app?: string, name?: string): { stream: LiveStream, created: boolean } {
    const got = super.acquire(key, opts, app, name)
    if (got.created) {
      this.out.emit(`stream ${key}`)
      got.stream.startPlayer(got.stream.addPlayer(new CapturePlayer(this.out, 'early')))
    }
    return got
  }
}

export function sessionTarget(): Target {
  const tree: MainConf = treeFromText(SESSION_CONF)
  const listener = tree.rtmp?.listeners[0] as RtmpListener
  let seeds: Buffer[] | null = null
  return {
    name: 'session',
    about: 'RtmpServerSession (publisher side) on a stand-in socket: handshake, chunks, commands, live hub, metadata, players',
    resumable: true,
    maxInputBytes: 256 * 1024,
    generatedShare: 0.25,
    /** a publisher's capture with chunk headers rewritten in other forms (see chunk.ts) */
    generate(rng) {
      const seed = rng.pick(this.seeds())
      return Buffer.concat([seed.subarray(0, HANDSHAKE_BYTES), reformedHeaders(rng, seed.subarray(HANDSHAKE_BYTES))])
    },
    seeds() {
      seeds ??= readSeeds('rtmp', '.c2s.bin')
      return seeds
    },
    fields(input) {
      // C0, C1's time and version, the two digest-offset positions; then the chunk headers
      const hs = [0, 1, 5, 9, 1 + 8, 1 + 772, HANDSHAKE_BYTES - 1536]
      return [...hs, ...chunkFields(input, HANDSHAKE_BYTES)]
    },
    run(input, cut) {
      const out = new Outcome()
      const hub = new CaptureHub(out)
      const log = new CaptureLog()
      let sessions = 0
      // the node's pipelines for this config: no access rules, notifications or pulls
      const live = new LiveStages(hub, (server, app) => liveOptions(server, app, 'edge-fuzz'))
      const ctx: RtmpContext = {
        log,
        mergers: new WriteMergers(),
        metrics: hub.metrics,
        nextSessionId: () => ++sessions,
        play: (req, outcome) => void req.enter([live.enter, live.play], outcome),
        publish: (req, outcome) => void req.enter([live.enter, live.publish], outcome),
        currentApp: (_listen, domain, app) => {
          const server = selectServer(listener.servers, listener.defaultServer, domain)
          return server.applications.find((a) => a.name === app) ?? server.starApplication
        },
      }
      const socket = new StandInSocket()
      const session = new RtmpServerSession(socket as unknown as Socket, listener, ctx)
      for (const piece of cut === null ? [input] : [input.subarray(0, cut), input.subarray(cut)]) {
        if (socket.destroyed) break
        if (out.guard('socket data handler', () => socket.emit('data', piece))) break
      }
      // a player joining now gets the GOP cache's burst
      for (const stream of [...hub.all()]) {
        out.guard('late player', () => stream.startPlayer(stream.addPlayer(new CapturePlayer(out, 'late'))))
      }
      out.guard('session.close', () => session.close('fuzz input ended'))

      let skip = HANDSHAKE_BYTES
      for (const w of socket.writes) {
        if (skip >= w.length) {
          skip -= w.length
          out.searchOnly(w) // the handshake answer: S1 is random, so it is searched, not compared
          continue
        }
        if (skip > 0) out.searchOnly(w.subarray(0, skip))
        const part = skip > 0 ? w.subarray(skip) : w
        skip = 0
        if (part.length === ACK_BYTES && part.subarray(0, ACK_PREFIX.length).equals(ACK_PREFIX)) {
          out.searchOnly(part) // where an Acknowledgement falls depends on how the input was split
          continue
        }
        out.emit('write', part)
      }
      for (const l of log.lines) {
        if (l.level === 'alert') {
          const stack = l.message.replace(/^close: internal error: /, '')
          const first = stack.split('\n')[0]
          const colon = first.indexOf(': ')
          out.crashes.push({
            at: 'RtmpServerSession (closed with an alert)',
            name: colon === -1 ? 'Error' : first.slice(0, colon),
            message: colon === -1 ? first : first.slice(colon + 2),
            stack,
          })
        }
        out.emit(`log ${l.level} ${l.message.split('\n')[0]}`)
      }
      return out
    },
  }
}
