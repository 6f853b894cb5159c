/**
 * The tampering scenarios of the TEAM scenario table: each is one small change to the clean
 * reference platform (or to the host after boot) plus what a verifier must report for it.
 */
import { PNP0A03 } from './boot/efi.ts';
import { fakeImage, secureBootCert, type Platform } from './boot/platform.ts';

export const SCENARIO_NAMES = [
  'clean',
  'bios-reflash',
  'option-rom-implant',
  'secure-boot-off',
  'db-key-added',
  'dbx-rollback',
  'unknown-bootloader',
  'kernel-swap',
  'cmdline-tamper',
  'hidden-measurement',
  'log-tamper',
  'replayed-quote',
] as const;

export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface ScenarioInfo {
  description: string;
  /** The exact set of failure codes a verifier must report (empty: the appraisal passes). */
  expectedCodes: string[];
  /** PCRs whose values differ from a clean host's (TPM values; for log-tamper the log is edited too). */
  pcrs: number[];
}

export const SCENARIOS: Record<ScenarioName, ScenarioInfo> = {
  clean: { description: 'The reference machine, untouched.', expectedCodes: [], pcrs: [] },
  'bios-reflash': {
    description: 'The second firmware volume (EV_EFI_PLATFORM_FIRMWARE_BLOB, PCR 0) was reflashed with different contents.',
    expectedCodes: ['firmware_not_allowed'],
    pcrs: [0],
  },
  'option-rom-implant': {
    description:
      'A PCI option ROM (EV_EFI_BOOT_SERVICES_DRIVER with a PciRoot/Pci/Pci/Offset device path) is loaded into PCR 2; no Secure Boot authority event is logged for it.',
    expectedCodes: ['driver_not_allowed'],
    pcrs: [2],
  },
  'secure-boot-off': {
    description: 'SecureBoot = 0 in PCR 7; as on real firmware, no EV_EFI_VARIABLE_AUTHORITY events follow (PK/KEK/db/dbx unchanged).',
    expectedCodes: ['secure_boot_disabled'],
    pcrs: [7],
  },
  'db-key-added': {
    description: 'An extra X.509 certificate ("Rogue Signing Key") was appended to db as its own EFI_SIGNATURE_LIST (PCR 7).',
    expectedCodes: ['secure_boot_db_not_allowed'],
    pcrs: [7],
  },
  'dbx-rollback': {
    description: 'dbx was rolled back: a required revoked SHA-256 hash (the first of REQUIRED_DBX_HASHES) is missing (PCR 7).',
    expectedCodes: ['dbx_entry_missing'],
    pcrs: [7],
  },
  'unknown-bootloader': {
    description: 'grubx64.efi was replaced by an unknown image: its EV_EFI_BOOT_SERVICES_APPLICATION digest in PCR 4 differs.',
    expectedCodes: ['bootloader_not_allowed'],
    pcrs: [4],
  },
  'kernel-swap': {
    description: 'A different kernel at the same path: the PCR 4 application event and the PCR 9 EV_IPL file event both change.',
    expectedCodes: ['kernel_not_allowed'],
    pcrs: [4, 9],
  },
  'cmdline-tamper': {
    description: 'init=/bin/sh appended to the kernel command line (the "kernel_cmdline: " EV_IPL event in PCR 8; no grub_cmd changes).',
    expectedCodes: ['cmdline_not_allowed'],
    pcrs: [8],
  },
  'hidden-measurement': {
    description: 'After boot, PCR 11 is extended in every bank with nothing in the event log; quoted PCR 11 is not its reset value.',
    expectedCodes: ['pcr_unexplained'],
    pcrs: [11],
  },
  'log-tamper': {
    description:
      "A kernel-swap host whose log was edited after boot: the swapped kernel's PCR 4 and PCR 9 digests replaced by the clean kernel's. The log looks clean but its replay differs from the quoted PCRs 4 and 9.",
    expectedCodes: ['pcr_replay_mismatch'],
    pcrs: [4, 9],
  },
  'replayed-quote': {
    description:
      'The host resubmits an earlier quote with its old nonce (HostAgent does an honest attestation, then replays it). Service: nonce_reused; offline with a fresh nonce: nonce_mismatch.',
    expectedCodes: ['nonce_reused'],
    pcrs: [],
  },
};

export const TAMPERED_PCR11_EXTEND = 'tpm-sim hidden measurement';

/** The platform a scenario boots (scenarios that act after boot return the clean platform unchanged). */
export function applyScenario(platform: Platform, name: ScenarioName): Platform {
  const p = structuredClone(platform);
  switch (name) {
    case 'bios-reflash': {
      const blob = p.firmware.blobs[1];
      if (blob) blob.contents = fakeImage('firmware volume DXE 2.1.0 (reflashed)', blob.contents.length);
      break;
    }
    case 'option-rom-implant':
      p.drivers.push({
        devicePath: [
          { kind: 'acpi', hid: PNP0A03, uid: 0 },
          { kind: 'pci', device: 0x03, fn: 0x0 },
          { kind: 'pci', device: 0x00, fn: 0x0 },
          { kind: 'offset', start: 0x0n, end: 0xffffn },
        ],
        image: fakeImage('implanted PCI option ROM', 8192),
      });
      break;
    case 'secure-boot-off':
      p.secureBoot.enabled = false;
      break;
    case 'db-key-added':
      p.secureBoot.db.certs.push(secureBootCert('db-rogue'));
      break;
    case 'dbx-rollback':
      p.secureBoot.dbx.sha256.shift();
      break;
    case 'unknown-bootloader':
      p.grub.contents = fakeImage('grub 2.12 (unknown build)', p.grub.contents.length);
      break;
    case 'kernel-swap':
    case 'log-tamper':
      p.kernel.contents = fakeImage('linux 6.8.0-sim (swapped)', p.kernel.contents.length);
      break;
    case 'cmdline-tamper':
      p.kernelCmdline = `${p.kernelCmdline} init=/bin/sh`;
      break;
    case 'clean':
    case 'hidden-measurement':
    case 'replayed-quote':
      break;
  }
  return p;
}

export function isScenarioName(s: string): s is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(s);
}
