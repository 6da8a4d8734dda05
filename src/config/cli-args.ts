import { parseArgs } from 'node:util';

export type CliCommand =
  | { readonly kind: 'up'; readonly files: string[]; readonly port?: number }
  | { readonly kind: 'validate'; readonly files: string[] }
  | { readonly kind: 'serve' }
  | { readonly kind: 'node' }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'error'; readonly message: string };

export const DEFAULT_MANIFEST_FILE = 'slimfaas.yaml';

export const USAGE = `Usage:
  slimfaas up [-f FILE]... [--port N]   start SlimFaas and the functions of a local manifest
  slimfaas validate [-f FILE]...        check a local manifest, then exit
  slimfaas serve                        run against Kubernetes
  slimfaas -h | --help
  slimfaas --version

Options:
  -f, --file FILE  manifest file (default: ${DEFAULT_MANIFEST_FILE}); repeat it to deep-merge
                   several files, in order
  --port N         entrypoint port for \`up\` (0-65535, 0 = any free port);
                   overrides cluster.entrypointPort
  -h, --help       show this help
  --version        print the version`;

const OPTIONS = {
  file: { type: 'string', short: 'f', multiple: true },
  port: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** Which options each command accepts (`help` and `version` are accepted everywhere). */
const COMMAND_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  up: ['file', 'port'],
  validate: ['file'],
  serve: [],
  // Hidden (not in USAGE): one node of a local cluster, started by `up` when cluster.nodes > 1.
  node: [],
};

/**
 * Parses `slimfaas` arguments (without `node` and the script). Never throws and never exits:
 * every mistake becomes `{kind: 'error'}` with a message that ends with the usage text.
 */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: splitShortEquals(argv),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usageError(error instanceof Error ? firstSentence(error.message) : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help', text: USAGE };
  if (values.version === true) return { kind: 'version' };
  const [command, ...extra] = positionals;
  if (command === undefined) return { kind: 'help', text: USAGE };
  const allowed = COMMAND_OPTIONS[command];
  if (allowed === undefined) return usageError(`unknown command "${command}"`);
  if (extra.length > 0) return usageError(`unexpected argument "${extra[0]}"`);
  const misplaced = (['file', 'port'] as const).find(
    (name) => values[name] !== undefined && !allowed.includes(name),
  );
  if (misplaced !== undefined) return usageError(`${command} does not take --${misplaced}`);
  const files = values.file ?? [DEFAULT_MANIFEST_FILE];
  if (command === 'serve') return { kind: 'serve' };
  if (command === 'node') return { kind: 'node' };
  if (command === 'validate') return { kind: 'validate', files };
  if (values.port === undefined) return { kind: 'up', files };
  const port = parsePort(values.port);
  if (port === undefined)
    return usageError(`--port: expected an integer between 0 and 65535, got "${values.port}"`);
  return { kind: 'up', files, port };
}

function parsePort(raw: string): number | undefined {
  if (!/^\d{1,5}$/.test(raw)) return undefined;
  const port = Number(raw);
  return port <= 65535 ? port : undefined;
}

/** node:util parseArgs reads `-f=x` as the value "=x"; users mean "x", as with `--file=x`. */
function splitShortEquals(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  return argv.flatMap((arg, index) => {
    const match = /^-f=(.*)$/s.exec(arg);
    return match?.[1] !== undefined && (end === -1 || index < end) ? ['-f', match[1]] : [arg];
  });
}

/** parseArgs messages go on with advice about `--`; the first sentence is the useful part. */
function firstSentence(message: string): string {
  return message.split(/\.\s/)[0] ?? message;
}

function usageError(problem: string): CliCommand {
  return { kind: 'error', message: `slimfaas: ${problem}\n\n${USAGE}` };
}
