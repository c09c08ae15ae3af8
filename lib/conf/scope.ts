// Scopes: one per configuration block while the directive table is applied. A scope keeps
// the parsed value of each directive written directly in it; contexts.ts later merges the
// scopes of a branch (nginx's create/merge of main, srv and loc/app confs) into the typed tree.
import { ConfError, type ConfLocation } from '../core/errors.js'
import type { Statement } from './ast.js'

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

/** A value set by a directive, with where it was written. */
export interface Setting<T = unknown> {
  readonly value: T
  readonly where: ConfLocation
}

export class Scope {
  readonly values = new Map<string, Setting>()
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

  /** Set a single-valued directive; a second one in the same block is nginx's "is duplicate". */
  setOnce(stmt: Statement, value: unknown, key = stmt.name): void {
    if (this.values.has(key)) throw new ConfError(at(stmt), `"${stmt.name}" directive is duplicate`)
    this.values.set(key, { value, where: at(stmt) })
  }

  /** Append to a repeatable directive's list in this block. */
  push(key: string, stmt: Statement, value: unknown): void {
    const cur = this.values.get(key)
    const list = cur === undefined ? [] : (cur.value as unknown[])
    list.push(value)
    if (cur === undefined) this.values.set(key, { value: list, where: at(stmt) })
  }

  own<T>(key: string): Setting<T> | undefined {
    return this.values.get(key) as Setting<T> | undefined
  }

  /** The nearest value up the scope chain (nginx merge: child overrides parent). */
  inherited<T>(key: string): Setting<T> | undefined {
    for (let s: Scope | null = this; s !== null; s = s.parent) {
      const v = s.values.get(key)
      if (v !== undefined) return v as Setting<T>
    }
    return undefined
  }

  get<T>(key: string, fallback: T): T {
    const v = this.inherited<T>(key)
    return v === undefined ? fallback : v.value
  }

  /** Lists written at every level, parent first (rtmp allow/deny rules merge this way). */
  concatenated<T>(key: string): T[] {
    const levels: T[][] = []
    for (let s: Scope | null = this; s !== null; s = s.parent) {
      const v = s.values.get(key)
      if (v !== undefined) levels.unshift(v.value as T[])
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
