// Recording as a stage of the publish pipeline, right after live.publish: each recorder of the
// application (AppConf.recorders) becomes a passive sink of the stream for this publish, fed like
// a player (headers first, the GOP burst, the stream's output limits) without keeping a pull
// going. The registry finds a stream's recorders for /control/record (issue 12), orders the
// files of one name across publishes (a next one opens once the last one is closed), shares
// recording's part of the threadpool (fs-limit.ts), and closes every file when edge stops.
import type { Logger } from '../core/log.js'
import type { PublishRequest } from '../live/stages.js'
import type { PublisherHandle } from '../live/publisher.js'
import type { Player } from '../live/player.js'
import { subjectOf, type Notifier } from '../notify/stages.js'
import type { Stage } from '../stages.js'
import { FsLimiter, RECORD_FS_DEADLINE_MS, RECORD_FS_OPS, type FsLimiterOptions } from './fs-limit.js'
import { Recorder, type RecorderContext } from './recorder.js'

/** How long a publish waits for each recorder's file to open: Record.Start comes before Publish.Start (observed §16). */
export const RECORD_OPEN_WAIT_MS = 1000
/** How long edge's stop waits for the recordings to be written and closed (a hung disk is not waited for longer). */
export const RECORD_STOP_WAIT_MS = 5000

/** Resolves when `p` does or after `ms`, whichever comes first. */
function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([p, new Promise((resolve) => { timer = setTimeout(resolve, ms) })]).then(() => clearTimeout(timer))
}

export class Recordings {
  /** stream key → the recorders of each of its publishes */
  private readonly byStream = new Map<string, Set<readonly Recorder[]>>()
  /** files not yet closed → their path */
  private readonly open = new Map<Promise<void>, string>()
  /** path → the close of the last file opened under it, until it is closed */
  private readonly lastByPath = new Map<string, Promise<void>>()
  private readonly fs: FsLimiter

  constructor(private readonly log: Logger, private readonly notify: Notifier,
    fs: FsLimiterOptions = { maxOps: RECORD_FS_OPS, deadlineMs: RECORD_FS_DEADLINE_MS }) {
    this.fs = new FsLimiter(fs)
  }

  /** The record stage: every recorder of the application starts with the publish. */
  readonly stage: Stage<PublishRequest> = async (req) => {
    const stream = req.stream
    if (stream === null) return null
    const who = subjectOf(req)
    const onRecord = req.app.notify.record
    const n = this.notify
    const ctx: Omit<RecorderContext, 'rejoin'> = {
      log: this.log,
      logCtx: who.logCtx,
      notice: (level, code, description) => req.client.notice(level, code, description),
      onRecord: onRecord === null ? null : {
        // 200..300 record, another status does not, no answer (-1) records (docs/compat.md)
        ask: async () => {
          const res = await n.ask(onRecord, 'record', 'start', who, req.signal)
          return res.status === -1 || (res.status >= 200 && res.status <= 300)
        },
        // stage= (§4.2): start always, update and done when listed
        tell: (act, fields) => { if (onRecord.stages[act]) n.tell(onRecord, 'record', act, who, fields) },
      },
      // live.publish set it: PublisherHandle is what the stream knows a publisher by
      isActive: () => req.publisher !== null && stream.isPublishing(req.publisher as PublisherHandle),
      fs: this.fs,
      lastClose: (path) => this.lastByPath.get(path) ?? null,
      track: (path, closed) => this.track(path, closed),
      hevcCodecId: req.server.hevcCodecId,
    }
    const recorders: Recorder[] = []
    const players: Player[] = []
    for (const conf of req.app.recorders) {
      const i = recorders.length
      const r = new Recorder(conf, req.info.name, {
        ...ctx,
        // failPlayers closed its player: a new one, once failPlayers is done
        rejoin: () => queueMicrotask(() => {
          if (req.gone) return
          stream.removePlayer(players[i])
          players[i] = stream.addPlayer(r)
          stream.startPlayer(players[i])
        }),
      })
      recorders.push(r)
      players.push(stream.addPlayer(r))
    }
    this.add(stream.key, recorders)
    req.onLeave(() => {
      for (const p of players) stream.removePlayer(p)
      for (const r of recorders) r.end()
      this.remove(stream.key, recorders)
    })
    for (const p of players) stream.startPlayer(p)
    // one after the other: the Record.Start statuses come in the recorders' order
    for (const r of recorders) {
      await bounded(r.begin(), RECORD_OPEN_WAIT_MS)
      if (req.gone) break
    }
    return null
  }

  /**
   * /control/record/start (issue 12): recorder `name` of each publish of stream `key` records
   * (a manual one opens its file now). False when the stream has no such recorder.
   */
  start(key: string, name: string): boolean {
    return this.each(key, name, (r) => { void r.start() })
  }

  /** /control/record/stop: recorder `name` of each publish of stream `key` closes its file. */
  stop(key: string, name: string): boolean {
    return this.each(key, name, (r) => r.stop())
  }

  /**
   * Edge stops: every recording ends; resolves once every file is closed, or after `timeoutMs`
   * with one line naming the files not written out (a disk that does not answer).
   */
  async closeAll(timeoutMs: number): Promise<void> {
    for (const set of this.byStream.values()) for (const list of set) for (const r of list) r.end()
    await bounded(Promise.all(this.open.keys()), timeoutMs)
    if (this.open.size === 0) return
    const paths = [...this.open.values()].map((p) => `'${p}'`).join(', ')
    this.log.error(`record: not written out after ${timeoutMs / 1000} s (the disk does not answer): ${paths}`)
  }

  private each(key: string, name: string, fn: (r: Recorder) => void): boolean {
    let found = false
    for (const list of this.byStream.get(key) ?? []) {
      for (const r of list) {
        if (r.name !== name) continue
        found = true
        fn(r)
      }
    }
    return found
  }

  private track(path: string, closed: Promise<void>): void {
    this.open.set(closed, path)
    this.lastByPath.set(path, closed)
    void closed.then(() => {
      this.open.delete(closed)
      if (this.lastByPath.get(path) === closed) this.lastByPath.delete(path)
    })
  }

  private add(key: string, recorders: readonly Recorder[]): void {
    let set = this.byStream.get(key)
    if (set === undefined) this.byStream.set(key, set = new Set())
    set.add(recorders)
  }

  private remove(key: string, recorders: readonly Recorder[]): void {
    const set = this.byStream.get(key)
    if (set === undefined) return
    set.delete(recorders)
    if (set.size === 0) this.byStream.delete(key)
  }
}
