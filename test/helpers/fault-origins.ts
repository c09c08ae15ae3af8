// Misbehaving origins and notify servers for the fault tests (test/faults/): each records its
// connections (when they opened, when they closed, and who closed them) so a test can say
// how long the edge held each one. Built on edge's codecs like test/helpers/origins.ts;
// interop with real origins is tested elsewhere.
import { EventEmitter, once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import { ChunkReader } from '../../lib/rtmp/chunk-reader.js'
import { encodeChunks } from '../../lib/rtmp/chunk-writer.js'
import {
  connectResultMessage, decodeCommand, resultMessage, setChunkSizeMessage, statusMessage,
} from '../../lib/rtmp/commands.js'
import { MSG_COMMAND_AMF0, MSG_COMMAND_AMF3 } from '../../lib/rtmp/constants.js'
import { ServerHandshake, ServerHandshakeState } from '../../lib/rtmp/handshake.js'
import { paceMedia } from './origins.js'
import { wallMs } from './witness-reader.js'

/** One connection to a scripted server. */
export interface ScriptedConnection {
  readonly socket: Socket
  /** wallMs() when it was accepted */
  readonly openedAt: number
  /** wallMs() when it closed, null while open */
  closedAt: number | null
  /** the server closed it itself (a script's cut), as opposed to the peer */
  closedByUs: boolean
  /** bytes the script wrote, and when it last wrote */
  bytesWritten: number
  lastWriteAt: number
}

/** What a scripted server does with each connection. */
export type Script = (conn: ScriptedConnection, server: ScriptedServer) => void

/** A TCP server on 127.0.0.1 that hands every connection to `script` and keeps a record of it. */
/**
 * One ScriptedServer per named script, stopped in t's teardown, and the `application` lines
 * that point an edge at them (`app(name, port)` writes one).
 */
export async function startScripted<N extends string>(
  t: { teardown(fn: () => void): void },
  scripts: Readonly<Record<N, Script>>,
  app: (name: N, port: number) => string,
): Promise<{ servers: Record<N, ScriptedServer>, apps: string }> {
  const servers = {} as Record<N, ScriptedServer>
  for (const name of Object.keys(scripts) as N[]) {
    servers[name] = await ScriptedServer.start(scripts[name])
    t.teardown(() => servers[name].stop())
  }
  const apps = (Object.keys(scripts) as N[]).map((name) => app(name, servers[name].port)).join('\n        ')
  return { servers, apps }
}

export class ScriptedServer extends EventEmitter {
  readonly connections: ScriptedConnection[] = []
  /** timers the scripts started, cleared at stop() */
  readonly timers = new Set<NodeJS.Timeout>()

  private constructor(private readonly server: Server, readonly port: number) {
    super()
  }

  static async start(script: Script): Promise<ScriptedServer> {
    let self: ScriptedServer | null = null
    const server = createServer((socket) => {
      const s = self as ScriptedServer
      const conn: ScriptedConnection = { socket, openedAt: wallMs(), closedAt: null, closedByUs: false, bytesWritten: 0, lastWriteAt: 0 }
      s.connections.push(conn)
      socket.on('error', () => {})
      socket.once('close', () => {
        conn.closedAt = wallMs()
        s.emit('close', conn)
      })
      s.emit('connection', conn)
      script(conn, s)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    self = new ScriptedServer(server, (server.address() as { port: number }).port)
    return self
  }

  /** Write for a script: counted, and skipped once the connection is gone. */
  static write(conn: ScriptedConnection, data: Buffer | string): void {
    if (conn.socket.destroyed) return
    conn.socket.write(data)
    conn.bytesWritten += data.length
    conn.lastWriteAt = wallMs()
  }

  /** The script ends the connection itself. */
  static cut(conn: ScriptedConnection): void {
    conn.closedByUs = true
    conn.socket.destroy()
  }

  /** An interval owned by the server (cleared at stop() if not before): `fn` every `ms`. */
  every(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setInterval(fn, ms)
    this.timers.add(timer)
    return timer
  }

  clear(timer: NodeJS.Timeout): void {
    clearInterval(timer)
    this.timers.delete(timer)
  }

  /** The n-th connection (0-based), waiting for it; rejects after `timeoutMs`. */
  async connection(n: number, timeoutMs: number): Promise<ScriptedConnection> {
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      while (this.connections.length <= n) await once(this, 'connection', { signal })
    } catch (err) {
      if (signal.aborted) throw new Error(`no connection #${n} within ${timeoutMs} ms (${this.connections.length} so far)`)
      throw err
    }
    return this.connections[n]
  }

  /** Resolves true once `conn` has closed, or false after `timeoutMs`. */
  async closed(conn: ScriptedConnection, timeoutMs: number): Promise<boolean> {
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      while (conn.closedAt === null) await once(this, 'close', { signal })
    } catch (err) {
      if (signal.aborted) return false
      throw err
    }
    return true
  }

  /** Resolves true once every connection so far has closed, or false after `timeoutMs`. */
  async allClosed(timeoutMs: number): Promise<boolean> {
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      while (this.connections.some((c) => c.closedAt === null)) await once(this, 'close', { signal })
    } catch (err) {
      if (signal.aborted) return false
      throw err
    }
    return true
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer)
    this.timers.clear()
    for (const c of this.connections) c.socket.destroy()
    this.server.close()
    await once(this.server, 'close')
  }
}

/** How a scripted RTMP origin answers once its handshake is done. */
export interface RtmpOriginScript {
  /** what the origin writes goes through this (default: at once) */
  readonly write?: (conn: ScriptedConnection, server: ScriptedServer, data: Buffer) => void
  /** after the handshake, instead of serving: do this and nothing else */
  readonly afterHandshake?: (conn: ScriptedConnection, server: ScriptedServer) => void
  /** serve media this long after Play.Start, then `stall` (keep the connection, send nothing) or `cut` */
  readonly serveMs?: number
  readonly then?: 'stall' | 'cut'
}

const ORIGIN_CHUNK_BYTES = 4096

/**
 * An RTMP origin: handshake, then either `afterHandshake`, or connect → _result, createStream →
 * _result, play → Play.Start and the test media in real time (for `serveMs`, then `then`).
 */
export function rtmpOrigin(script: RtmpOriginScript = {}): Script {
  return (conn, server) => {
    const write = (b: Buffer): void => {
      if (script.write !== undefined) script.write(conn, server, b)
      else ScriptedServer.write(conn, b)
    }
    const hs = new ServerHandshake()
    let stopMedia: (() => void) | null = null
    conn.socket.once('close', () => stopMedia?.())
    const reader = new ChunkReader({
      maxMessageBytes: 1 << 20, maxStreams: 1024, extendedOnType3: true,
      onMessage: (m) => {
        if (m.typeId !== MSG_COMMAND_AMF0 && m.typeId !== MSG_COMMAND_AMF3) return
        const cmd = decodeCommand(m.payload, m.typeId === MSG_COMMAND_AMF3)
        if (cmd.name === 'connect') {
          write(setChunkSizeMessage(ORIGIN_CHUNK_BYTES))
          write(connectResultMessage(ORIGIN_CHUNK_BYTES, cmd.transactionId, 0))
        } else if (cmd.name === 'createStream') {
          write(resultMessage(ORIGIN_CHUNK_BYTES, cmd.transactionId, null, 1))
        } else if (cmd.name === 'play') {
          write(statusMessage(ORIGIN_CHUNK_BYTES, 'status', 'NetStream.Play.Start', 'Start live'))
          stopMedia = paceMedia((tag, ts) => {
            const csid = tag.typeId === 8 ? 6 : tag.typeId === 9 ? 7 : 5
            write(encodeChunks(csid, tag.typeId, 1, ts, tag.payload, ORIGIN_CHUNK_BYTES))
          })
          if (script.serveMs !== undefined) {
            const timer = setTimeout(() => {
              server.timers.delete(timer)
              if (conn.socket.destroyed) return
              stopMedia?.()
              stopMedia = null
              if (script.then === 'cut') ScriptedServer.cut(conn)
            }, script.serveMs)
            server.timers.add(timer)
          }
        }
      },
    })
    let handshaking = true
    conn.socket.on('data', (d: Buffer) => {
      try {
        if (!handshaking) {
          if (script.afterHandshake === undefined) reader.push(d)
          return
        }
        hs.push(d)
        for (const out of hs.takeOutput()) write(out)
        if (hs.state !== ServerHandshakeState.DONE) return
        handshaking = false
        if (script.afterHandshake !== undefined) {
          script.afterHandshake(conn, server)
          return
        }
        const rest = hs.leftover()
        if (rest.length > 0) reader.push(rest)
      } catch (err) {
        // this fixture serves edge's well-formed client only: anything else is the test's bug
        conn.socket.destroy(err as Error)
      }
    })
  }
}

/**
 * A writer that trickles: each connection's bytes go out one at a time, one every `everyMs`.
 * The queue of a connection is dropped when it closes.
 */
export function trickle(everyMs: number): (conn: ScriptedConnection, server: ScriptedServer, data: Buffer) => void {
  const queues = new Map<ScriptedConnection, { parts: Buffer[], timer: NodeJS.Timeout }>()
  return (conn, server, data) => {
    let q = queues.get(conn)
    if (q === undefined) {
      const parts: Buffer[] = []
      const timer = server.every(everyMs, () => {
        const head = parts[0]
        if (head === undefined) return
        ScriptedServer.write(conn, head.subarray(0, 1))
        if (head.length > 1) parts[0] = head.subarray(1)
        else parts.shift()
      })
      q = { parts, timer }
      queues.set(conn, q)
      conn.socket.once('close', () => {
        server.clear(timer)
        queues.delete(conn)
      })
    }
    q.parts.push(data)
  }
}
