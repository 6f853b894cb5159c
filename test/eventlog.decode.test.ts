/** Decoding of the event types that matter, checked against what the real logs are known to hold. */
import { describe, expect, it } from 'vitest';
import { EV, parseEventLog, type DecodedEvent, type EventLog, type TcgEvent } from '../src/eventlog/index.ts';
import { ParseError } from '../src/util/errors.ts';
import { SHARED_FIXTURES_MISSING, haveSharedFixtures, readFixture } from './helpers/fixtures.ts';

const have = haveSharedFixtures();
if (!have) console.warn(`eventlog.decode: ${SHARED_FIXTURES_MISSING}`);

const GT = 'go-tpm-tools/internal/test/eventlogs/';
const T2 = 'tpm2-tools/test/integration/fixtures/';
const load = (p: string): EventLog => parseEventLog(readFixture(p));

type Kind<K extends DecodedEvent['kind']> = Extract<DecodedEvent, { kind: K }>;
function decodedOf<K extends DecodedEvent['kind']>(e: TcgEvent | undefined, kind: K): Kind<K> {
  expect(e?.decoded.kind).toBe(kind);
  return e!.decoded as Kind<K>;
}
const variable = (log: EventLog, name: string, type: number = EV.EV_EFI_VARIABLE_DRIVER_CONFIG): Kind<'efi_variable'> =>
  decodedOf(log.events.find((e) => e.type === type && e.decoded.kind === 'efi_variable' && e.decoded.name === name), 'efi_variable');

describe.skipIf(!have)('decoding real logs', () => {
  it('formats: legacy SHA-1 and crypto-agile with the Spec ID header', () => {
    expect(load(`${GT}debian-10.bin`).format).toBe('sha1');
    expect(load(`${T2}event-uefi-sha1-log.bin`).format).toBe('sha1');
    const rhel = load(`${GT}rhel8-uefi.bin`);
    expect(rhel.format).toBe('crypto-agile');
    expect(rhel.banks).toEqual(['sha1', 'sha256', 'sha384']);
    const spec = decodedOf(rhel.events[0], 'spec_id').specId;
    expect(spec.specVersion).toEqual({ major: 2, minor: 0, errata: 0 });
    expect(spec.algorithms.map((a) => [a.algorithmId, a.digestSize])).toEqual([[4, 20], [11, 32], [12, 48]]);
  });

  it('reads vendorInfo that lies outside EventSize (specid-vendordata.bin)', () => {
    const log = load(`${T2}specid-vendordata.bin`);
    expect(log.events).toHaveLength(1);
    expect(Buffer.from(log.specId!.vendorInfo).toString('hex')).toBe('deadbeef');
  });

  it('SecureBoot: on (rhel8), off (ubuntu 21.04, glinux), empty variable (arch, fedora37 sd-boot)', () => {
    expect(variable(load(`${GT}rhel8-uefi.bin`), 'SecureBoot').enabled).toBe(true);
    expect(variable(load(`${GT}ubuntu-2104-no-secure-boot.bin`), 'SecureBoot').enabled).toBe(false);
    expect(variable(load(`${GT}glinux-alex.bin`), 'SecureBoot').enabled).toBe(false);
    const arch = variable(load(`${GT}arch-linux-workstation.bin`), 'SecureBoot');
    expect(arch.variableData.length).toBe(0);
    expect(arch.enabled).toBeNull();
    expect(variable(load(`${T2}event-sd-boot-fedora37.bin`), 'SecureBoot').enabled).toBeNull();
  });

  it('PK/KEK/db/dbx signature lists with X.509 subjects and SHA-256 entries (rhel8)', () => {
    const log = load(`${GT}rhel8-uefi.bin`);
    const db = variable(log, 'db');
    expect(db.variableGuid).toBe('d719b2cb-3d3a-4596-a3bc-dad00e67656f');
    const subjects = db.signatureLists!.flatMap((l) => l.signatures.map((s) => s.subject));
    expect(subjects).toEqual([
      'C=US, ST=Washington, L=Redmond, O=Microsoft Corporation, CN=Microsoft Corporation UEFI CA 2011',
      'C=US, ST=Washington, L=Redmond, O=Microsoft Corporation, CN=Microsoft Windows Production PCA 2011',
    ]);
    expect(db.signatureLists!.every((l) => l.signatureTypeName === 'x509')).toBe(true);
    expect(db.signatureLists![0]!.signatures[0]!.certSha256).toMatch(/^48e99b99/);
    const kek = variable(log, 'KEK');
    expect(kek.signatureLists![0]!.signatures[0]!.subject).toContain('CN=Microsoft Corporation KEK CA 2011');
    const dbx = variable(log, 'dbx');
    const hashes = dbx.signatureLists!.filter((l) => l.signatureTypeName === 'sha256');
    expect(hashes).toHaveLength(1);
    expect(hashes[0]!.signatures).toHaveLength(183);
    expect(hashes[0]!.signatures.every((s) => s.data.length === 32)).toBe(true);
  });

  it('EV_EFI_VARIABLE_AUTHORITY: the db certificate used, and shim\'s bare vendor certificate', () => {
    const log = load(`${GT}rhel8-uefi.bin`);
    const dbAuth = variable(log, 'db', EV.EV_EFI_VARIABLE_AUTHORITY);
    expect(dbAuth.signatureData!.subject).toContain('CN=Microsoft Corporation UEFI CA 2011');
    expect(dbAuth.signatureData!.owner).toMatch(/^[0-9a-f-]{36}$/);
    const shim = variable(log, 'Shim', EV.EV_EFI_VARIABLE_AUTHORITY);
    expect(shim.variableGuid).toBe('605dab50-e046-4300-abb6-3dd810dd8b23');
    expect(shim.signatureData!.owner).toBe('');
    expect(shim.signatureData!.subject).toContain('CN=Red Hat Secure Boot CA 5');
    // Old shim's extra trailing bytes do not prevent identifying the certificate.
    const debianShim = variable(load(`${GT}debian-10.bin`), 'Shim', EV.EV_EFI_VARIABLE_AUTHORITY);
    expect(debianShim.signatureData!.subject).toBeDefined();
  });

  it('Boot#### load options and BootOrder (rhel8)', () => {
    const log = load(`${GT}rhel8-uefi.bin`);
    expect(variable(log, 'BootOrder', EV.EV_EFI_VARIABLE_BOOT).bootOrder).toEqual([2, 0, 1]);
    const boot2 = variable(log, 'Boot0002', EV.EV_EFI_VARIABLE_BOOT).loadOption!;
    expect(boot2.description).toBe('Red Hat Enterprise Linux');
    expect(boot2.devicePath.map((n) => n.text)).toContain('\\EFI\\redhat\\shimx64.efi');
    expect(boot2.devicePath[0]!.text).toMatch(/^HD\(1,GPT,ef72374c-2630-46a1-88d6-082693781140,/);
  });

  it('shim, grub and kernel image loads in PCR 4 with their file paths', () => {
    const apps = load(`${GT}ubuntu-2104-no-secure-boot.bin`).events.filter((e) => e.type === EV.EV_EFI_BOOT_SERVICES_APPLICATION);
    expect(apps[0]!.pcr).toBe(4);
    expect(decodedOf(apps[0], 'image_load').path).toBe('\\EFI\\ubuntu\\shimx64.efi');
    expect(decodedOf(apps[1], 'image_load').path).toBe('\\EFI\\ubuntu\\grubx64.efi');
    const shim = decodedOf(apps[0], 'image_load');
    expect(shim.devicePath.map((n) => n.text).slice(0, 2)).toEqual(['PciRoot(0x0)', 'Pci(0x3,0x0)']);
    expect(shim.imageLengthInMemory).toBeGreaterThan(0n);
  });

  it('PCI option ROM driver in PCR 2 (option_rom_eventlog)', () => {
    const log = load('go-attestation/attest/testdata/option_rom_eventlog');
    const drv = log.events.find((e) => e.type === EV.EV_EFI_BOOT_SERVICES_DRIVER)!;
    expect(drv.pcr).toBe(2);
    const d = decodedOf(drv, 'image_load');
    expect(d.devicePath.map((n) => n.text).join('/')).toMatch(/^PciRoot\(0x0\)\/Pci\(0x2,0x0\)\/Pci\(0x0,0x0\)\/Offset\(/);
    expect(d.path).toBeUndefined();
  });

  it('kernel command line in PCR 8: upstream grub, RHEL grub and old systemd-boot', () => {
    const ubuntu = load(`${GT}ubuntu-2104-no-secure-boot.bin`).events.filter((e) => e.pcr === 8 && e.decoded.kind === 'text');
    const cmd = ubuntu.map((e) => (e.decoded as Kind<'text'>).text).find((t) => t.startsWith('kernel_cmdline: '));
    expect(cmd).toMatch(/^kernel_cmdline: \/boot\/vmlinuz-5\.11\.0-1006-gcp root=PARTUUID=/);
    const rhel = load(`${GT}rhel8-uefi.bin`).events[78]!;
    expect(decodedOf(rhel, 'text').text).toMatch(/^grub_kernel_cmdline \(hd0,gpt2\)\/boot\/vmlinuz-4\.18\.0-240/);
    expect(decodedOf(rhel, 'text').nulTerminated).toBe(true);
    const rhelCmds = load(`${GT}rhel8-uefi.bin`).events.filter((e) => e.pcr === 8 && e.decoded.kind === 'text' && e.decoded.text.startsWith('grub_cmd '));
    expect(rhelCmds.length).toBeGreaterThan(40);
    const arch = decodedOf(load(`${GT}arch-linux-workstation.bin`).events[24], 'text');
    expect(arch.encoding).toBe('utf-16le');
    expect(arch.text).toMatch(/^initrd=\\intel-ucode\.img initrd=\\initramfs-linux-lts\.img cryptdevice=/);
  });

  it('systemd-boot UTF-16LE command line in PCR 12 (event-sd-boot-fedora37.bin)', () => {
    const ev = load(`${T2}event-sd-boot-fedora37.bin`).events.filter((e) => e.pcr === 12 && e.type === EV.EV_IPL);
    expect(ev.length).toBeGreaterThan(0);
    const t = decodedOf(ev[0], 'text');
    expect(t.encoding).toBe('utf-16le');
    expect(t.text).toBe(' console=ttyS0 console=tty0 efi=debug ');
    expect(t.nulTerminated).toBe(true);
  });

  it('StartupLocality 3 and S-CRTM contents in glinux-alex.bin', () => {
    const log = load(`${GT}glinux-alex.bin`);
    expect(decodedOf(log.events[1], 'startup_locality').locality).toBe(3);
    expect(log.events[1]!.type).toBe(EV.EV_NO_ACTION);
    expect(decodedOf(log.events[2], 'text').text).toBe('FIT Type 0x02 Measured S-CRTM');
    expect(decodedOf(log.events[6], 'firmware_blob').length).toBeGreaterThan(0n);
  });

  it('WBCL separators, EV_EVENT_TAG and PCR-index -1 events in option_rom_eventlog', () => {
    const log = load('go-attestation/attest/testdata/option_rom_eventlog');
    const wbcl = log.events.filter((e) => e.type === EV.EV_SEPARATOR && e.decoded.kind === 'separator' && e.decoded.value === null);
    expect(wbcl.map((e) => e.pcr)).toEqual([12, 13, 14]);
    expect(wbcl.every((e) => Buffer.from(e.data).toString('latin1') === 'WBCL')).toBe(true);
    expect(decodedOf(log.events.find((e) => e.pcr === 0 && e.type === EV.EV_SEPARATOR), 'separator')).toMatchObject({ value: 0, isError: false });
    expect(log.events.filter((e) => e.pcr === 0xffffffff).length).toBeGreaterThan(0);
    expect(log.events.filter((e) => e.type === EV.EV_EVENT_TAG).every((e) => e.decoded.kind === 'event_tag')).toBe(true);
  });

  it('SP800-155 reference-manifest EV_NO_ACTION events (eventlogwithsp800155.bin)', () => {
    const log = load(`${GT}eventlogwithsp800155.bin`);
    const sp = log.events.filter((e) => e.decoded.kind === 'sp800_155');
    expect(sp.map((e) => e.index)).toEqual([1, 2]);
    expect(sp.every((e) => e.type === EV.EV_NO_ACTION)).toBe(true);
  });

  it('GPT, firmware blobs, EV_EFI_ACTION, S-CRTM version', () => {
    const ubuntu = load(`${GT}ubuntu-2104-no-secure-boot.bin`);
    expect(decodedOf(ubuntu.events[1], 'text')).toMatchObject({ text: 'GCE Virtual Firmware v1', encoding: 'utf-16le' });
    const gpt = decodedOf(load(`${GT}eventlogwithsp800155.bin`).events[26], 'gpt');
    expect(gpt.partitions.map((p) => p.name)).toContain('EFI-SYSTEM');
    const fedora = load(`${T2}event-sd-boot-fedora37.bin`);
    expect(decodedOf(fedora.events[2], 'firmware_blob')).toMatchObject({ base: 0x820000n, length: 917504n });
    expect(decodedOf(fedora.events[15], 'text').text).toBe('Calling EFI Application from Boot Option');
  });

  it('every event of every real log decodes except known vendor-binary ones', () => {
    const all = ['rhel8-uefi.bin', 'ubuntu-2104-no-secure-boot.bin', 'debian-10.bin', 'arch-linux-workstation.bin', 'glinux-alex.bin', 'eventlogwithsp800155.bin'].map((n) => load(GT + n));
    for (const log of all) expect(log.events.filter((e) => e.decodeError !== undefined)).toEqual([]);
    // HP's EV_S_CRTM_VERSION is a binary structure: raw with the reason, the log still parses.
    const hp = load('go-attestation/attest/testdata/option_rom_eventlog').events[0]!;
    expect(hp.decoded.kind).toBe('raw');
    expect(hp.decodeError).toBeDefined();
  });
});

describe('decoder failures do not fail the parse', () => {
  it('a malformed UEFI_VARIABLE_DATA inside a well-formed event becomes raw with decodeError', () => {
    // Legacy log: one EV_EFI_VARIABLE_DRIVER_CONFIG whose VariableDataLength overruns the event.
    const data = new Uint8Array(40);
    new DataView(data.buffer).setBigUint64(24, 0xc0000000n, true);
    const head = new Uint8Array(32);
    const v = new DataView(head.buffer);
    v.setUint32(0, 7, true);
    v.setUint32(4, EV.EV_EFI_VARIABLE_DRIVER_CONFIG, true);
    v.setUint32(28, data.length, true);
    const log = parseEventLog(new Uint8Array([...head, ...data]));
    expect(log.events[0]!.decoded).toEqual({ kind: 'raw' });
    expect(log.events[0]!.decodeError).toMatch(/VariableDataLength/);
  });

  it('PCR indexes above 23 (other than 0xFFFFFFFF) are a ParseError naming the offset', () => {
    const head = new Uint8Array(32);
    new DataView(head.buffer).setUint32(0, 24, true);
    expect(() => parseEventLog(head)).toThrow(ParseError);
    expect(() => parseEventLog(head)).toThrow(/pcrIndex at offset 0/);
  });
});
