import type { ServiceModule } from '../module.ts';

export const module: ServiceModule = { name: 'documents' };
