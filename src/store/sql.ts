/**
 * Composable parameterised SQL. Fragments keep their values apart from their text until
 * `toQuery` numbers the placeholders, so search conditions, access-policy predicates and
 * paging cursors can be built separately and joined without string-splicing values.
 */
export class Sql {
  constructor(readonly strings: readonly string[], readonly values: readonly unknown[]) {}

  toQuery(): { text: string; values: unknown[] } {
    const values: unknown[] = [];
    let text = '';
    const walk = (frag: Sql) => {
      frag.strings.forEach((s, i) => {
        text += s;
        if (i < frag.values.length) {
          const v = frag.values[i];
          if (v instanceof Sql) walk(v);
          else {
            values.push(v);
            text += `$${values.length}`;
          }
        }
      });
    };
    walk(this);
    return { text, values };
  }
}

/** Tagged template: sql`select * from resource where id = ${id}`; nested Sql fragments are inlined. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  return new Sql(strings, values);
}

/** Raw SQL text (identifiers, operators) that is never user input. */
export function raw(text: string): Sql {
  return new Sql([text], []);
}

export function join(parts: Sql[], separator: string): Sql {
  if (parts.length === 0) return raw('');
  const strings = [''];
  for (let i = 1; i < parts.length; i++) strings.push(separator);
  strings.push('');
  return new Sql(strings, parts);
}

export const and = (parts: Sql[]) => (parts.length ? sql`(${join(parts, ' and ')})` : raw('true'));
export const or = (parts: Sql[]) => (parts.length ? sql`(${join(parts, ' or ')})` : raw('false'));

/** Runs a fragment on anything with query(text, values). */
export async function run<R = any>(db: { query<T>(s: string, p?: unknown[]): Promise<T[]> }, q: Sql): Promise<R[]> {
  const { text, values } = q.toQuery();
  return db.query<R>(text, values);
}
