import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { asDoctor, asGp, fetchBytes, provideBundle, published, samplePdf, startDocumentServer, type DocWorld } from './svc-documents-fixtures.ts';

/**
 * Both document stores (PostgreSQL chunks, files) on the real server: a 20 MB document round-trips
 * byte for byte, one over DOCUMENT_MAX_BYTES is refused with a clear error and leaves nothing
 * behind (no row, no chunk, no file), and a failed transaction leaves no file.
 */
const MB = 1024 * 1024;
const LIMIT = 21 * MB;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const bigPdf = (size: number) => Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(size - 9)]);

/** The store scenarios, run once per store by svc-documents-store-postgres/-file.test.ts. */
export function storeScenarios(store: 'postgres' | 'file') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samhandling-docs-'));
  let w: DocWorld;
  after(async () => {
    await w?.s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const state = async () => ({
    docs: Number((await w.s.platform.db.query<{ n: number }>(`select count(*)::int as n from resource where type = 'DocumentReference' and not deleted`))[0].n),
    content: await w.s.platform.db.query(`select id, size, sha1, location from document_content order by id`),
    chunks: Number((await w.s.platform.db.query<{ n: number }>(`select count(*)::int as n from document_chunk`))[0].n),
    files: fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [],
  });

  test(`${store} store: a 20 MB document round-trips byte for byte, raw and as ITI-65 base64`, async () => {
    w = await startDocumentServer({ LOG_LEVEL: process.env.DOC_LOG ?? 'silent', DOCUMENT_STORE: store, DOCUMENT_DIR: dir, DOCUMENT_MAX_BYTES: String(LIMIT), MAX_BODY_BYTES: String(40 * MB) });
    const first = await w.s.fhir('/', { method: 'POST', body: provideBundle({ bytes: samplePdf('utkast'), contentType: 'application/pdf' }), headers: await asDoctor(w) });
    assert.equal(first.status, 200, first.text);
    const { url } = published(first.body);
    const s0 = await state();
    assert.equal(s0.files.length, store === 'file' ? 1 : 0);
    assert.equal(s0.chunks, store === 'postgres' ? 1 : 0);

    const big = bigPdf(20 * MB);
    const put = await fetch(url, { method: 'PUT', body: new Uint8Array(big), headers: { ...(await asDoctor(w)), 'content-type': 'application/pdf' } });
    assert.equal(put.status, 200, await put.clone().text());
    assert.equal((await put.json()).content[0].attachment.size, big.length);
    const got = await fetchBytes(url, await asGp(w));
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-length'), String(big.length));
    assert.equal(sha(got.bytes), sha(big), 'byte for byte');
    const s1 = await state();
    assert.equal(s1.files.length, store === 'file' ? 1 : 0, 'the replaced file is gone');
    assert.equal(s1.chunks, store === 'postgres' ? 20 : 0);

    const other = bigPdf(20 * MB);
    const res = await w.s.fhir('/', { method: 'POST', body: provideBundle({ bytes: other, contentType: 'application/pdf' }), headers: await asDoctor(w) });
    assert.equal(res.status, 200, res.text.slice(0, 500));
    const again = await fetchBytes(published(res.body).url, await asGp(w));
    assert.equal(sha(again.bytes), sha(other));
  });

  test(`${store} store: a document over the limit is refused with a clear error and nothing is stored`, async () => {
    const before = await state();
    const target = before.content[0].id;
    const base = w.s.base;
    const over = bigPdf(LIMIT + MB);
    const put = await fetch(`${base}/Binary/${target}`, { method: 'PUT', body: new Uint8Array(over), headers: { ...(await asDoctor(w)), 'content-type': 'application/pdf' } });
    const outcome = await put.json();
    assert.equal(put.status, 413, JSON.stringify(outcome));
    assert.equal(outcome.issue[0].details.coding[0].code, 'document-too-large');
    assert.match(outcome.issue[0].diagnostics, /larger than the limit of 22020096 bytes/);

    // Without a Content-Length the limit is found while streaming.
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < over.length; i += MB) c.enqueue(new Uint8Array(over.subarray(i, i + MB)));
        c.close();
      },
    });
    const chunked = await fetch(`${base}/Binary/${target}`, { method: 'PUT', body: stream, duplex: 'half', headers: { ...(await asDoctor(w)), 'content-type': 'application/pdf' } } as RequestInit);
    assert.equal(chunked.status, 413, await chunked.text());

    const bundle = await w.s.fhir('/', { method: 'POST', body: provideBundle({ bytes: over, contentType: 'application/pdf', inline: true }), headers: await asDoctor(w) });
    assert.equal(bundle.status, 413, bundle.text.slice(0, 300));
    assert.equal(bundle.body.issue[0].details.coding[0].code, 'document-too-large');
    assert.deepEqual(bundle.body.issue[0].expression, ['Bundle.entry[1].resource.content[0].attachment']);

    // A transaction that fails after the content was staged leaves no file behind.
    const unknownPatient = await w.s.fhir('/', { method: 'POST', body: provideBundle({ bytes: samplePdf('x'), contentType: 'application/pdf', patient: '01010150164' }), headers: await asDoctor(w) });
    assert.ok(unknownPatient.status >= 400 && unknownPatient.status < 500, unknownPatient.text);

    assert.deepEqual(await state(), before, 'no row, no chunk, no file');
  });
}
