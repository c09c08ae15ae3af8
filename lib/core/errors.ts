// Errors with stable codes. Every error a user can meet is one of these; the code names the
// layer and the reason, the message is the text the user reads (nginx's wording where nginx
// has one).

export type ErrorCode =
  | 'ERR_CONF_SYNTAX'
  | 'ERR_CONF_DIRECTIVE'
  | 'ERR_CONF_VALUE'
  | 'ERR_CONF_FILE'
  | 'ERR_CONF_INCLUDE_CYCLE'
  | 'ERR_CLI_OPTION'
  | 'ERR_AMF_DECODE'
  | 'ERR_RTMP_HANDSHAKE'
  | 'ERR_RTMP_CHUNK'
  | 'ERR_RTMP_MESSAGE'
  | 'ERR_RTMP_COMMAND'
  | 'ERR_RTMP_TIMEOUT'
  | 'ERR_FLV_FORMAT'
  | 'ERR_HTTP_REQUEST'
  | 'ERR_HTTP_RESPONSE'
  | 'ERR_NOTIFY'

export class EdgeError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message)
    this.name = new.target.name
  }
}

/** Where in the configuration something was written: nginx's "in <file>:<line>". */
export interface ConfLocation {
  readonly file: string
  readonly line: number
}

export type ConfErrorLevel = 'emerg' | 'warn'

/**
 * A configuration error. Printed as `edge: [<level>] <message> in <file>:<line>`; a null
 * location prints without the " in ..." part, as nginx does for errors outside any file.
 * Most are [emerg]; PingOS's notify directives report their reason at [warn] and fail.
 */
export class ConfError extends EdgeError {
  constructor(
    readonly where: ConfLocation | null,
    message: string,
    readonly level: ConfErrorLevel = 'emerg',
    code: ErrorCode = 'ERR_CONF_DIRECTIVE',
  ) {
    super(code, message)
  }

  /** the nginx-shaped line, without the program-name prefix */
  format(): string {
    const at = this.where === null ? '' : ` in ${formatLocation(this.where)}`
    return `[${this.level}] ${this.message}${at}`
  }
}

export function formatLocation(where: ConfLocation): string {
  return where.file === '' ? 'command line' : `${where.file}:${where.line}`
}

/** A peer broke its protocol: closes that one session, with one log line. */
export class ProtocolError extends EdgeError {}
