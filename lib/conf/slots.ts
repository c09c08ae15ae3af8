// Slots: the field of the typed tree a directive fills, kept in its row as nginx keeps it in
// the ngx_command_t (the conf, NGX_RTMP_APP_CONF_OFFSET..., and the field, offsetof). A slot
// also carries the default and how levels merge (what a module's merge function says), so
// contexts.ts fills every slot of a conf in one call and a directive's name is written once,
// in its row.
import type { Scope } from './scope.js'
import type {
  AppConf, AppNotifyConf, EventsConf, HttpServerConf, LocationConf, MainConf, RecordConf, RtmpConf, RtmpServerConf,
} from './tree.js'

/** The confs of the tree that directives fill. */
export interface Confs {
  readonly main: MainConf
  readonly events: EventsConf
  readonly rtmp: RtmpConf
  readonly rtmpServer: RtmpServerConf
  readonly app: AppConf
  readonly appNotify: AppNotifyConf
  /** an application's or a recorder block's record_* (a recorder inherits from its application) */
  readonly record: RecordConf
  readonly httpServer: HttpServerConf
  readonly location: LocationConf
}

export type ConfName = keyof Confs

/**
 * How a block's value meets its parents': `inherit` takes the nearest block that has one
 * (ngx_conf_merge_*_value), `own` only the block's own (pull, listen), `concat` every
 * block's list, outermost first (rtmp allow/deny).
 */
export type Merge = 'inherit' | 'own' | 'concat'

/**
 * Where a setter puts a value: a key in the scope of the block being read. `in V`: a place
 * for V takes any subtype of V, so a setter of numbers may fill a `number | null` field, and
 * a setter of `number | null` may not fill a `number` one.
 */
export interface Into<in V> {
  readonly key: string
}

/** A field of a tree conf that directives fill. */
export interface Slot<in out V> extends Into<V> {
  readonly conf: ConfName
  readonly field: string
  /** the value of a block where no level wrote one; a function is given the conf's other slots */
  readonly fallback: V | ((conf: never) => V)
  readonly merge: Merge
}

const byConf = new Map<ConfName, Slot<unknown>[]>()

/**
 * The slot maker for one conf: `app('cacheTimeMs', 0)` is AppConf.cacheTimeMs, 0 when no
 * level sets it. The field name and the default are checked against the tree's types.
 */
export function slotsOf<C extends ConfName>(conf: C) {
  return <K extends keyof Confs[C] & string>(
    field: K,
    fallback: Confs[C][K] | ((conf: Confs[C]) => Confs[C][K]),
    merge: Merge = 'inherit',
  ): Slot<Confs[C][K]> => {
    const key = `${conf}.${field}`
    const list = byConf.get(conf) ?? []
    if (list.some((s) => s.key === key)) throw new Error(`slot ${key} is made twice; share the one slot`)
    const slot: Slot<Confs[C][K]> = { key, conf, field, fallback, merge }
    list.push(slot as Slot<unknown>)
    byConf.set(conf, list)
    return slot
  }
}

/** A place for a value no tree field reads: kept so that a second one is "is duplicate". */
export function unread<V>(name: string): Into<V> {
  return { key: name }
}

/**
 * The values of every slot of `conf` for the block of `scope`, merged with its parents' and
 * defaulted. Typed as the whole conf: the builder sets the fields no directive fills (name,
 * where, children) and those it derives; tree.test.ts checks that every field is there.
 */
export function slotValues<C extends ConfName>(scope: Scope, conf: C): Confs[C] {
  const out: Record<string, unknown> = {}
  const derived: Slot<unknown>[] = []
  for (const slot of byConf.get(conf) ?? []) {
    const value = slot.merge === 'concat' ? scope.concatenated(slot as Into<readonly unknown[]>)
      : slot.merge === 'own' ? scope.own(slot) : scope.inherited(slot)
    if (value !== undefined) out[slot.field] = value
    else if (typeof slot.fallback === 'function') derived.push(slot)
    else out[slot.field] = slot.fallback
  }
  // a default that depends on the merged values, as out_cork's (out_queue / 8)
  for (const slot of derived) out[slot.field] = (slot.fallback as (conf: unknown) => unknown)(out)
  return out as unknown as Confs[C]
}
