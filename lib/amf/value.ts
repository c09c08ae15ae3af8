// What AMF0 and AMF3 decode to, and the limits both decoders share. amf0.ts re-exports the
// types; amf3.ts imports them from here so that the two decoders do not import each other in
// a cycle.
import { ProtocolError } from '../core/errors.js'

/**
 * A decoded AMF value. Objects keep their keys in wire order (plain objects keep insertion
 * order, except that JavaScript lists integer-like keys such as "0" first, in ascending order).
 */
export type AmfValue = number | boolean | string | null | undefined | Date | AmfObject | AmfValue[]

export interface AmfObject {
  [key: string]: AmfValue
}

/**
 * Nesting limit for objects and arrays, counted across an AMF0 → AVM+ → AMF3 switch. Real
 * commands nest two or three levels; a deeper value is hostile and would otherwise cost stack.
 */
export const MAX_AMF_DEPTH = 64

/** The one error every decode failure becomes. */
export function decodeError(message: string): ProtocolError {
  return new ProtocolError('ERR_AMF_DECODE', message)
}

/**
 * obj[key] = value, except that a key "__proto__" becomes an own property (plain assignment
 * would replace the object's prototype instead of storing the value).
 */
export function setProperty(obj: AmfObject, key: string, value: AmfValue): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    obj[key] = value
  }
}
