// Merged writes to players (issue 5). A live stream hands every player the same encoded
// Buffers; a socket write costs a syscall (and, on loopback, the receiver's TCP processing)
// whatever its size, so instead of one write per message per player, each player's messages
// are queued by reference and go out together as one writev. A shared clock per merge period
// flushes every dirty output: `merge_time` after the first queued message, or at the end of
// the event-loop turn when it is 0. `merge_frame` messages queued flush at once (PingOS's
// cap on frames per write). Control messages are never delayed.
//
//   stream ─► out.write(frame bytes) ─► queue (references) ─► WriteMerger tick ─► socket writev
//   session ─► out.send(control bytes) ─► queue flushed first, then written at once (order kept)
//
// The output also owns the write timeout (`timeout`, §1.5, §8.6): a timer runs only while the
// kernel does not take what was written, and output blocked that long calls `onStuck`.
import type { Socket } from 'node:net'

export class WriteMerger {
  // two lists swapped per tick; slots 0..count-1 are live, and the arrays keep their capacity
  private dirty: Array<Output | null> = []
  private spare: Array<Output | null> = []
  private count = 0
  private armed = false
  private readonly run = (): void => this.flushAll()

  constructor(readonly mergeMs: number) {}

  schedule(out: Output): void {
    this.dirty[this.count++] = out
    if (this.armed) return
    this.armed = true
    // unref: pending output never keeps the process alive by itself (its socket does)
    if (this.mergeMs > 0) setTimeout(this.run, this.mergeMs).unref()
    else setImmediate(this.run)
  }

  private flushAll(): void {
    this.armed = false
    const list = this.dirty
    const n = this.count
    this.dirty = this.spare
    this.spare = list
    this.count = 0
    for (let i = 0; i < n; i++) {
      (list[i] as Output).tick()
      list[i] = null // a closed session's output is not kept alive by the list
    }
  }
}

/** One merger per distinct period, shared by every output of the node. */
export class WriteMergers {
  private readonly byPeriod = new Map<number, WriteMerger>()

  get(mergeMs: number): WriteMerger {
    let m = this.byPeriod.get(mergeMs)
    if (m === undefined) {
      m = new WriteMerger(mergeMs)
      this.byPeriod.set(mergeMs, m)
    }
    return m
  }
}

/** how often per `timeout` a blocked output is checked for progress */
const STUCK_CHECKS = 8

/** Bytes of `socket`'s writes that have completed: the kernel took them. */
function kernelTaken(socket: Socket): number {
  return socket.bytesWritten - socket.writableLength
}

/** What a flush leaves in the queue's slots: the frames' Buffers are not kept alive by it. */
const EMPTY = Buffer.alloc(0)

export class Output {
  /** slots 0..count-1 are queued; the array keeps its capacity, so queuing allocates nothing */
  private readonly queue: Buffer[] = []
  private count = 0
  private queued = 0
  private messages = 0
  private scheduled = false
  private merger: WriteMerger | null = null
  private maxMessages = 1
  private timeoutMs = 0
  private stuckTimer: NodeJS.Timeout | null = null
  /** kernelTaken() when output last moved, and when that was (performance.now() ms) */
  private taken = 0
  private movedAt = 0

  /** `onStuck` is called when output has not moved for the timeout; the session closes then. */
  constructor(readonly socket: Socket, private readonly onStuck: (unsent: number) => void) {}

  /**
   * A player from now on: media is merged by `merger`, at most `maxMessages` per write, and
   * output blocked for `timeoutMs` (0: never) is stuck.
   */
  configure(merger: WriteMerger, maxMessages: number, timeoutMs: number): void {
    this.merger = merger
    this.maxMessages = Math.max(1, maxMessages)
    this.timeoutMs = timeoutMs
  }

  /** bytes accepted and not yet taken by the kernel: the merge queue plus the socket's buffer */
  get queuedBytes(): number {
    return this.queued + this.socket.writableLength
  }

  /**
   * Queue one message (up to three parts: an HTTP chunk head, the shared bytes, its CRLF) for
   * the next flush. The Buffers must not change afterwards.
   */
  write(a: Buffer, b?: Buffer, c?: Buffer): void {
    const q = this.queue
    q[this.count++] = a
    let n = a.length
    if (b !== undefined) { q[this.count++] = b; n += b.length }
    if (c !== undefined) { q[this.count++] = c; n += c.length }
    this.queued += n
    if (++this.messages >= this.maxMessages || this.merger === null) {
      this.flush()
      return
    }
    if (!this.scheduled) {
      this.scheduled = true
      this.merger.schedule(this)
    }
  }

  /** Write now, after whatever is queued (control messages, responses). */
  send(data: Buffer): void {
    if (this.count > 0) this.flush()
    // ended: a lingering close is under way, and a write after end() would destroy the socket
    if (this.socket.destroyed || this.socket.writableEnded) return
    this.socket.write(data)
    this.watch()
  }

  /** The merge period ended. */
  tick(): void {
    this.scheduled = false
    this.flush()
  }

  /** Write what is queued now (it stays scheduled: the merger's tick finds it empty or refilled). */
  flush(): void {
    const n = this.count
    if (n === 0) return
    const q = this.queue
    const s = this.socket
    if (!s.destroyed && !s.writableEnded) {
      if (n === 1) {
        s.write(q[0])
      } else {
        s.cork()
        for (let i = 0; i < n; i++) s.write(q[i])
        s.uncork()
      }
    }
    q.fill(EMPTY, 0, n)
    this.count = 0
    this.queued = 0
    this.messages = 0
    this.watch()
  }

  /** The session ends: no timer is left behind. */
  close(): void {
    if (this.stuckTimer !== null) clearInterval(this.stuckTimer)
    this.stuckTimer = null
  }

  // A timer only while the kernel leaves a backlog in the socket: healthy players have none.
  // Progress is what the kernel took (written bytes whose write completed), never bytes still
  // queued inside Node, so writing more to a stuck socket does not restart the clock: the
  // player is cut between `timeout` and `timeout` + 1/STUCK_CHECKS of it after the kernel
  // stopped taking its bytes.
  private watch(): void {
    if (this.stuckTimer !== null || this.timeoutMs <= 0 || this.socket.destroyed || this.socket.writableLength === 0) return
    this.taken = kernelTaken(this.socket)
    this.movedAt = performance.now()
    this.stuckTimer = setInterval(this.checkStuck, Math.max(1, Math.ceil(this.timeoutMs / STUCK_CHECKS)))
  }

  private readonly checkStuck = (): void => {
    const s = this.socket
    if (s.destroyed || s.writableLength === 0) {
      this.close()
      return
    }
    const taken = kernelTaken(s)
    const now = performance.now()
    if (taken !== this.taken) {
      this.taken = taken
      this.movedAt = now
    } else if (now - this.movedAt >= this.timeoutMs) {
      this.close()
      this.onStuck(this.queuedBytes)
    }
  }
}
