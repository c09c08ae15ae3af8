// The live hub: "serverid/app/name" → LiveStream. A stream exists while a player or a
// publisher references it (§7.7); the last one to leave removes it.
import { LiveStream, type LiveOptions } from './stream.js'

export class Hub {
  private readonly streams = new Map<string, LiveStream>()

  get(key: string): LiveStream | undefined {
    return this.streams.get(key)
  }

  /** The stream for `key`, created with `opts` when it does not exist yet. */
  acquire(key: string, opts: LiveOptions): LiveStream {
    let s = this.streams.get(key)
    if (s === undefined) {
      s = new LiveStream(key, opts)
      this.streams.set(key, s)
    }
    return s
  }

  /** Forget the stream once nobody references it. */
  release(stream: LiveStream): void {
    if (stream.isEmpty && this.streams.get(stream.key) === stream) this.streams.delete(stream.key)
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
