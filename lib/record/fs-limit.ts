// Recording's share of libuv's threadpool. Every open, writev and close of a record file runs on
// one of the pool's threads (UV_THREADPOOL_SIZE, 4 by default), as do dns.lookup (HostResolver
// without `resolver`) and every other fs call of the node. A disk that hangs (an NFS server
// gone) keeps a thread for as long as the call blocks in the kernel: four such calls and the
// node resolves no name and reads no file any more. So recording runs at most RECORD_FS_OPS
// calls at a time, every call has a deadline (counted from the request, the wait for a turn
// included), and a call past it is abandoned: its recorder stops, its thread is still counted
// as taken until the call returns, and recording never takes the pool's last thread. While a
// call on a directory is stuck, the next calls on that directory (its disk, most likely) are
// refused at once instead of taking a thread each: the rest of the node, and recordings on
// other disks, keep theirs.
//
//   run(op) ──► waiting ──(a turn)──► running ──► settled: resolves or rejects as op did
//                  │                     │ deadline
//                  └ deadline: rejected  └► stuck (rejected now; `late` runs when op returns)

/** recording's calls in flight on a healthy disk: the rest of the pool stays free */
export const RECORD_FS_OPS = 2
/**
 * How long an open, a write or a close of a record file may take, its wait for a turn
 * included. Past 10 s the stream's output limits already drop a 2 Mbit/s stream's frames
 * (2 MiB unwritten), so the recording is lost anyway; a disk that slow for that long is gone.
 */
export const RECORD_FS_DEADLINE_MS = 10_000
/** pool threads recording leaves to the rest of the node, stuck calls or not (a pool of 1 is shared) */
const POOL_THREADS_KEPT = 1
/** libuv's threadpool size: UV_THREADPOOL_SIZE as libuv reads it at start (1..1024), else 4 */
const POOL_THREADS = Math.min(1024, Math.max(1, Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10) || 4))

/** The error a call past its deadline, or refused because its directory's disk hangs, is rejected with. */
export class FsDeadlineError extends Error {
  readonly code = 'ERR_RECORD_FS_DEADLINE'
  /** `refused`: the call was never made (its directory is stuck); else it is still blocked */
  constructor(deadlineMs: number, readonly refused: boolean) {
    super(refused ? `a call on this directory got no answer in ${deadlineMs / 1000} s, none is made until it returns`
      : `no answer from the disk in ${deadlineMs / 1000} s`)
  }
}

interface Waiter {
  readonly dir: string
  readonly refusable: boolean
  readonly start: () => void
  /** its directory is stuck: rejected without running */
  readonly refuse: () => void
}

export interface FsLimiterOptions {
  /** calls in flight (RECORD_FS_OPS) */
  readonly maxOps: number
  /** the deadline of each call (RECORD_FS_DEADLINE_MS) */
  readonly deadlineMs: number
  /** libuv's pool size (tests); POOL_THREADS by default */
  readonly poolThreads?: number
}

export class FsLimiter {
  private running = 0
  /** calls past their deadline that have not returned: each holds a pool thread */
  private stuck = 0
  /** directory → its stuck calls */
  private readonly stuckDirs = new Map<string, number>()
  private readonly waiting: Waiter[] = []
  private readonly poolThreads: number

  constructor(readonly opts: FsLimiterOptions) {
    this.poolThreads = opts.poolThreads ?? POOL_THREADS
  }

  /** calls past their deadline still blocked in the kernel */
  get stuckCalls(): number {
    return this.stuck
  }

  /**
   * Run `op` (one fs call at a time inside it, on a file of directory `dir`) when recording may
   * take a thread. Rejects with FsDeadlineError past the deadline, or at its turn while a call
   * on `dir` is stuck (`refusable`: a close that must happen is never refused); past the
   * deadline `late` runs once `op` has returned.
   */
  run<T>(dir: string, op: () => Promise<T>, late: () => void = () => {}, refusable = true): Promise<T> {
    if (refusable && this.stuckDirs.has(dir)) return Promise.reject(new FsDeadlineError(this.opts.deadlineMs, true))
    return new Promise<T>((resolve, reject) => {
      let started = false
      let expired = false
      const timer = setTimeout(() => {
        expired = true
        reject(new FsDeadlineError(this.opts.deadlineMs, false))
        if (!started) {
          this.waiting.splice(this.waiting.indexOf(waiter), 1) // never reached the pool
          return
        }
        this.running--
        this.stuck++
        this.stuckDirs.set(dir, (this.stuckDirs.get(dir) ?? 0) + 1)
        for (const w of this.waiting.filter((x) => x.refusable && x.dir === dir)) w.refuse()
        this.pump()
      }, this.opts.deadlineMs)
      const waiter: Waiter = {
        dir,
        refusable,
        refuse: () => {
          this.waiting.splice(this.waiting.indexOf(waiter), 1)
          clearTimeout(timer)
          reject(new FsDeadlineError(this.opts.deadlineMs, true))
        },
        start: () => {
          started = true
          this.running++
          const settled = (): void => {
            if (expired) {
              this.stuck--
              const n = (this.stuckDirs.get(dir) ?? 1) - 1
              if (n === 0) this.stuckDirs.delete(dir)
              else this.stuckDirs.set(dir, n)
              late()
            } else {
              clearTimeout(timer)
              this.running--
            }
            this.pump()
          }
          op().then((v) => { settled(); if (!expired) resolve(v) }, (err: unknown) => { settled(); if (!expired) reject(err) })
        },
      }
      this.waiting.push(waiter)
      this.pump()
    })
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.running < this.opts.maxOps &&
      this.running + this.stuck < Math.max(1, this.poolThreads - POOL_THREADS_KEPT)) {
      (this.waiting.shift() as Waiter).start()
    }
  }
}
