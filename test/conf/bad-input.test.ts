// Bad config input gets one nginx-shaped message with file:line and exit 1, never a stack
// trace or a hang: garbage, huge files, unterminated quotes and blocks, deep nesting,
// include cycles, unreadable files.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { edgeBin, runEdge, runProcess, type RunResult } from '../helpers/edge.js'

const dir = mkdtempSync(join(tmpdir(), 'edge-bad-input-'))
chmodSync(dir, 0o755)
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

function write(name: string, content: string | Buffer): string {
  const p = join(dir, name)
  writeFileSync(p, content)
  return p
}

/** exit 1, exactly an [emerg] line and the "test failed" line, and no stack trace */
function assertFailed(t: Test, r: RunResult, file: string, message: RegExp | string): void {
  const lines = r.stderr.split('\n')
  t.equal(r.code, 1, 'exit code 1')
  t.equal(lines.length, 3, `two lines: ${r.stderr}`)
  if (typeof message === 'string') t.equal(lines[0], message)
  else t.match(lines[0], message)
  t.equal(lines[1], `edge: configuration file ${file} test failed`)
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
}

// Deterministic pseudo-random bytes (a linear congruential generator), so a failure repeats.
function garbage(n: number): Buffer {
  const b = Buffer.alloc(n)
  let x = 12345
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    b[i] = x >>> 24
  }
  return b
}

t.test('binary garbage', async (t) => {
  const f = write('garbage.conf', garbage(64 * 1024))
  assertFailed(t, await runEdge(['-t', '-c', f]), f, new RegExp(`^edge: \\[emerg\\] .+ in ${f}:\\d+$`))
})

t.test('an ELF binary given as config', async (t) => {
  const r = await runEdge(['-t', '-c', process.execPath])
  assertFailed(t, r, process.execPath, new RegExp(`^edge: \\[emerg\\] .+ in ${process.execPath}:\\d+$`))
})

t.test('a 50 MB file is refused before parsing', async (t) => {
  const f = write('huge.conf', Buffer.alloc(50 * 1024 * 1024, 'events { worker_connections 1; }\n'))
  assertFailed(t, await runEdge(['-t', '-c', f]), f,
    `edge: [emerg] configuration file "${f}" is too large (52428800 bytes, at most 8388608) in ${f}:1`)
})

t.test('unterminated quote and block', async (t) => {
  const q = write('quote.conf', 'events {}\nrtmp {\n    server {\n        listen "1935;\n    }\n}\n')
  assertFailed(t, await runEdge(['-t', '-c', q]), q, `edge: [emerg] unexpected end of file, expecting ";" or "}" in ${q}:7`)
  const b = write('block.conf', 'events {}\nrtmp {\n    server {\n        listen 1935;\n')
  assertFailed(t, await runEdge(['-t', '-c', b]), b, `edge: [emerg] unexpected end of file, expecting "}" in ${b}:5`)
})

t.test('deep nesting', async (t) => {
  const f = write('deep.conf', 'events {}\n' + 'location / {\n'.repeat(10000))
  assertFailed(t, await runEdge(['-t', '-c', f]), f, `edge: [emerg] blocks nested deeper than 64 levels in ${f}:66`)
})

t.test('include cycles are reported, not followed', async (t) => {
  const a = write('cycle-a.conf', 'events {}\ninclude cycle-b.conf;\n')
  write('cycle-b.conf', '# b\ninclude cycle-a.conf;\n')
  assertFailed(t, await runEdge(['-t', '-c', a]), a,
    `edge: [emerg] include of "${a}" makes a cycle: ${a} -> ${join(dir, 'cycle-b.conf')} -> ${a} in ${join(dir, 'cycle-b.conf')}:2`)
  const self = write('self.conf', 'events {}\ninclude self.conf;\n')
  assertFailed(t, await runEdge(['-t', '-c', self]), self,
    `edge: [emerg] include of "${self}" makes a cycle: ${self} -> ${self} in ${self}:2`)
  const glob = write('glob-self.conf', 'events {}\ninclude glob-*.conf;\n')
  assertFailed(t, await runEdge(['-t', '-c', glob]), glob, new RegExp(`makes a cycle: .* in ${glob}:2$`))
})

t.test('unreadable files', async (t) => {
  mkdirSync(join(dir, 'adir'))
  const d = write('dir.conf', 'events {}\ninclude adir;\n')
  assertFailed(t, await runEdge(['-t', '-c', d]), d,
    `edge: [emerg] pread() "${join(dir, 'adir')}" failed (21: Is a directory) in ${d}:2`)
  symlinkSync('loop', join(dir, 'loop'))
  const l = write('loop.conf', 'events {}\ninclude loop;\n')
  assertFailed(t, await runEdge(['-t', '-c', l]), l,
    `edge: [emerg] open() "${join(dir, 'loop')}" failed (40: Too many levels of symbolic links) in ${l}:2`)
  const missing = join(dir, 'none.conf')
  const r = await runEdge(['-t', '-c', missing])
  t.equal(r.code, 1)
  t.equal(r.stderr, `edge: [emerg] open() "${missing}" failed (2: No such file or directory)\n` +
    `edge: configuration file ${missing} test failed\n`, 'the main file has no including line')
})

t.test('a file without read permission', { skip: process.platform !== 'linux' && 'needs setpriv' }, async (t) => {
  const secret = write('secret.conf', 'events {}\n')
  chmodSync(secret, 0o000)
  const f = write('perm.conf', 'events {}\ninclude secret.conf;\n')
  // Root reads anything: run edge as nobody then, by PID like any other run.
  const args = ['-t', '-c', f]
  const r = process.getuid?.() === 0 ? await runAs('nobody', args) : await runEdge(args)
  assertFailed(t, r, f, `edge: [emerg] open() "${secret}" failed (13: Permission denied) in ${f}:2`)
})

function runAs(user: string, args: string[]): Promise<RunResult> {
  return runProcess('setpriv', ['--reuid', user, '--regid', 'nogroup', '--clear-groups', process.execPath, edgeBin, ...args])
}
