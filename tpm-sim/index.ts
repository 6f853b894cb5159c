/** tpm-sim: a software TPM, a measured-boot simulator and a host agent, for tests, benchmarks and demos. */
export { createSimHost, DEFAULT_SELECTION, type SimHost, type SimHostOptions, type StaleEvidence } from './host.ts';
export { SCENARIOS, SCENARIO_NAMES, applyScenario, isScenarioName, type ScenarioInfo, type ScenarioName } from './scenarios.ts';
export { referencePlatform, fakeImage, secureBootCert, REQUIRED_DBX_HASHES, type Platform, type Image } from './boot/platform.ts';
export { bootEvents, bootPlatform, digestsOf, extendTpm, LOG_BANKS } from './boot/boot.ts';
export { encodeEventLog, EV, type SimEvent } from './boot/event-log.ts';
export { SimTpm, SIM_FIRMWARE_VERSION, type PcrSelectionRequest, type QuoteResult } from './tpm/sim-tpm.ts';
export { ActivateCredentialError } from './tpm/activate.ts';
export { PcrState, SIM_BANKS, PCR_COUNT, type SimBank } from './tpm/pcr-state.ts';
export { ekPublic, akPublic, qualifiedName, EK_AUTH_POLICY, EK_ATTRIBUTES, AK_ATTRIBUTES, type EkType, type AkType } from './tpm/templates.ts';
export { devCa, issueEkCertificate, SIM_TPM_MANUFACTURER, SIM_TPM_MODEL, SIM_TPM_VERSION } from './tpm/ek-cert.ts';
export { deriveP256Key, prewarmRsaKeys, rsaPoolSize } from './tpm/keys.ts';
export { AgentHttpError, HostAgent, type HostAgentOptions } from './agent.ts';
export { writeTpm2ToolsPcrs } from './tpm2-tools-files.ts';
