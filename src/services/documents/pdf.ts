/**
 * A tiny PDF writer for synthetic documents: one A4 page of Helvetica text (WinAnsi, so Norwegian
 * letters print), with a correct cross-reference table. About 1–2 KB per document.
 */
const WIDTH = 595;
const HEIGHT = 842;
const MARGIN = 56;
const MAX_LINE = 92;

/** Escapes a line for a PDF string literal; characters outside Latin-1 become '?'. */
function pdfString(text: string): string {
  return `(${text.replace(/[^\x20-\xff]/g, '?').replace(/[\\()]/g, (c) => `\\${c}`)})`;
}

function wrap(paragraph: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of paragraph.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > MAX_LINE) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}

export function textPdf(title: string, paragraphs: string[]): Buffer {
  const body = paragraphs.flatMap((p) => [...wrap(p), '']);
  const ops = [
    'BT',
    `/F1 14 Tf 18 TL ${MARGIN} ${HEIGHT - MARGIN} Td`,
    `${pdfString(title)} Tj T*`,
    '/F1 10 Tf 14 TL T*',
    ...body.map((l) => `${pdfString(l)} Tj T*`),
    'ET',
  ].join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${WIDTH} ${HEIGHT}] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    `<< /Length ${Buffer.byteLength(ops, 'latin1')} >>\nstream\n${ops}\nendstream`,
  ];
  // Latin-1 throughout: one byte per character, so string lengths are byte offsets.
  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
