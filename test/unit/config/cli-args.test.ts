import { describe, expect, it } from 'vitest';
import { parseCliArgs, USAGE } from '../../../src/config/cli-args.js';

function expectError(argv: string[]): string {
  const command = parseCliArgs(argv);
  if (command.kind !== 'error') throw new Error(`expected an error, got ${JSON.stringify(command)}`);
  return command.message;
}

describe('parseCliArgs', () => {
  it('defaults to slimfaas.yaml when no file is given', () => {
    expect(parseCliArgs(['up'])).toEqual({ kind: 'up', files: ['slimfaas.yaml'] });
    expect(parseCliArgs(['validate'])).toEqual({ kind: 'validate', files: ['slimfaas.yaml'] });
  });

  it('collects repeated files in order, in every spelling', () => {
    expect(
      parseCliArgs(['up', '-f', 'a.yaml', '--file', 'b.yaml', '-f=c.yaml', '--file=d.yaml', '-fe.yaml']),
    ).toEqual({
      kind: 'up',
      files: ['a.yaml', 'b.yaml', 'c.yaml', 'd.yaml', 'e.yaml'],
    });
  });

  it('accepts options before the command', () => {
    expect(parseCliArgs(['-f', 'a.yaml', 'validate'])).toEqual({ kind: 'validate', files: ['a.yaml'] });
  });

  it('reads --port for up, 0 and 65535 included', () => {
    expect(parseCliArgs(['up', '--port', '0'])).toEqual({ kind: 'up', files: ['slimfaas.yaml'], port: 0 });
    expect(parseCliArgs(['up', '--port=65535', '-f', 'x.yaml'])).toEqual({
      kind: 'up',
      files: ['x.yaml'],
      port: 65535,
    });
  });

  it('rejects a port that is not an integer between 0 and 65535', () => {
    for (const port of ['65536', '-1', 'abc', '80.5', '']) {
      expect(expectError(['up', `--port=${port}`])).toContain(
        `--port: expected an integer between 0 and 65535, got "${port}"`,
      );
    }
  });

  it('parses serve, help and version', () => {
    expect(parseCliArgs(['serve'])).toEqual({ kind: 'serve' });
    expect(parseCliArgs(['--help'])).toEqual({ kind: 'help', text: USAGE });
    expect(parseCliArgs(['up', '-h'])).toEqual({ kind: 'help', text: USAGE });
    expect(parseCliArgs(['--version'])).toEqual({ kind: 'version' });
  });

  it('prints the help when no command is given', () => {
    expect(parseCliArgs([])).toEqual({ kind: 'help', text: USAGE });
  });

  it('rejects unknown flags, with the usage text', () => {
    const message = expectError(['up', '--verbose']);
    expect(message).toContain("Unknown option '--verbose'");
    expect(message).toContain(USAGE);
  });

  it('rejects unknown commands and extra arguments', () => {
    expect(expectError(['local', 'up'])).toMatch(/^slimfaas: unknown command "local"/);
    expect(expectError(['up', 'extra.yaml'])).toMatch(/^slimfaas: unexpected argument "extra.yaml"/);
  });

  it('rejects options the command does not take', () => {
    expect(expectError(['validate', '--port', '1'])).toMatch(/^slimfaas: validate does not take --port/);
    expect(expectError(['serve', '-f', 'a.yaml'])).toMatch(/^slimfaas: serve does not take --file/);
  });

  it('rejects -f without a value', () => {
    expect(expectError(['up', '-f'])).toMatch(/^slimfaas: Option '-f, --file <value>' argument missing/);
  });

  it('documents every command and option in the usage text', () => {
    for (const word of [
      'slimfaas up',
      'slimfaas validate',
      'slimfaas serve',
      '--file',
      '--port',
      '--help',
      '--version',
    ]) {
      expect(USAGE).toContain(word);
    }
  });
});
