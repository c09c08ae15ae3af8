// Where the fuzzer's files live: committed seeds and regression inputs under
// test/fixtures/fuzz/, new findings under fuzz-crashes/ (gitignored).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** the repository root (this file runs compiled from dist/scripts/fuzz/) */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const fuzzFixturesDir = join(repoRoot, 'test', 'fixtures', 'fuzz')
export const seedsDir = join(fuzzFixturesDir, 'seeds')
/** committed reproducers: test/fuzz/regressions.test.ts replays every file here */
export const regressionsDir = join(fuzzFixturesDir, 'crashes')
/** what `npm run fuzz` finds (gitignored) */
export const findingsDir = join(repoRoot, 'fuzz-crashes')

/** The files of a folder, sorted by name; [] when it does not exist. */
export function filesIn(dir: string, suffix = ''): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((n) => n.endsWith(suffix) && statSync(join(dir, n)).isFile())
    .sort()
    .map((n) => join(dir, n))
}

/** The contents of every seed file in seeds/<sub>/ whose name ends with `suffix`. */
export function readSeeds(sub: string, suffix = ''): Buffer[] {
  return filesIn(join(seedsDir, sub), suffix).map((f) => readFileSync(f))
}
