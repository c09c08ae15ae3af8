// Running the real `edge` binary from tests: by PID, with a bounded wait, output captured.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (tests run compiled from dist/test/...). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const edgeBin = join(repoRoot, 'bin', 'edge.js')
export const fixturesDir = join(repoRoot, 'test', 'fixtures')

export interface RunResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Run `edge <args>` to completion; kills it (by PID) and rejects after `timeoutMs`. */
export function runEdge(args: readonly string[], opts: { cwd?: string, timeoutMs?: number } = {}): Promise<RunResult> {
  return runProcess(process.execPath, [edgeBin, ...args], opts)
}

/** Run any command to completion (`env` added to this process's), output captured; killed by PID after `timeoutMs`. */
export function runProcess(
  command: string,
  args: readonly string[],
  opts: { cwd?: string, timeoutMs?: number, env?: Readonly<Record<string, string>> } = {},
): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 20_000
  return new Promise((resolve, reject) => {
    // tap injects its NODE_OPTIONS into every child; `env -u` (which execs, keeping the PID)
    // keeps the process under test free of the runner's hooks.
    const child = spawn('env', ['-u', 'NODE_OPTIONS', command, ...args], {
      cwd: opts.cwd ?? repoRoot, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${stderr}`))
    }, timeoutMs)
    child.on('error', (err) => { clearTimeout(timer); reject(err) })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}
