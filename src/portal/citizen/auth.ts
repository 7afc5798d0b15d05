import { createAuth } from '../shared/auth.ts';

/** The citizen logs in through ID-porten (here: the dev server's person picker) as the public client dev-helsenorge. */
export const citizenAuth = createAuth({ clientId: 'dev-helsenorge', redirectPath: '/callback', scope: 'openid patient/*.rs', storageKey: 'samhandling:citizen' });
