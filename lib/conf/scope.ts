// Scopes: one per configuration block while the directive table is applied. A scope keeps
// the parsed value of each directive written directly in it; contexts.ts later merges the
// scopes of a branch (nginx's create/merge of main, srv and loc/app confs) into the typed tree.
import { ConfError, type ConfLocation } from '../core/errors.js'
import type { Statement } from './ast.js'
import type { Into } from './slots.js'

// Context bits: where a directive may be written. Names follow nginx (NGX_MAIN_CONF,
// NGX_RTMP_SRV_CONF, NGX_HTTP_LOC_CONF, ...).
export const MAIN = 1 << 0
export const EVENTS = 1 << 1
export const RTMP = 1 << 2
export const RTMP_SRV = 1 << 3
export const RTMP_APP = 1 << 4
export const RTMP_REC = 1 << 5
export const HTTP = 1 << 6
export const HTTP_SRV = 1 << 7
export const HTTP_LOC = 1 << 8
export const HTTP_UPS = 1 << 9
export const HTTP_SIF = 1 << 10
export const HTTP_LIF = 1 << 11
export const HTTP_LMT = 1 << 12

export type ContextBit =
  | typeof MAIN | typeof EVENTS | typeof RTMP | typeof RTMP_SRV | typeof RTMP_APP | typeof RTMP_REC
  | typeof HTTP | typeof HTTP_SRV | typeof HTTP_LOC | typeof HTTP_UPS | typeof HTTP_SIF
  | typeof HTTP_LIF | typeof HTTP_LMT

/**
 * One block's values while the directive table is applied, keyed by slot (slots.ts). Typed by
 * the slot: a setter puts what its slot's field holds.
 */
export class Scope {
  private readonly values = new Map<string, unknown>()
  readonly children: Scope[] = []

  constructor(
    readonly ctx: ContextBit,
    readonly parent: Scope | null,
    /** the block statement that opened this scope (null for main) */
    readonly stmt: Statement | null,
    /** the block's own arguments as its setter understood them (location path, app name...) */
    readonly label: string = '',
  ) {
    parent?.children.push(this)
  }

  has(into: Into<never>): boolean {
    return this.values.has(into.key)
  }

  /** nginx's "is duplicate": a slot set once per block is already set in this one. */
  claim(stmt: Statement, into: Into<never>): void {
    if (this.values.has(into.key)) throw new ConfError(at(stmt), `"${stmt.name}" directive is duplicate`)
  }

  /** Set a single-valued slot; a second one in the same block is "is duplicate". */
  setOnce<V>(stmt: Statement, into: Into<V>, value: V): void {
    this.claim(stmt, into)
    this.values.set(into.key, value)
  }

  /** Set a slot whatever this block held (a setter that allows a second one). */
  replace<V>(into: Into<V>, value: V): void {
    this.values.set(into.key, value)
  }

  /** Append to a repeatable directive's list in this block. */
  push<E>(into: Into<readonly E[]>, value: E): void {
    const list = this.values.get(into.key) as E[] | undefined
    if (list === undefined) this.values.set(into.key, [value])
    else list.push(value)
  }

  own<V>(into: Into<V>): V | undefined {
    return this.values.get(into.key) as V | undefined
  }

  /** The nearest value up the scope chain (nginx merge: child overrides parent). */
  inherited<V>(into: Into<V>): V | undefined {
    for (let s: Scope | null = this; s !== null; s = s.parent) {
      if (s.values.has(into.key)) return s.values.get(into.key) as V
    }
    return undefined
  }

  /** Lists written at every level, parent first (rtmp allow/deny rules merge this way). */
  concatenated<E>(into: Into<readonly E[]>): E[] {
    const levels: E[][] = []
    for (let s: Scope | null = this; s !== null; s = s.parent) {
      const v = s.values.get(into.key) as E[] | undefined
      if (v !== undefined) levels.unshift(v)
    }
    return levels.flat()
  }

  childrenOf(ctx: ContextBit): Scope[] {
    return this.children.filter((c) => c.ctx === ctx)
  }
}

export function at(stmt: Statement): ConfLocation {
  return { file: stmt.file, line: stmt.line }
}
