// Every file kvmsim writes (--trace, --ftrace, --save) goes through here, so that no run leaves half a file:
//
// - the data goes to a temporary file in the same directory (`.NAME.PID.RANDOM.tmp`), renamed onto the
//   final path only when the command succeeded (`commit`); a rename within a directory is atomic, so the
//   final path holds either its old content or the whole new file;
// - on an error the temporary file is removed (`abort`, and a process 'exit' hook for anything not
//   committed), so nothing is left at the final path;
// - on SIGINT, SIGTERM or SIGKILL the process may be inside a synchronous simulation, where Node runs no
//   signal handler; a small detached janitor process holds a pipe to this one and removes the temporary
//   file when the pipe closes (this process ended) and the file was not renamed;
// - a path that is not a regular file (/dev/null, /dev/full, a FIFO, /dev/stdout) is written in place:
//   there is nothing to rename onto;
// - an output path that is one of the command's input files is refused, as are a missing directory and a
//   directory. Every failure is a UsageError (one line naming the flag and the path, exit 2).
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../scenario/usage_error.ts';

/** A file being written: `write` as often as needed, then `commit` (or `abort`). */
export interface OutputFile {
  readonly path: string;
  /** Text (UTF-8) or bytes as they are. */
  write(text: string | Uint8Array): void;
  /** Bytes as they are (a compressed output). */
  writeBytes(bytes: Uint8Array): void;
  commit(): void;
  abort(): void;
}

/** An output that cannot be opened or written: one line naming the flag, the path and the reason. */
export class OutputError extends UsageError {
  override name = 'OutputError';
}

const open = new Set<OutputFile>();
let exitHook = false;

const reason = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOSPC':
      return 'no space left on the device (ENOSPC)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'EROFS':
      return 'read-only file system (EROFS)';
    case 'EISDIR':
      return 'is a directory (EISDIR)';
    case 'ENOENT':
      return 'no such file or directory (ENOENT)';
    case 'EPIPE':
      return 'the reader closed the pipe (EPIPE)';
    default:
      return code ?? String((e as Error).message ?? e).split('\n')[0]!;
  }
};

function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * Starts a detached process that removes `tmp` once this process has ended, if it is still there. It
 * reads its stdin until EOF, which the kernel delivers when this process exits for whatever reason.
 */
function startJanitor(tmp: string): void {
  // node:child_process is loaded here, when an output file is opened, not at start (src/cli/main.ts).
  const { spawn } = createRequire(import.meta.url)(
    'node:child_process',
  ) as typeof import('node:child_process');
  const code =
    "process.stdin.resume();process.stdin.on('end',()=>{try{require('fs').unlinkSync(process.argv[1])}catch{}process.exit(0)});process.stdin.on('error',()=>{})";
  try {
    const child = spawn(process.execPath, ['-e', code, tmp], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', () => {});
    child.stdin?.on('error', () => {});
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  } catch {
    // Without a janitor a kill can leave the temporary file (never the final path): not worth failing for.
  }
}

/**
 * Opens `path` (given by `flag`) for writing. `inputs` are the command's input files, which an output must
 * not overwrite. Throws an OutputError when the path cannot be used.
 */
export function openOutput(flag: string, path: string, inputs: readonly string[] = []): OutputFile {
  const fail = (why: string): never => {
    throw new OutputError(`${flag}: ${JSON.stringify(path)}: ${why}`);
  };
  if (path === '') fail('expected a file path');
  for (const input of inputs)
    if (sameFile(path, input))
      fail(
        `is also ${JSON.stringify(input)}, an input or another output of this command; choose another path`,
      );
  let existing: ReturnType<typeof statSync> | undefined;
  try {
    existing = statSync(path);
  } catch {
    existing = undefined;
  }
  if (existing?.isDirectory()) fail('is a directory; expected a file path');
  const dir = dirname(resolve(path));
  if (existing === undefined) {
    let d: ReturnType<typeof statSync> | undefined;
    try {
      d = statSync(dir);
    } catch {
      d = undefined;
    }
    if (d === undefined) fail(`the directory ${JSON.stringify(dirname(path))} does not exist`);
    else if (!d.isDirectory()) fail(`${JSON.stringify(dirname(path))} is not a directory`);
  }
  // A device, FIFO or socket: written in place (there is no file to replace).
  const inPlace = existing !== undefined && !existing.isFile();
  const target = inPlace
    ? path
    : join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(target, inPlace ? 'w' : 'wx', 0o666);
  } catch (e) {
    return fail(`cannot create the file: ${reason(e)}`);
  }
  if (!inPlace) startJanitor(target);
  let state: 'open' | 'done' = 'open';
  const close = () => {
    try {
      closeSync(fd);
    } catch {
      // already closed or the device refuses: nothing more to do
    }
  };
  const out: OutputFile = {
    path,
    write(text: string | Uint8Array) {
      out.writeBytes(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
    },
    writeBytes(buf: Uint8Array) {
      if (state !== 'open') return;
      try {
        for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
      } catch (e) {
        out.abort();
        fail(`cannot write: ${reason(e)}`);
      }
    },
    commit() {
      if (state !== 'open') return;
      state = 'done';
      open.delete(out);
      close();
      if (inPlace) return;
      try {
        renameSync(target, path);
      } catch (e) {
        try {
          unlinkSync(target);
        } catch {}
        fail(`cannot rename the finished file into place: ${reason(e)}`);
      }
    },
    abort() {
      if (state !== 'open') return;
      state = 'done';
      open.delete(out);
      close();
      if (!inPlace)
        try {
          unlinkSync(target);
        } catch {}
    },
  };
  open.add(out);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', abortAllOutputs);
  }
  return out;
}

/** Writes `text` to `path` atomically (see openOutput). */
export function writeOutput(flag: string, path: string, text: string, inputs: readonly string[] = []): void {
  const f = openOutput(flag, path, inputs);
  f.write(text);
  f.commit();
}

/** Removes the temporary file of every output not committed yet (an error ended the command). */
export function abortAllOutputs(): void {
  for (const f of [...open]) f.abort();
}
