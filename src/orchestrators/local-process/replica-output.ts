import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** How long after its process exits a replica's output may still drain before it is cut. */
const DRAIN_AFTER_EXIT_MS = 1000;

/**
 * A replica's stdout and stderr, line by line: each line is prefixed `<function>-<replica> | `,
 * appended to the replica's log file and passed to `echo`.
 */
export class ReplicaOutput {
  readonly #prefix: string;
  readonly #file: WriteStream;
  readonly #echo: ((line: string) => void) | undefined;
  readonly #streams: Readable[] = [];
  readonly #ended: Promise<void>[] = [];

  constructor(options: { prefix: string; logFile: string; echo: ((line: string) => void) | undefined }) {
    this.#prefix = `${options.prefix} | `;
    this.#echo = options.echo;
    this.#file = createWriteStream(options.logFile, { flags: 'a' });
    // A log file that cannot be written must not take the replica down; the lines still reach `echo`.
    this.#file.on('error', () => undefined);
  }

  attach(stream: Readable | null): void {
    if (stream === null) return;
    this.#streams.push(stream);
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    this.#ended.push(new Promise((resolve) => lines.once('close', resolve)));
    lines.on('line', (text) => this.#write(text));
  }

  /** Waits for the streams to end (bounded: a grandchild outside the group may hold them), then closes the file. */
  async finish(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, DRAIN_AFTER_EXIT_MS);
    });
    await Promise.race([Promise.all(this.#ended), cut]);
    clearTimeout(timer);
    for (const stream of this.#streams) stream.destroy();
    await new Promise<void>((resolve) => this.#file.end(resolve));
  }

  #write(text: string): void {
    const line = this.#prefix + text;
    if (this.#file.writable) this.#file.write(`${line}\n`);
    this.#echo?.(line);
  }
}
