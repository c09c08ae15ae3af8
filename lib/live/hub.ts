// The live hub: "serverid/app/name" → LiveStream. A stream exists while a player or a
// publisher references it (§7.7); the last one to leave removes it.
import type { NodeMetrics } from '../core/node-metrics.js'
import type { Subject } from '../stages.js'
import { LiveStream, type LiveOptions } from './stream.js'

export class Hub {
  private readonly streams = new Map<string, LiveStream>()

  /** `metrics`: the node's, which its streams and stages count into (the counts outlive the streams) */
  constructor(readonly metrics: NodeMetrics) {}

  get(key: string): LiveStream | undefined {
    return this.streams.get(key)
  }

  /** The stream for `key` (of `app` and `name`), created with `opts` when it does not exist yet (`created`). */
  acquire(key: string, opts: LiveOptions, app = '', name = key): { stream: LiveStream, created: boolean } {
    const s = this.streams.get(key)
    if (s !== undefined) return { stream: s, created: false }
    const stream = new LiveStream(key, opts, this.metrics, app, name)
    this.streams.set(key, stream)
    return { stream, created: true }
  }

  /** Forget the stream once nobody references it; `by` left last (on_stream done, §4.4). */
  release(stream: LiveStream, by: Subject | null): void {
    if (!stream.isEmpty) return
    this.forget(stream)
    stream.ended(by)
  }

  /** The key is free for a new stream at once (an ended stream's sessions are still leaving). */
  forget(stream: LiveStream): void {
    if (this.streams.get(stream.key) === stream) this.streams.delete(stream.key)
  }

  get size(): number {
    return this.streams.size
  }

  all(): IterableIterator<LiveStream> {
    return this.streams.values()
  }
}

/** The stream key (§1.9): serverid/app/name. */
export function streamKey(serverId: string, app: string, name: string): string {
  return `${serverId}/${app}/${name}`
}
