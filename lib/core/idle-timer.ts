// One re-armable timer per connection (undici's pattern): armed with a duration for the phase
// the connection is in, refreshed on every read, cleared when the connection ends. A read costs
// one Timeout.refresh() (it moves the timer to the end of its list): no allocation, no new
// timer, whatever the message rate.

export class IdleTimer {
  private timer: NodeJS.Timeout | null = null
  private armedMs = 0

  /** `onIdle(ms)` runs once when nothing refreshed the timer for the `ms` it was armed with. */
  constructor(private readonly onIdle: (ms: number) => void) {}

  /** (Re)starts the timer with `ms`; 0 means no bound (the timer is off until armed again). */
  arm(ms: number): void {
    this.clear()
    this.armedMs = ms
    if (ms > 0) this.timer = setTimeout(this.fire, ms)
  }

  /** Activity: the armed duration starts again from now. */
  refresh(): void {
    this.timer?.refresh()
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private readonly fire = (): void => {
    this.timer = null
    this.onIdle(this.armedMs)
  }
}
