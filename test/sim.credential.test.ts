/** TPM2_ActivateCredential in tpm-sim against credentials made by tpm2_makecredential and by bootgate. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeCredentialFile, makeCredential } from '../src/tpm/credential.ts';
import { parsePublic } from '../src/tpm/index.ts';
import { ActivateCredentialError, createSimHost } from '../tpm-sim/index.ts';
import { haveTool } from './helpers/swtpm.ts';

const haveMakecredential = haveTool('tpm2_makecredential');
const SECRET = Buffer.from('6b3a55e0261b4c2a9f0e1d2c3b4a5968', 'hex');

describe.each(['rsa', 'ecc'] as const)('%s EK', (ekType) => {
  const host = createSimHost({ ekType, akType: 'ecc' });
  const other = createSimHost({ ekType: 'ecc', akType: 'ecc' });

  it('activates a credential made by bootgate makeCredential for this AK name', () => {
    const made = makeCredential(parsePublic(host.ekPub), host.akName, SECRET);
    expect(Buffer.from(host.activateCredential(encodeCredentialFile(made)))).toEqual(SECRET);
  });

  it('refuses a credential made for another AK name (integrity check)', () => {
    const made = makeCredential(parsePublic(host.ekPub), other.akName, SECRET);
    expect(() => host.activateCredential(encodeCredentialFile(made))).toThrow(ActivateCredentialError);
    expect(() => host.activateCredential(encodeCredentialFile(made))).toThrow(/TPM_RC_INTEGRITY/);
  });

  it('refuses a credential made for another EK', () => {
    const made = makeCredential(parsePublic(other.ekPub), host.akName, SECRET);
    expect(() => host.activateCredential(encodeCredentialFile(made))).toThrow(ActivateCredentialError);
  });

  describe.skipIf(!haveMakecredential)('tpm2_makecredential -T none (skipped: tpm2-tools not on PATH)', () => {
    const dir = mkdtempSync(join(tmpdir(), `sim-cred-${ekType}-`));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const make = (name: Uint8Array): Uint8Array => {
      writeFileSync(join(dir, 'ek.pub'), host.ekPub);
      writeFileSync(join(dir, 'secret'), SECRET);
      const r = spawnSync(
        'tpm2_makecredential',
        ['-T', 'none', '-e', join(dir, 'ek.pub'), '-s', join(dir, 'secret'), '-n', Buffer.from(name).toString('hex'), '-o', join(dir, 'cred')],
        { encoding: 'utf8' },
      );
      expect(r.status).toBe(0);
      return new Uint8Array(readFileSync(join(dir, 'cred')));
    };
    it('activates the tpm2-tools credential file and returns the secret', () => {
      expect(Buffer.from(host.activateCredential(make(host.akName)))).toEqual(SECRET);
    });
    it('fails for a blob made for another AK name', () => {
      expect(() => host.activateCredential(make(other.akName))).toThrow(/TPM_RC_INTEGRITY/);
    });
  });
});
