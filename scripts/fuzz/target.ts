// What the fuzzer needs to know of each thing it fuzzes (scripts/fuzz/targets/*.ts).
import type { Outcome } from './outcome.js'
import type { Rng } from './rng.js'

export interface Target {
  readonly name: string
  /** one line for --help */
  readonly about: string
  /** the parser is resumable (push): the split-equals-whole check applies */
  readonly resumable: boolean
  /** mutated and random inputs are cut to this many bytes */
  readonly maxInputBytes: number
  /** the seed inputs (read once; kept small) */
  seeds(): Buffer[]
  /** offsets of header fields in an input (where interesting integers are written); may be empty */
  fields(input: Buffer): number[]
  /** share of inputs made by generate() instead of mutating seeds (0 when there is none) */
  readonly generatedShare: number
  /** a structure-aware input (optional) */
  generate?(rng: Rng): Buffer
  /**
   * Run one input through the code under test. `cut` (resumable targets only) hands the input
   * over in two pieces, [0, cut) and [cut, end). Must not throw: every exception is recorded
   * in the Outcome, typed errors as ordinary emissions and anything else as a crash.
   */
  run(input: Buffer, cut: number | null): Outcome
}
