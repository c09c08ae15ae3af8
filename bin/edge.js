#!/usr/bin/env node
// Entry point: the compiled CLI (npm install / npm ci run `npm run build` via "prepare").
// Node opens its inspector on SIGUSR1 unless the signal has a listener: one is installed before
// anything else loads, so no signal ever reaches the inspector (nginx's USR1 reopens logs).
process.on('SIGUSR1', () => {})
const { main } = await import('../dist/lib/cli.js')

const code = main(process.argv.slice(2))
if (code !== null) process.exitCode = code
