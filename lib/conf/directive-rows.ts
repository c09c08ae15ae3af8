// The rows of the directive table and how a row is written: contexts, arity, setter and the
// slot of the typed tree it fills (slots.ts). directives.ts and directives-http.ts write the rows;
// directives.ts indexes them.
import {
  HTTP, HTTP_LIF, HTTP_LOC, HTTP_SIF, HTTP_SRV, RTMP, RTMP_APP, RTMP_REC, RTMP_SRV, type ContextBit, type Scope,
} from './scope.js'
import type { Setter } from './setters.js'
import { slotsOf, unread, type Into, type Slot } from './slots.js'
import type { Statement } from './ast.js'

/** [min, max] arguments after the name (nginx's NGX_CONF_TAKE*, 1MORE, ANY masks). */
export type Arity = readonly [number, number]

export const N0: Arity = [0, 0]
export const N1: Arity = [1, 1]
export const N2: Arity = [2, 2]
export const N01: Arity = [0, 1]
export const N12: Arity = [1, 2]
export const N13: Arity = [1, 3]
export const N23: Arity = [2, 3]
export const N1M: Arity = [1, Infinity]
export const N2M: Arity = [2, Infinity]

export interface Directive {
  readonly name: string
  /** contexts (bit set) where the directive may be written */
  readonly ctx: number
  readonly args: Arity
  /** the row's setter applied to its slot (nginx's cmd->set with the conf and offset) */
  readonly set: (scope: Scope, stmt: Statement) => void
  /** the tree field the directive fills; null when no field reads it */
  readonly slot: Pick<Slot<unknown>, 'conf' | 'field' | 'merge'> | null
  /**
   * For block directives: the context of the block, or a function of the enclosing context
   * (`if` in a server vs a location), or 'free' for blocks whose entries are data (types, map).
   */
  readonly block?: ContextBit | ((parent: ContextBit) => ContextBit) | 'free'
  /** a normalised name for the block's scope (location modifiers) */
  readonly label?: (stmt: Statement) => string
  /** edge acts on it; other directives are accepted, checked, and named in a start-up [warn] */
  readonly runtime: boolean
}

export const ALL_CONTEXTS = (1 << 13) - 1
export const RS = RTMP | RTMP_SRV
export const RSA = RS | RTMP_APP
export const RSAR = RSA | RTMP_REC
export const HSL = HTTP | HTTP_SRV | HTTP_LOC
export const HSLI = HSL | HTTP_LIF
export const HS = HTTP | HTTP_SRV
export const REWRITE = HTTP_SRV | HTTP_LOC | HTTP_SIF | HTTP_LIF

/** every row, in the order written: the first row whose contexts include a block is used */
export const rows: Directive[] = []

type Extra = Partial<Pick<Directive, 'block' | 'label' | 'runtime'>>

/**
 * A row: `into` is the slot the setter fills (a tree field, typed: the setter's values must
 * fit the field), or null for a value no field reads, kept under the directive's name.
 */
export function d<V>(name: string, ctx: number, args: Arity, set: Setter<V>, into: Into<V> | null = null, extra: Extra = {}): void {
  const place = into ?? unread<V>(name)
  const slot = 'field' in place ? place as Slot<V> : null
  rows.push({ name, ctx, args, set: (scope, stmt) => set(scope, stmt, place), slot, runtime: false, ...extra })
}

/** A directive edge acts on at run time. */
export function r<V>(name: string, ctx: number, args: Arity, set: Setter<V>, into: Into<V> | null = null, extra: Extra = {}): void {
  d(name, ctx, args, set, into, { ...extra, runtime: true })
}

/** Structural blocks and include: the shape of the config, which edge always follows. */
export const structural = r

// The confs of the tree, for slots: `app('cacheTimeMs', 0)` is AppConf.cacheTimeMs, default 0.
export const main = slotsOf('main')
export const events = slotsOf('events')
export const rtmp = slotsOf('rtmp')
export const srv = slotsOf('rtmpServer')
export const app = slotsOf('app')
export const appNotify = slotsOf('appNotify')
export const rec = slotsOf('record')
export const httpSrv = slotsOf('httpServer')
export const loc = slotsOf('location')

export const SEC = 1000
export const MiB = 1024 * 1024

