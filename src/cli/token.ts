import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { citizenClaims, devAuthority, devIssuer, practitionerClaims, systemClaims } from '../access/dev-authority.ts';
import { storedIdentities } from './identities.ts';

/**
 * Prints a signed access token from the built-in development authority (same key as the dev
 * server in the data folder), for scripts and manual testing:
 *   npm run token -- --practitioner <hpr> --org <orgnr> --purpose TREAT --patient <fnr>
 *   npm run token -- --citizen <fnr>
 *   npm run token -- --system <client-id> --org <orgnr> --scope "system/*.rs"
 */
const HELP = `Usage:
  npm run token -- --practitioner <hpr> --org <orgnr> [--purpose TREAT|ETREAT|COC|BTG] [--patient <fnr>]
                   [--authorisation LE] [--point-of-care <orgnr>] [--department <resh>] [--security-level 4]
                   [--scope "user/*.cruds"] [--care-relation]
  npm run token -- --citizen <fnr> [--scope "patient/*.cruds"] [--acr idporten-loa-high]
  npm run token -- --system <client-id> --org <orgnr> --scope "system/*.rs"
<hpr> and <fnr> may be role names of the seeded test identities (npm run identities), e.g.
  npm run token -- --practitioner hospital-doctor --patient parent   (--org defaults to theirs)
Common: [--expires <seconds>] [--json]  (BASE_URL and DATA_DIR choose the issuer and key, as for the server)
Send the token as "Authorization: Bearer <token>" with the headers nhn-access-basis and nhn-patient-nin.`;

const { values } = parseArgs({
  options: {
    practitioner: { type: 'string' },
    citizen: { type: 'string' },
    system: { type: 'string' },
    org: { type: 'string' },
    'point-of-care': { type: 'string' },
    department: { type: 'string' },
    purpose: { type: 'string' },
    patient: { type: 'string' },
    authorisation: { type: 'string' },
    'security-level': { type: 'string' },
    scope: { type: 'string' },
    acr: { type: 'string' },
    'care-relation': { type: 'boolean' },
    expires: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  },
});

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}\n`);
  process.exit(2);
}

// Role names of the seeded population's well-known identities (npm run identities) stand for their numbers.
const named = storedIdentities(loadConfig().dataDir) ?? [];
const byRole = (v: string | undefined) => (v ? named.find((i) => i.role === v) : undefined);
const practitionerRole = byRole(values.practitioner);
if (practitionerRole?.hpr) {
  values.practitioner = practitionerRole.hpr;
  values.org ??= practitionerRole.orgnr;
}
if (byRole(values.patient)?.nin) values.patient = byRole(values.patient)!.nin;
if (byRole(values.citizen)?.nin) values.citizen = byRole(values.citizen)!.nin;

const kinds = [values.practitioner, values.citizen, values.system].filter(Boolean).length;
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
if (kinds !== 1) fail('Give exactly one of --practitioner, --citizen or --system.');
const nin = /^\d{11}$/;
if (values.patient && !nin.test(values.patient)) fail('--patient must be an 11-digit national identity number');
if (values.citizen && !nin.test(values.citizen)) fail('--citizen must be an 11-digit national identity number');
if ((values.practitioner || values.system) && !values.org) fail('--org <orgnr> is required');
if (values.org && !/^\d{9}$/.test(values.org)) fail('--org must be a 9-digit organisation number');
const expiresIn = values.expires ? Number(values.expires) : 3600;
if (!Number.isInteger(expiresIn) || expiresIn <= 0) fail('--expires must be a positive number of seconds');

const config = loadConfig();
const authority = await devAuthority(devIssuer(config.baseUrl), config.dataDir);
let claims: Record<string, unknown>;
if (values.practitioner) {
  claims = practitionerClaims({
    hpr: values.practitioner,
    org: values.org!,
    childOrg: values['point-of-care'],
    department: values.department,
    purpose: values.purpose ?? 'TREAT',
    patient: values.patient,
    authorisation: values.authorisation,
    securityLevel: values['security-level'] ? Number(values['security-level']) : undefined,
    scope: values.scope,
    careKey: values['care-relation'] ? 'care_relation' : 'care_relationship',
  });
} else if (values.citizen) {
  claims = citizenClaims(values.citizen, { scope: values.scope, acr: values.acr });
} else {
  claims = systemClaims({ clientId: values.system!, org: values.org!, scope: values.scope ?? 'system/*.rs' });
}
const token = await authority.sign(claims, { expiresIn });
process.stdout.write(values.json ? `${JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: expiresIn, issuer: authority.issuer })}\n` : `${token}\n`);
