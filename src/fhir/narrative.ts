import sax from 'sax';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue } from './outcome.ts';

/**
 * The rules R4 sets for a narrative's XHTML (http://hl7.org/fhir/R4/narrative.html#xhtml), which FHIRPath's
 * `htmlChecks()` stands for in the invariants txt-1 and txt-2 and which @medplum/core evaluates as always true:
 *
 * - well-formed XML whose root is a `div` in the XHTML namespace, with only the entities XML itself defines;
 * - only the basic formatting elements of HTML 4.0 chapters 7-12, links, images and style attributes: no head or
 *   body, scripts, forms, frames, objects, external stylesheets or event attributes (`onclick`);
 * - some non-whitespace content.
 *
 * Clients render narratives as HTML, so a server that stored a script there would hand it to every reader. The
 * element and attribute lists are those HTML 4.0 chapters name, as the HL7 validator reads them (it also allows
 * the font-style elements b, i, tt, big, small and hr).
 */

const XHTML = 'http://www.w3.org/1999/xhtml';
const MALFORMED = Symbol('malformed');

const ELEMENTS = new Set(
  (
    'div span p br hr h1 h2 h3 h4 h5 h6 address pre blockquote q cite em strong dfn code samp kbd var abbr acronym ' +
    'sub sup bdo b i tt big small ul ol li dl dt dd table caption thead tbody tfoot colgroup col tr th td a img map area'
  ).split(' ')
);

const GLOBAL_ATTRIBUTES = new Set(['id', 'class', 'style', 'title', 'lang', 'xml:lang', 'dir', 'accesskey', 'tabindex']);
const CELL = ['align', 'valign', 'char', 'charoff'];
const ELEMENT_ATTRIBUTES: Record<string, Set<string>> = Object.fromEntries(
  Object.entries({
    a: ['href', 'name', 'rel', 'rev', 'hreflang', 'type', 'charset', 'shape', 'coords'],
    img: ['src', 'alt', 'width', 'height', 'longdesc', 'usemap', 'ismap'],
    map: ['name'],
    area: ['shape', 'coords', 'href', 'nohref', 'alt'],
    blockquote: ['cite'],
    q: ['cite'],
    ol: ['start', 'type'],
    ul: ['type'],
    li: ['type', 'value'],
    table: ['summary', 'width', 'border', 'frame', 'rules', 'cellspacing', 'cellpadding', 'align'],
    colgroup: ['span', 'width', ...CELL],
    col: ['span', 'width', ...CELL],
    thead: CELL,
    tbody: CELL,
    tfoot: CELL,
    tr: CELL,
    th: ['abbr', 'axis', 'headers', 'scope', 'rowspan', 'colspan', 'width', 'height', 'nowrap', ...CELL],
    td: ['abbr', 'axis', 'headers', 'scope', 'rowspan', 'colspan', 'width', 'height', 'nowrap', ...CELL],
  }).map(([element, names]) => [element, new Set(names)])
);

/** A link or image source that would run code when followed or loaded (control characters and blanks ignored). */
function runsCode(attribute: string, value: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(value.replace(/[\u0000-\u0020]/g, '').toLowerCase())?.[1];
  if (scheme === 'javascript' || scheme === 'vbscript') return true;
  // An inline image is an image; inline data followed as a link can be a page with scripts.
  return scheme === 'data' && attribute !== 'src';
}

/**
 * What sax, in its namespace mode, takes time quadratic in: the attributes of one tag (each new one is looked for
 * among those before it; 100,000 in a 500 kB div took 10 s) and namespace declarations nested in one another
 * (each lookup walks them all; 8,000 took 2 s). A narrative needs a handful of either.
 */
const MAX_ATTRIBUTES_PER_TAG = 64;
const MAX_NAMESPACE_DECLARATIONS = 64;

/** Why `div` is beyond those bounds, found in one pass over it (quotes, comments and CDATA heeded); undefined within. */
function beyondParserBounds(div: string): string | undefined {
  let declarations = 0;
  let i = div.indexOf('<');
  while (i >= 0 && i < div.length) {
    if (div.startsWith('<!--', i) || div.startsWith('<![CDATA[', i)) {
      const end = div.indexOf(div[i + 2] === '-' ? '-->' : ']]>', i);
      if (end < 0) return undefined; // the parser reports it
      i = div.indexOf('<', end);
      continue;
    }
    let attributes = 0;
    let quote = 0;
    let j = i + 1;
    for (; j < div.length; j++) {
      const c = div.charCodeAt(j);
      if (quote) {
        if (c === quote) quote = 0;
      } else if (c === 34 || c === 39) quote = c; // " '
      else if (c === 61 /* = */) {
        if (++attributes > MAX_ATTRIBUTES_PER_TAG) return `a tag has more than ${MAX_ATTRIBUTES_PER_TAG} attributes`;
        if (/xmlns(:[^\s=]*)?\s*$/.test(div.slice(Math.max(i, j - 64), j)) && ++declarations > MAX_NAMESPACE_DECLARATIONS)
          return `it declares namespaces more than ${MAX_NAMESPACE_DECLARATIONS} times`;
      } else if (c === 62 /* > */) break;
    }
    i = div.indexOf('<', j);
  }
  return undefined;
}

/** Issues with the narrative `div` at `path` (FHIRPath); empty when it keeps the rules. */
export function narrativeIssues(div: string, path: string): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const invalid = (code: string, message: string) => issues.push(issue('invariant', code, `Narrative ${path}: ${message}`, path));
  const beyond = beyondParserBounds(div);
  if (beyond) {
    invalid('narrative-too-complex', `${beyond}, more than a narrative needs`);
    return issues;
  }
  // strictEntities (sax ≥ 1.3; its types predate it): only XML's own entities, no &nbsp;, as R4 requires.
  const parser = sax.parser(true, { xmlns: true, strictEntities: true } as sax.SAXOptions);
  let depth = 0;
  let content = false;
  parser.onerror = (err) => {
    invalid('narrative-malformed', `not well-formed XHTML (${err.message.split('\n')[0]})`);
    throw MALFORMED; // what follows the first error says nothing more
  };
  parser.ondoctype = () => invalid('narrative-element', 'a DOCTYPE is not allowed');
  parser.onprocessinginstruction = (pi) => invalid('narrative-element', `the processing instruction <?${pi.name}?> is not allowed`);
  parser.onopentag = (tag) => {
    const node = tag as sax.QualifiedTag;
    if (depth++ === 0 && (node.local !== 'div' || node.uri !== XHTML)) {
      invalid('narrative-root', `the root element must be an XHTML div (<div xmlns="${XHTML}">), not <${node.name}>`);
    } else if (node.uri !== XHTML) {
      invalid('narrative-element', `<${node.name}> is not in the XHTML namespace`);
    } else if (!ELEMENTS.has(node.local)) {
      invalid('narrative-element', `<${node.local}> is not allowed in a narrative`);
    }
    if (node.local === 'img') content = true;
    for (const attribute of Object.values(node.attributes)) {
      const name = attribute.name;
      if (name === 'xmlns' || attribute.prefix === 'xmlns') {
        // The XHTML namespace may be declared again inside (tables pasted from elsewhere do); no other may.
        if (attribute.value !== XHTML) invalid('narrative-attribute', `the namespace declaration ${attribute.name}="${attribute.value}" is not allowed`);
      } else if (!GLOBAL_ATTRIBUTES.has(name) && !ELEMENT_ATTRIBUTES[node.local]?.has(name)) {
        invalid('narrative-attribute', `the attribute ${name} is not allowed on <${node.local}>`);
      } else if ((name === 'href' || name === 'src' || name === 'longdesc') && runsCode(name, attribute.value)) {
        invalid('narrative-attribute', `${name}="${attribute.value.slice(0, 40)}" would run code`);
      }
    }
  };
  parser.onclosetag = () => {
    depth--;
  };
  parser.ontext = (text) => {
    if (/\S/.test(text)) content = true; // text outside the root is the parser's error
  };
  parser.oncdata = (text) => {
    if (/\S/.test(text)) content = true;
  };
  try {
    parser.write(div).close();
  } catch (err) {
    if (err !== MALFORMED) throw err;
    return issues;
  }
  if (!content) invalid('narrative-empty', 'the narrative has no content (txt-2)');
  return issues;
}
