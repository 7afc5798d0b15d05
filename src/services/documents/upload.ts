import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { FhirError, issue } from '../../fhir/outcome.ts';
import { ContentSniffer } from './content-type.ts';

/** The 413 every path gives for a document over DOCUMENT_MAX_BYTES. */
export function tooLarge(maxBytes: number, expression?: string): FhirError {
  return new FhirError(413, [
    issue('too-costly', 'document-too-large', `The document is larger than the limit of ${maxBytes} bytes (DOCUMENT_MAX_BYTES); nothing was stored`, expression),
  ]);
}

export interface Measured {
  contentType: string;
  size: number;
  sha1: string;
}

/** Type, size and hash of a document held in memory (a decoded ITI-65 attachment). */
export function measure(bytes: Buffer, declared: string | undefined, maxBytes: number, expression?: string): Measured {
  if (bytes.length > maxBytes) throw tooLarge(maxBytes, expression);
  const sniffer = new ContentSniffer(declared, expression);
  sniffer.feed(bytes);
  return { contentType: sniffer.finish(), size: bytes.length, sha1: createHash('sha1').update(bytes).digest('base64') };
}

/**
 * Streams a raw request body to a temporary file, hashing and checking it on the way, and stops
 * at the size limit: the caller stores the file in one short transaction afterwards, so a slow
 * client never holds the database. The file is the caller's to remove (`dispose`).
 */
export async function spool(body: NodeJS.ReadableStream, declared: string | undefined, maxBytes: number): Promise<Measured & { path: string; dispose(): Promise<void> }> {
  const sniffer = new ContentSniffer(declared);
  const hash = createHash('sha1');
  const file = path.join(os.tmpdir(), `samhandling-upload-${randomUUID()}`);
  const dispose = () => fsp.rm(file, { force: true });
  const out = fs.createWriteStream(file, { flags: 'wx' });
  // A write failing (or completing after we stopped) must reach this function, never the process.
  let writeError: Error | undefined;
  out.on('error', (e) => (writeError ??= e));
  const settled = () => new Promise<void>((resolve) => (out.closed ? resolve() : out.once('close', () => resolve())));
  let size = 0;
  try {
    // The request stays open when we stop early, so the caller can still drain it and answer.
    for await (const chunk of (body as unknown as Readable).iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge(maxBytes);
      sniffer.feed(chunk);
      hash.update(chunk);
      if (writeError) throw writeError;
      if (!out.write(chunk)) await new Promise<void>((resolve) => (out.once('drain', () => resolve()), out.once('close', () => resolve())));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (writeError) throw writeError;
    return { contentType: sniffer.finish(), size, sha1: hash.digest('base64'), path: file, dispose };
  } catch (err) {
    out.destroy();
    await settled();
    await dispose();
    throw err;
  }
}
