/** Adapts the pure core (enrollment, appraisal pipeline, golden profiles) to the service's ports. */
import { requiredPcrSelectionText } from '../appraisal/pcr-selection.ts';
import { prepareEnrollment } from '../enrollment/prepare.ts';
import { loadEkRoots } from '../enrollment/ek-roots.ts';
import { loadProfileDir, parseProfile, type GoldenProfile } from '../golden/index.ts';
import type { CoreDependencies, LoadedProfile } from './ports.ts';
import { appraiseSync, newLogCache } from './appraise-core.ts';

function loaded(p: GoldenProfile): LoadedProfile {
  return { name: p.name, version: p.version, pcrs: p.pcrs, parsed: p };
}

/** `ekRootsPath` undefined: the shipped manufacturer roots. Throws at start-up for a bad roots path. */
export function coreDependencies(ekRootsPath: string | undefined): CoreDependencies {
  const roots = loadEkRoots(ekRootsPath);
  const logCache = newLogCache();
  return {
    async prepareEnrollment(input) {
      const p = await prepareEnrollment({ ...input, roots });
      return { ekFingerprint: p.ekFingerprint, akName: p.akNameHex, secret: p.secret, credentialFile: p.credentialFile };
    },

    async appraise(input) {
      return appraiseSync(input, logCache);
    },

    pcrSelection(profiles) {
      return requiredPcrSelectionText(profiles.map((p) => p.parsed as GoldenProfile));
    },

    parseProfile(document, source) {
      return loaded(parseProfile(document, source));
    },

    loadProfileDir(dir) {
      return loadProfileDir(dir).map((p) => ({ profile: loaded(p), document: p as unknown, file: `${dir}/${p.name}@${p.version}` }));
    },
  };
}
