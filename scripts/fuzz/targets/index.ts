// The targets of `npm run fuzz`, in the order a full run takes them.
import type { Target } from '../target.js'
import { amf0Target, amf3Target } from './amf.js'
import { chunkTarget } from './chunk.js'
import { confTarget } from './conf.js'
import { flvTarget } from './flv.js'
import { httpTarget } from './http.js'
import { sessionTarget } from './session.js'

export const TARGET_NAMES = ['chunk', 'session', 'amf0', 'amf3', 'flv', 'http', 'conf'] as const
export type TargetName = (typeof TARGET_NAMES)[number]

const MAKERS: Record<TargetName, () => Target> = {
  chunk: chunkTarget,
  session: sessionTarget,
  amf0: amf0Target,
  amf3: amf3Target,
  flv: flvTarget,
  http: httpTarget,
  conf: confTarget,
}

export function isTargetName(name: string): name is TargetName {
  return (TARGET_NAMES as readonly string[]).includes(name)
}

export function makeTarget(name: TargetName): Target {
  return MAKERS[name]()
}
