import type { RouteOptions } from 'fastify';
import type { CapabilityStatement, CapabilityStatementRestResource, CapabilityStatementRestResourceOperation } from '@medplum/fhirtypes';
import type { ServerContext } from './server.ts';
import { RESOURCE_TYPES } from '../fhir/resource-types.ts';
import { definitions } from '../fhir/definitions.ts';

const searchParamsByType: Map<string, { name: string; type: string; definition: string }[]> = (() => {
  const map = new Map<string, { name: string; type: string; definition: string }[]>();
  for (const { resource: sp } of definitions('fhir/r4/search-parameters.json').entry) {
    if (!sp.expression) continue;
    for (const base of sp.base ?? []) {
      const list = map.get(base) ?? [];
      list.push({ name: sp.code, type: sp.type, definition: sp.url });
      map.set(base, list);
    }
  }
  return map;
})();

/** An operation route: `$name` at the system level, on a type (`Type/$name`) or on an instance. */
export interface OperationRoute {
  name: string;
  /** undefined: the system level; '*': every type (`[type]/$validate`). */
  type?: string;
  method: string;
  path: string;
}

const OPERATION_ROUTE = /^\/fhir(?:\/(:type|[A-Z][A-Za-z]+)(?:\/:id)?)?\/\$([a-z][a-z0-9-]*)$/;

/** The base specification's definitions of the operations it defines; the others are this server's own. */
const DEFINED_BY_FHIR: Record<string, string> = {
  validate: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
  everything: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
};

/**
 * Collects every operation route the server registers (the core's and every service's), so the
 * CapabilityStatement lists what is there rather than a list kept by hand. Install before the routes.
 */
export function collectOperations(app: { addHook(name: 'onRoute', hook: (route: RouteOptions) => void): unknown }): OperationRoute[] {
  const found: OperationRoute[] = [];
  app.addHook('onRoute', (route) => {
    const m = OPERATION_ROUTE.exec(route.url);
    if (!m) return;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      found.push({ name: m[2], type: m[1] === ':type' ? '*' : m[1], method, path: route.url });
    }
  });
  return found;
}

function operationEntries(routes: OperationRoute[]): CapabilityStatementRestResourceOperation[] {
  const byName = new Map<string, OperationRoute[]>();
  for (const r of routes) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  return [...byName].map(([name, rs]) => ({
    name,
    definition: DEFINED_BY_FHIR[name] ?? `https://samhandling.dev/fhir/OperationDefinition/${name}`,
    documentation: rs.map((r) => `${r.method} ${r.path.replace(/^\/fhir/, '[base]').replace(':type', '[type]').replace(':id', '[id]')}`).join('; '),
  }));
}

const cached = new WeakMap<OperationRoute[], CapabilityStatement>();

/** The CapabilityStatement: what this server actually implements, and nothing more. */
export async function capabilityStatement(ctx: ServerContext, operations: OperationRoute[]): Promise<CapabilityStatement> {
  const known = cached.get(operations);
  if (known) return known;
  const operationsOf = (type: string | undefined) => operationEntries(operations.filter((o) => o.type === type));
  const listed = (operation: CapabilityStatementRestResourceOperation[]) => (operation.length ? { operation } : {});
  const resources = [...RESOURCE_TYPES].sort().map((type): CapabilityStatementRestResource => ({
    type: type as CapabilityStatementRestResource['type'],
    interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'].map((code) => ({ code: code as any })),
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalRead: 'full-support',
    conditionalUpdate: true,
    conditionalDelete: 'single',
    // A relative reference must resolve when written (to a stored resource or an entry of its
    // transaction), but that is not `enforced`, which promises references always resolve: a delete
    // does not check what refers to it (the reference then reads as 410 Gone, as FHIR has it; the
    // documents service deletes documents its submission sets list). Nor `local`: a reference to
    // another server is kept as given.
    referencePolicy: ['literal', 'logical'],
    searchInclude: ['*'],
    searchRevInclude: ['*'],
    searchParam: (searchParamsByType.get(type) ?? []).map((p) => ({ name: p.name, type: p.type as any, definition: p.definition })),
    ...listed(operationsOf(type)),
  }));
  const statement: CapabilityStatement = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'Samhandling', version: '0.1.0' },
    implementation: { description: 'Samhandling FHIR R4 server', url: `${ctx.config.baseUrl}/fhir` },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        resource: resources,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }, { code: 'history-system' }],
        searchParam: [
          { name: '_id', type: 'token' },
          { name: '_lastUpdated', type: 'date' },
          { name: '_tag', type: 'token' },
          { name: '_profile', type: 'uri' },
          { name: '_security', type: 'token' },
          { name: '_source', type: 'uri' },
        ],
        // The system's own operations, and those defined on every type ($validate).
        operation: [...operationsOf(undefined), ...operationsOf('*')],
      },
    ],
  };
  cached.set(operations, statement);
  return statement;
}
