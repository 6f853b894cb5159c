/**
 * Key release (contract §3.5): the admin stores a disk key that only hosts booted as
 * tpm-sim-reference may receive. A clean host receives it as a JWE only its binding key opens;
 * a tampered host has no token to present; and a host that passed, then rebooted into a swapped
 * kernel, finds its earlier (still unexpired) token refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AgentHttpError, createSimHost, HostAgent } from '../../tpm-sim/index.ts';
import { bytesEqual } from '../util/encoding.ts';
import { callApi, errorCode, expectApi } from './http.ts';
import { attestHost, enrollHost, type ApiAppraisal, type EnrolledHost } from './fleet.ts';
import { SIM_PROFILE, type DemoVerifier } from './verifier.ts';

export const SECRET_NAME = 'disk-key-rack1';
/** The host that passes, receives a token, and then has its kernel swapped. */
export const REIMAGED_HOST_ID = 'edge-01';

export interface ReleaseAttempt {
  hostId: string;
  /** What the host presented, in a few words. */
  presented: string;
  outcome: 'released' | 'refused';
  status: number;
  /** The refusal code (refused only). */
  code?: string;
  /** SHA-256 fingerprint of what the host decrypted (released only); never the key itself. */
  fingerprint?: string;
  /** The decrypted bytes equal what the admin stored. */
  matchesStored?: boolean;
}

export interface KeyReleaseResult {
  secret: string;
  policy: { profiles: string[] };
  fingerprint: string;
  clean: ReleaseAttempt;
  tampered: ReleaseAttempt;
  reimaged: ReleaseAttempt & { passedFirst: boolean; failedAfter: string[] };
  audit: { released: number; refused: number };
  surprises: string[];
}

export function fingerprintOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
}

async function releaseWithToken(agent: HostAgent, stored: Uint8Array, presented: string): Promise<ReleaseAttempt> {
  try {
    const plaintext = await agent.release(SECRET_NAME);
    const attempt: ReleaseAttempt = {
      hostId: agent.host.hostId,
      presented,
      outcome: 'released',
      status: 200,
      fingerprint: fingerprintOf(plaintext),
      matchesStored: bytesEqual(plaintext, stored),
    };
    plaintext.fill(0);
    return attempt;
  } catch (err) {
    if (!(err instanceof AgentHttpError)) throw err;
    return { hostId: agent.host.hostId, presented, outcome: 'refused', status: err.status, code: errorCode(err.body) ?? `http_${err.status}` };
  }
}

/** The reimaged host: same seed, hence the same TPM keys (EK, AK); only its kernel differs after the reboot. */
async function reimagedHostStory(v: DemoVerifier): Promise<{ before: HostAgent; first: ApiAppraisal; after: ApiAppraisal }> {
  const beforeSim = createSimHost({ hostId: REIMAGED_HOST_ID, seed: REIMAGED_HOST_ID });
  const before = new HostAgent(beforeSim, v.url, { bindingKey: 'ec' });
  const enrolled: EnrolledHost = await enrollHost({ hostId: REIMAGED_HOST_ID, scenario: 'clean', ekType: 'ecc', akType: 'ecc', sim: beforeSim, agent: before });
  const first = (await attestHost(enrolled)).appraisal;

  const afterSim = createSimHost({ hostId: REIMAGED_HOST_ID, seed: REIMAGED_HOST_ID, scenario: 'kernel-swap' });
  if (!bytesEqual(afterSim.akName, beforeSim.akName)) throw new Error('the reimaged host must keep its TPM (same AK)');
  afterSim.reboot(); // a new resetCount: the verifier sees a power cycle, not a clock rollback
  const after = new HostAgent(afterSim, v.url, { bindingKey: 'ec' });
  const second = (await attestHost({ ...enrolled, scenario: 'kernel-swap', sim: afterSim, agent: after })).appraisal;
  return { before, first, after: second };
}

export async function runKeyRelease(v: DemoVerifier, clean: EnrolledHost, tampered: EnrolledHost): Promise<KeyReleaseResult> {
  const value = new Uint8Array(randomBytes(32));
  const policy = { profiles: [SIM_PROFILE] };
  await expectApi(v.url, [200, 201], 'PUT', `/v1/secrets/${SECRET_NAME}`, {
    key: v.keys.admin,
    body: { value: Buffer.from(value).toString('base64'), policy },
  });
  const fingerprint = fingerprintOf(value);
  const surprises: string[] = [];

  const cleanAttempt = await releaseWithToken(clean.agent, value, 'its attestation token (bound to its EC key)');
  if (cleanAttempt.outcome !== 'released' || cleanAttempt.matchesStored !== true) {
    surprises.push(`${clean.hostId} (clean) was not given ${SECRET_NAME}: ${cleanAttempt.code ?? 'decrypted bytes differ'}`);
  }

  // A failed appraisal issues no token, so the tampered host can only ask without one.
  const tamperedAttempt: ReleaseAttempt = await (async () => {
    if (tampered.agent.token !== undefined) return releaseWithToken(tampered.agent, value, 'a token it should never have got');
    const r = await callApi(v.url, 'POST', `/v1/secrets/${SECRET_NAME}/release`, { body: {} });
    return {
      hostId: tampered.hostId,
      presented: 'no token (its appraisal failed, so none was issued)',
      outcome: r.status === 200 ? 'released' : 'refused',
      status: r.status,
      ...(r.status === 200 ? {} : { code: errorCode(r.json) ?? `http_${r.status}` }),
    };
  })();
  if (tamperedAttempt.outcome !== 'refused') surprises.push(`${tampered.hostId} (${tampered.scenario}) was given ${SECRET_NAME}`);

  const story = await reimagedHostStory(v);
  const failedAfter = [...new Set(story.after.failures.map((f) => f.code))].sort();
  const reimaged = {
    ...(await releaseWithToken(story.before, value, 'the token from its earlier passing boot (not yet expired)')),
    passedFirst: story.first.verdict === 'pass',
    failedAfter,
  };
  if (!reimaged.passedFirst) surprises.push(`${REIMAGED_HOST_ID}: its clean boot did not pass`);
  if (story.after.verdict !== 'fail' || failedAfter.join() !== 'kernel_not_allowed') {
    surprises.push(`${REIMAGED_HOST_ID}: after the kernel swap expected fail with kernel_not_allowed, got ${story.after.verdict} ${failedAfter.join(', ')}`);
  }
  if (reimaged.outcome !== 'refused') surprises.push(`${REIMAGED_HOST_ID} released ${SECRET_NAME} with a token from before its kernel swap`);
  value.fill(0);

  const trail = await expectApi(v.url, [200], 'GET', `/v1/secrets/${SECRET_NAME}/releases`, { key: v.keys.admin });
  const rows = typeof trail === 'object' && trail !== null && Array.isArray((trail as { releases?: unknown }).releases) ? ((trail as { releases: unknown[] }).releases) : [];
  const outcomes = rows.map((r) => (typeof r === 'object' && r !== null ? (r as { outcome?: unknown }).outcome : undefined));
  const audit = { released: outcomes.filter((o) => o === 'released').length, refused: outcomes.filter((o) => o === 'refused').length };

  return { secret: SECRET_NAME, policy, fingerprint, clean: cleanAttempt, tampered: tamperedAttempt, reimaged, audit, surprises };
}
