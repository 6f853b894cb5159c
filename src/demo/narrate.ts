/** The human story of a demo run, phase by phase; each phase opens with what is happening and why. */
import { relative } from 'node:path';
import { SCENARIOS } from '../../tpm-sim/index.ts';
import { columns, findingComponent, findingLocation, findingMessage, findingValues, seconds, wrap, type Style } from './format.ts';
import type { KeyReleaseResult, ReleaseAttempt } from './key-release.ts';
import type { DemoReport, HostReport } from './report.ts';
import type { EventsSummary } from './scheduler.ts';
import { REPO_ROOT } from './verifier.ts';

const WIDTH = 100;
const IND = '   ';

const KEY_NAMES = { ecc: 'ECC P-256', rsa: 'RSA-2048', rsapss: 'RSA-2048 PSS' } as const;

export class Narrator {
  constructor(
    private readonly out: (line: string) => void,
    private readonly s: Style,
  ) {}

  private para(text: string): void {
    for (const l of wrap(text, WIDTH, IND)) this.out(this.s.dim(l));
  }

  private phase(n: number, title: string, explain: string): void {
    this.out('');
    this.out(this.s.bold(`${n}. ${title}`));
    this.para(explain);
    this.out('');
  }

  intro(cleanHosts: number, attackHosts: number): void {
    this.out(this.s.bold('bootgate demo: a simulated fleet attests to a live verifier'));
    for (const l of wrap(
      `${cleanHosts} healthy hosts and ${attackHosts} tampered ones (one per attack tpm-sim knows) prove how they booted. Each host is simulated by tpm-sim: a software TPM and a measured boot that writes a real TCG event log. The verifier sees only what a real host would send, and must catch every attack from that evidence, then tell schedulers and the key broker.`,
      WIDTH,
      '',
    )) this.out(l);
  }

  verifier(r: DemoReport['verifier'], keep: boolean): void {
    this.phase(1, 'Verifier', 'The real bootgate service, started in this process on a free port with its own throw-away database.');
    for (const l of columns(
      [
        ['URL', r.url],
        ['data dir', `${r.dataDir} (${keep ? 'kept: --keep' : 'deleted at exit; --keep keeps it'})`],
        ['EK roots', `${relative(REPO_ROOT, r.ekRoots)} (tpm-sim's development CA, trusted for this run only)`],
        ['golden', `${relative(REPO_ROOT, r.goldenDir)}/; every host is appraised against profile ${r.profile}`],
        ['API keys', 'admin, scheduler and broker keys generated for this run (not shown)'],
      ],
      IND,
    )) this.out(l);
  }

  enrollment(hosts: HostReport[], bootMs: number, enrollMs: number, profile: string): void {
    this.phase(
      2,
      'Enrollment: each host proves its attestation key (AK) lives in a genuine TPM',
      'A host sends its EK certificate and AK. The verifier checks the certificate chains to a trusted root, then encrypts a challenge to the EK (MakeCredential) that only that TPM can open (ActivateCredential).',
    );
    const rows = [['HOST', 'SCENARIO', 'EK', 'AK', 'AK NAME'], ...hosts.map((h) => [h.hostId, h.scenario, KEY_NAMES[h.ekType], KEY_NAMES[h.akType], `${h.akName.slice(0, 16)}…`])];
    for (const l of columns(rows, IND)) this.out(l);
    this.out('');
    this.out(`${IND}${hosts.length} simulated hosts booted in ${seconds(bootMs)}, enrolled in ${seconds(enrollMs)}; each has profile ${profile}.`);
  }

  attestation(hosts: HostReport[], ms: number): void {
    this.phase(
      3,
      'Attestation: each host quotes its PCRs over a fresh nonce and sends its boot event log',
      'The verifier checks the quote signature and the nonce, replays the event log against the quoted PCRs, and compares every measured component with the golden profile. Unknown events fail by default.',
    );
    const verdict = (h: HostReport) => (h.verdict === 'pass' ? { text: 'PASS', paint: this.s.green } : { text: 'FAIL', paint: this.s.red });
    const head = [['HOST', 'SCENARIO', 'VERDICT', 'WHY'], ...hosts.map((h) => [h.hostId, h.scenario, verdict(h), whyOf(h)])];
    const lines = columns(head, IND);
    this.out(lines[0] ?? '');
    const detailIndent = `${IND}    `;
    hosts.forEach((h, i) => {
      this.out(lines[i + 1] ?? '');
      if (h.scenario === 'clean') return;
      for (const l of wrap(SCENARIOS[h.scenario].description, WIDTH, `${detailIndent}attack   `)) this.out(this.s.dim(l));
      if (h.honestVerdict !== undefined) {
        this.out(`${detailIndent}first    the honest attestation: ${h.honestVerdict.toUpperCase()}; then the same evidence again:`);
      }
      const f = h.topFinding;
      if (f) {
        const where = findingLocation(f);
        const component = findingComponent(f);
        const values = findingValues(f);
        const more = h.findings > 1 ? ` (+${h.findings - 1} more)` : '';
        const detail = `${detailIndent}         `;
        this.out(`${detailIndent}finding  ${f.code}${where ? ` at ${where}` : `: ${findingMessage(f)}`}${more}`);
        if (component) this.out(`${detail}${component}`);
        if (values) this.out(`${detail}${values}`);
      }
      if (!h.asExpected) this.out(this.s.yellow(`${detailIndent}SURPRISE expected ${h.expectedVerdict} ${h.expectedCodes.join(', ')}`));
    });
    const good = hosts.filter((h) => h.asExpected).length;
    this.out('');
    this.out(`${IND}${good} of ${hosts.length} hosts got the verdict their scenario expects (${seconds(ms)}).`);
  }

  scheduler(t: DemoReport['trust']): void {
    this.phase(
      4,
      'Scheduler: which hosts may run workloads?',
      'A scheduler asks with its own API key: GET /v1/hosts?trust=trusted and ?trust=untrusted. Only hosts whose last appraisal passed, and whose token has not expired, are trusted.',
    );
    const list = (ids: string[]) => (ids.length ? ids.join(', ') : '(none)');
    const w = `untrusted (${t.untrusted.length})`.length;
    for (const l of wrap(list(t.trusted), WIDTH, `${IND}${`trusted (${t.trusted.length})`.padEnd(w)}  `, `${IND}${' '.repeat(w)}  `)) this.out(l);
    for (const l of wrap(list(t.untrusted), WIDTH, `${IND}${`untrusted (${t.untrusted.length})`.padEnd(w)}  `, `${IND}${' '.repeat(w)}  `)) this.out(l);
  }

  keyRelease(k: KeyReleaseResult): void {
    this.phase(
      5,
      'Key release: only a host that booted as expected gets the disk key',
      `The admin stores a secret with a release policy. A host asks for it with its attestation token; the verifier answers with a JWE encrypted to the key the host bound to that attestation, so only that host can open it.`,
    );
    this.out(`${IND}admin stored ${k.secret}: 32 bytes, fingerprint ${k.fingerprint}`);
    this.out(`${IND}release policy: profiles [${k.policy.profiles.join(', ')}]`);
    this.out('');
    const rows: Array<[ReleaseAttempt, string]> = [
      [k.clean, `presents ${k.clean.presented}`],
      [k.tampered, `presents ${k.tampered.presented}`],
      [
        k.reimaged,
        `booted clean (${k.reimaged.passedFirst ? 'PASS' : 'FAIL'}) and got a token; then its kernel was swapped and it rebooted (${k.reimaged.failedAfter.join(', ') || 'PASS'}). It presents ${k.reimaged.presented}`,
      ],
    ];
    const w = Math.max(...rows.map(([a]) => a.hostId.length));
    for (const [a, story] of rows) {
      for (const l of wrap(story, WIDTH, `${IND}${a.hostId.padEnd(w)}  `, `${IND}${' '.repeat(w)}  `)) this.out(l);
      const pad = `${IND}${' '.repeat(w)}  `;
      if (a.outcome === 'released') {
        this.out(`${pad}-> ${this.s.green('RELEASED')}, decrypted with its binding key: ${a.fingerprint ?? '?'}${a.matchesStored ? ' (matches)' : ' (DOES NOT MATCH)'}`);
      } else {
        const why = a.code ? REFUSAL_MEANING[a.code] : undefined;
        this.out(`${pad}-> ${this.s.red('REFUSED')} ${a.status} ${a.code ?? ''}${why ? ` (${why})` : ''}`);
      }
    }
    this.out('');
    this.out(`${IND}audit trail (GET /v1/secrets/${k.secret}/releases): ${k.audit.released} released, ${k.audit.refused} refused`);
  }

  events(e: EventsSummary): void {
    this.phase(
      6,
      'Trust events: what a scheduler following the feed receives',
      'Every change of a host\'s trust is an event with a sequence number; schedulers long-poll GET /v1/events?after=<seq> (or take webhooks) instead of asking host by host.',
    );
    const kinds = Object.entries(e.byKind)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    this.out(`${IND}${e.count} events, last seq ${e.lastSeq}: ${kinds}`);
    this.out(`${IND}latest:`);
    for (const l of columns(e.latest.map((ev) => [`seq ${ev.seq}`, ev.hostId, ev.kind]), `${IND}  `)) this.out(l);
  }

  result(r: DemoReport, keep: boolean): void {
    this.out('');
    if (r.ok) {
      this.out(this.s.bold(this.s.green(`Result: every host got the verdict its scenario expects (exit 0), in ${seconds(r.elapsedMs)}.`)));
    } else {
      this.out(this.s.bold(this.s.red(`Result: ${r.surprises.length} surprise${r.surprises.length > 1 ? 's' : ''} (exit 1):`)));
      for (const s of r.surprises) for (const l of wrap(s, WIDTH, `${IND}- `, `${IND}  `)) this.out(l);
    }
    this.out(keep ? `Verifier stopped; its data is kept in ${r.verifier.dataDir} (settings in demo.env there).` : 'Verifier stopped; its data directory was removed.');
  }
}

/** What a refusal code means for this story, in a few words (codes: src/broker/README.md). */
const REFUSAL_MEANING: Record<string, string> = {
  token_missing: 'no token, no key',
  token_revoked: 'revoked when its attestation failed',
  host_untrusted: "the host's latest appraisal failed",
  token_superseded: 'a later appraisal replaced that token',
};

function whyOf(h: HostReport): string {
  if (h.verdict === 'pass') return h.tokenIssued ? `token issued (${h.profile ?? 'no profile'})` : 'no token?';
  return h.codes.join(', ');
}
