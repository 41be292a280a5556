// Reading a config without trusting its size: a cluster config is a few kilobytes, so anything past
// MAX_CONFIG_BYTES (a device like /dev/zero, a wrong file, a runaway pipe) is refused after reading at
// most that much, with one clear line, instead of exhausting memory.
import { open } from 'node:fs/promises';
import { ExitCode, NkdError } from '../errors.js';

export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

function tooLarge(name: string): NkdError {
  return new NkdError(
    `config ${name} is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB; a cluster config is a few kilobytes: is it the right file?`,
    ExitCode.Usage,
  );
}

/** The file's text; a missing, unreadable or oversized file is a usage error naming it. */
export async function readConfigFile(file: string): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (cause) {
    throw cannotRead(file, cause);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new NkdError(`cannot read config ${file}: is a directory`, ExitCode.Usage);
    if (st.isFile() && st.size > MAX_CONFIG_BYTES) throw tooLarge(file);
    // Devices and pipes have no size up front: read up to one byte past the limit.
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_CONFIG_BYTES) throw tooLarge(file);
    }
    return buffer.subarray(0, length).toString('utf8');
  } catch (cause) {
    if (cause instanceof NkdError) throw cause;
    throw cannotRead(file, cause);
  } finally {
    await handle.close();
  }
}

/** Stdin's text, refused past the limit without reading the rest. */
export async function readConfigStdin(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stdin) {
    length += (chunk as Buffer).length;
    if (length > MAX_CONFIG_BYTES) {
      stdin.destroy();
      throw tooLarge('<stdin>');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function cannotRead(file: string, cause: unknown): NkdError {
  const code = (cause as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
        ? 'is a directory'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'ENOTDIR'
            ? 'a part of the path is not a directory'
            : `${code ?? 'error'}`;
  return new NkdError(`cannot read config ${file}: ${why}`, ExitCode.Usage);
}
