// What the node counts for edge_metrics (lib/stats/metrics.ts renders it): one object per node,
// created by the node and handed down to the hub and its streams, the sessions, the relay legs
// and the notify client, which bump plain numbers where things happen (on the media path, an
// integer increment). Owned by the node, never a module-level global: the counts survive the
// streams, legs and sessions that made them, and two nodes in one process count apart.

/** A Prometheus-style histogram: observations counted into buckets by upper bound, with their sum. */
export class Histogram {
  /** observations per bucket, not cumulative: [i] is ≤ bounds[i] and > bounds[i - 1]; the last is above every bound */
  readonly counts: number[]
  sum = 0
  count = 0

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0)
  }

  observe(value: number): void {
    let i = 0
    while (i < this.bounds.length && value > this.bounds[i]) i++
    this.counts[i]++
    this.sum += value
    this.count++
  }
}

/** The Prometheus client libraries' default buckets (seconds): fit a request to a nearby server. */
export const DEFAULT_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

/** From an origin connect to its first keyframe: a connect, a play, and a GOP's wait at worst (seconds). */
export const FIRST_KEYFRAME_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30] as const

export type RelayKind = 'pull' | 'push'

/**
 * Why a relay leg's attempt failed, a fixed set (label values): its on_pull / on_push line
 * refused (≥ 400) or gave no usable answer; the remote refused the play or publish (an error
 * status, an HTTP origin's non-200); resolving or connecting failed, or the connection closed
 * before it relayed; it closed while relaying; the relay_reconnect deadline passed.
 */
export const RELAY_FAILURES = ['notify_refused', 'notify_failed', 'remote_refused', 'connect_error', 'closed', 'timeout'] as const
export type RelayFailure = typeof RELAY_FAILURES[number]

/** A relay leg that has not stopped, as the metrics see it. */
export interface RelayLegGauge {
  readonly kind: RelayKind
  /** its state: asking, connecting, relaying, waiting */
  readonly legState: string
  /** why its last attempt failed; null when it relays, or none failed yet */
  readonly lastFailure: RelayFailure | null
}

/**
 * Why a notify callout failed, a fixed set (label values): no answer within timeout=; no
 * answer otherwise (DNS, connect, reset, closed before or a malformed response head); answered
 * 4xx (a refusal for a start); answered 5xx.
 */
export const NOTIFY_FAILURES = ['timeout', 'connection_error', 'status_4xx', 'status_5xx'] as const
export type NotifyFailure = typeof NOTIFY_FAILURES[number]

/** One notify call's (play, publish, pull, ..., proc, master) callouts. */
export interface NotifyCallMetrics {
  readonly duration: Histogram
  readonly failures: Record<NotifyFailure, number>
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>
}

export class NodeMetrics {
  /** players that joined a stream (live.play), by protocol */
  readonly playersJoined = { rtmp: 0, flv: 0 }
  /** publishers that joined a stream (live.publish) */
  publishersJoined = 0
  /** frames a stream did not send to a sink over its soft queue limit */
  droppedFrames = 0
  /** players closed for being slow: past the hard queue limit, or output stuck for `timeout` */
  readonly slowPlayersClosed = { queue_limit: 0, send_timeout: 0 }
  /** relay legs that have not stopped */
  readonly relayLegs = new Set<RelayLegGauge>()
  readonly relayFailures: Record<RelayKind, Record<RelayFailure, number>> = { pull: zeroes(RELAY_FAILURES), push: zeroes(RELAY_FAILURES) }
  /** a pull attempt's start to the first video keyframe it relayed, seconds */
  readonly pullFirstKeyframe = new Histogram(FIRST_KEYFRAME_BUCKETS_S)
  /** by call, in the order first made */
  readonly notify = new Map<string, NotifyCallMetrics>()
  readonly reloads = { success: 0, failure: 0 }
  lastReloadSuccessful = true
  /** when the configuration in force was loaded (ms since the epoch) */
  lastReloadSuccessAt = Date.now()

  /** A notify callout of `call` ended after `seconds`: answered, or failed as `failure`. */
  notified(call: string, seconds: number, failure: NotifyFailure | null): void {
    let m = this.notify.get(call)
    if (m === undefined) {
      m = { duration: new Histogram(DEFAULT_BUCKETS_S), failures: zeroes(NOTIFY_FAILURES) }
      this.notify.set(call, m)
    }
    m.duration.observe(seconds)
    if (failure !== null) m.failures[failure]++
  }

  /** A reload (SIGHUP) was applied, or failed and the old configuration stays. */
  reloaded(ok: boolean): void {
    this.lastReloadSuccessful = ok
    if (ok) {
      this.reloads.success++
      this.lastReloadSuccessAt = Date.now()
    } else {
      this.reloads.failure++
    }
  }
}
