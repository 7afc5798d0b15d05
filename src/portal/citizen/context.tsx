import { createContext, useContext } from 'react';
import type { FhirClient } from '../shared/fhir.ts';

/** One person the citizen may act for, as GET /fhir/$representations tells it. */
export interface Represented {
  nin: string;
  patientId: string;
  name: string;
  birthDate?: string;
  relation: 'self' | 'parent' | 'power-of-attorney';
  mayManagePrivacy: boolean;
  services: { code: string; name: { nb: string; en: string } }[];
}

export interface ServiceInfo {
  code: string;
  name: { nb: string; en: string };
  reservable: boolean;
  restrictable: boolean;
}

export interface CitizenContext {
  /** Requests carry nhn-patient-nin = the person acted for. */
  fhir: FhirClient;
  person: Represented;
  people: Represented[];
  selfNin: string;
  /** Every service, with what privacy settings may do to it. */
  catalogue: ServiceInfo[];
  has(service: string): boolean;
}

export const Citizen = createContext<CitizenContext | undefined>(undefined);

export function useCitizen(): CitizenContext {
  const c = useContext(Citizen);
  if (!c) throw new Error('useCitizen outside the portal');
  return c;
}
