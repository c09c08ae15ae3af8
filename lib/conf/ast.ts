// A parsed config statement, crossplane's shape: `name args...;` or `name args... { block }`.

export interface Statement {
  /** the directive name (first argument as nginx counts them) */
  readonly name: string
  readonly args: readonly string[]
  /** which arguments were written in quotes; the printer keeps them quoted */
  readonly quoted: readonly boolean[]
  /** null for `name args;`, the inner statements for `name args { ... }` */
  readonly block: readonly Statement[] | null
  readonly file: string
  /** the line of the terminating ";" or "{", which is where nginx reports errors */
  readonly line: number
}
