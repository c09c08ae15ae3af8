// Pieces shared by the recording tests (issue 11 part 3; pingos-behaviour.md §10,
// pingos-observed.md §16): whether recording has landed on this branch, temp record dirs and
// what is in them.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Recording (issue 11, part 3) lands on main after push relays. Until it has, the recording
 * assertions are written but skipped with this reason; set to false once it has.
 */
export const RECORDING_MISSING: string | false = 'recording (issue 11 part 3) has not landed on main yet'

/** A temp dir for record_path, removed in t's teardown. */
export function recordDir(t: { teardown(fn: () => void): void }, prefix = 'edge-rec-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export interface RecordedFile {
  readonly name: string
  readonly path: string
  readonly bytes: number
}

/** The files in `dir` whose names start with `prefix`, sorted by name, with their sizes. */
export function recordedFiles(dir: string, prefix = ''): RecordedFile[] {
  return readdirSync(dir).filter((n) => n.startsWith(prefix)).sort()
    .map((name) => ({ name, path: join(dir, name), bytes: statSync(join(dir, name)).size }))
}
