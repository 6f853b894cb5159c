/**
 * The simulated fleet: a few clean hosts (RSA and ECC EKs) and one host per tpm-sim attack
 * scenario, each enrolled and attested over real HTTP by tpm-sim's HostAgent.
 */
import { z } from 'zod';
import {
  createSimHost,
  HostAgent,
  prewarmRsaKeys,
  SCENARIO_NAMES,
  type AkType,
  type EkType,
  type ScenarioName,
  type SimHost,
} from '../../tpm-sim/index.ts';
import { SIM_PROFILE } from './verifier.ts';

export const ATTACK_SCENARIOS: readonly ScenarioName[] = SCENARIO_NAMES.filter((s) => s !== 'clean');

export interface FleetHost {
  hostId: string;
  scenario: ScenarioName;
  ekType: EkType;
  akType: AkType;
  sim: SimHost;
  agent: HostAgent;
}

export interface EnrolledHost extends FleetHost {
  akName: string;
}

const FindingSchema = z.looseObject({
  code: z.string(),
  message: z.string(),
  pcr: z.number().optional(),
  bank: z.string().optional(),
  eventIndex: z.number().optional(),
  eventType: z.string().optional(),
  component: z.string().optional(),
  rule: z.string().optional(),
  expected: z.unknown().optional(),
  actual: z.unknown().optional(),
});
export type ApiFinding = z.infer<typeof FindingSchema>;

const AppraisalSchema = z.looseObject({
  appraisalId: z.string(),
  verdict: z.enum(['pass', 'fail']),
  profile: z.string().nullable(),
  failures: z.array(FindingSchema),
  token: z.string().optional(),
});
export type ApiAppraisal = z.infer<typeof AppraisalSchema>;

export function parseAppraisal(json: unknown, hostId: string): ApiAppraisal {
  const r = AppraisalSchema.safeParse(json);
  if (!r.success) throw new Error(`the verifier's appraisal of ${hostId} is not shaped as contract §3.2: ${r.error.issues[0]?.message ?? ''}`);
  return r.data;
}

export function hostIdFor(scenario: ScenarioName, n: number): string {
  return `${scenario}-${String(n).padStart(2, '0')}`;
}

/** Key types of the n-th clean host: every second one has an RSA-2048 EK, every fourth an RSA AK too. */
export function cleanKeyTypes(i: number): { ekType: EkType; akType: AkType } {
  return { ekType: i % 2 === 1 ? 'rsa' : 'ecc', akType: i % 4 === 3 ? 'rsa' : 'ecc' };
}

/** Builds the fleet's simulated hosts (booted, not yet enrolled). Attack hosts use ECC keys: quick to make. */
export async function buildFleet(baseUrl: string, cleanHosts: number): Promise<FleetHost[]> {
  const plan: Array<{ scenario: ScenarioName; n: number; ekType: EkType; akType: AkType }> = [];
  for (let i = 0; i < cleanHosts; i++) plan.push({ scenario: 'clean', n: i + 1, ...cleanKeyTypes(i) });
  for (const scenario of ATTACK_SCENARIOS) plan.push({ scenario, n: 1, ekType: 'ecc', akType: 'ecc' });
  const rsaKeys = plan.reduce((n, p) => n + (p.ekType === 'rsa' ? 1 : 0) + (p.akType === 'ecc' ? 0 : 1), 0);
  // RSA key generation runs on the thread pool, all at once, instead of one after another.
  await prewarmRsaKeys(rsaKeys);
  return plan.map(({ scenario, n, ekType, akType }) => {
    const hostId = hostIdFor(scenario, n);
    const sim = createSimHost({ scenario, hostId, ekType, akType });
    // Every host binds its token to a fresh EC key, so a passing host can receive secrets.
    return { hostId, scenario, ekType, akType, sim, agent: new HostAgent(sim, baseUrl, { bindingKey: 'ec' }) };
  });
}

/** POST /v1/enrollments (with the reference profile), TPM2_ActivateCredential, POST .../activate. */
export async function enrollHost(host: FleetHost): Promise<EnrolledHost> {
  await host.agent.enroll([SIM_PROFILE]);
  const activated = await host.agent.activate();
  if (activated.status !== 'enrolled' || typeof activated.akName !== 'string') {
    throw new Error(`activating ${host.hostId} answered ${JSON.stringify(activated)}`);
  }
  return { ...host, akName: activated.akName };
}

export interface AttestationResult {
  appraisal: ApiAppraisal;
  /** replayed-quote only: the honest attestation whose evidence is then replayed. */
  honest?: ApiAppraisal;
}

/**
 * One attestation round. A replayed-quote host first attests honestly, which we keep, then
 * HostAgent.attest() resubmits that same evidence; the answer to the replay is the one that counts.
 */
export async function attestHost(host: FleetHost): Promise<AttestationResult> {
  if (host.scenario === 'replayed-quote') {
    const honest = parseAppraisal(await host.agent.submit(await host.agent.collectEvidence()), host.hostId);
    const replay = parseAppraisal(await host.agent.attest(), host.hostId);
    return { appraisal: replay, honest };
  }
  return { appraisal: parseAppraisal(await host.agent.attest(), host.hostId) };
}
