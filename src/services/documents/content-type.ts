import { FhirError, issue } from '../../fhir/outcome.ts';

/**
 * Journal documents are PDF or plain text (docs/services/documents.md). The declared media type is
 * checked against the bytes themselves, as they arrive: a PDF starts with its `%PDF-` header, text
 * is well-formed UTF-8 without NUL bytes. What is stored is the canonical type found here.
 */
export const PDF = 'application/pdf';
export const TEXT = 'text/plain; charset=utf-8';
const PDF_MAGIC = Buffer.from('%PDF-');
/** Declared types that say "look at the bytes". */
const UNSPECIFIC = new Set(['application/octet-stream', 'binary/octet-stream']);

function mediaTypeOf(contentType: string | undefined): { type?: string; charset?: string } {
  if (!contentType) return {};
  const [type, ...params] = contentType.split(';').map((s) => s.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
  return { type: type || undefined, charset };
}

/** Refuses a declared type that is neither PDF nor text before any byte is read (415). */
export function checkDeclaredType(contentType: string | undefined, expression?: string): void {
  const { type, charset } = mediaTypeOf(contentType);
  if (!type || UNSPECIFIC.has(type) || type === PDF) return;
  if (type === 'text/plain') {
    if (charset && !['utf-8', 'utf8', 'us-ascii'].includes(charset))
      throw unsupported(`Text documents must be UTF-8; charset ${charset} is not accepted`, expression);
    return;
  }
  throw unsupported(`Documents must be PDF (application/pdf) or text (text/plain), not ${type}`, expression);
}

function unsupported(message: string, expression?: string) {
  return new FhirError(415, [issue('not-supported', 'unsupported-document-type', message, expression)]);
}

function mismatch(message: string, expression?: string) {
  return new FhirError(422, [issue('invalid', 'document-content-mismatch', message, expression)]);
}

/** Follows the bytes of one document as they stream past and names their type at the end. */
export class ContentSniffer {
  private head = Buffer.alloc(0);
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  private text = true;
  private readonly declared: string | undefined;

  constructor(
    contentType: string | undefined,
    private readonly expression?: string
  ) {
    checkDeclaredType(contentType, expression);
    const { type } = mediaTypeOf(contentType);
    this.declared = type && !UNSPECIFIC.has(type) ? type : undefined;
  }

  feed(chunk: Uint8Array): void {
    if (this.head.length < PDF_MAGIC.length) this.head = Buffer.concat([this.head, Buffer.from(chunk.subarray(0, PDF_MAGIC.length))]).subarray(0, PDF_MAGIC.length);
    if (!this.text || this.declared === PDF) return;
    if (chunk.includes(0)) this.text = false;
    else {
      try {
        this.utf8.decode(chunk, { stream: true });
      } catch {
        this.text = false;
      }
    }
  }

  /** The canonical content type of what was fed, or a 422 when the bytes are not what was declared. */
  finish(): string {
    const isPdf = this.head.equals(PDF_MAGIC);
    if (this.text && this.declared !== PDF) {
      try {
        this.utf8.decode();
      } catch {
        this.text = false;
      }
    }
    if (this.declared === PDF) {
      if (!isPdf) throw mismatch('The content is declared application/pdf but does not start with a PDF header (%PDF-)', this.expression);
      return PDF;
    }
    if (this.declared === 'text/plain') {
      if (!this.text) throw mismatch('The content is declared text/plain but is not UTF-8 text', this.expression);
      return TEXT;
    }
    if (isPdf) return PDF;
    if (this.text) return TEXT;
    throw unsupported('The content is neither PDF nor UTF-8 text', this.expression);
  }
}
