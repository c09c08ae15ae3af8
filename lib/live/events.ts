// Typed listener lists for a stream's events (StreamEventMap): many listeners per event, each
// removed by the function `on` returns; a listener added or removed while an event is emitted
// takes effect from the next emit.
type Lists<M extends { [E in keyof M]: unknown[] }> = { [E in keyof M]?: ((...args: M[E]) => void)[] }

export class StreamEvents<M extends { [E in keyof M]: unknown[] }> {
  private readonly lists: Lists<M> = {}

  on<E extends keyof M>(event: E, fn: (...args: M[E]) => void): () => void {
    const list = (this.lists[event] ??= [])
    list.push(fn)
    return () => {
      const i = list.indexOf(fn)
      if (i !== -1) list.splice(i, 1)
    }
  }

  /** someone listens to `event` (spares building its arguments on a hot path) */
  has(event: keyof M): boolean {
    return (this.lists[event]?.length ?? 0) > 0
  }

  emit<E extends keyof M>(event: E, ...args: M[E]): void {
    const list = this.lists[event]
    if (list !== undefined) for (const fn of [...list]) fn(...args)
  }

  /** forget every listener */
  clear(): void {
    for (const key of Object.keys(this.lists) as (keyof M)[]) delete this.lists[key]
  }
}
