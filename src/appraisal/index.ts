/** Appraisal: one parsed log + replay + quote against golden profiles -> verdict and findings. */
export { appraiseEvidence, EvidenceInputError, type AppraisalOutcome, type AppraisalTimings, type EvidenceInput } from './pipeline.ts';
export { appraiseLog, pcrResetValue, type AppraiseLogInput, type LogAppraisal } from './appraise.ts';
export { NO_PROFILE_SELECTION, requiredPcrSelection, requiredPcrSelectionText } from './pcr-selection.ts';
export { FAILURE_CODES, isFailureCode, type FailureCode } from './codes.ts';
export { checkClock, type ClockLike } from './clock.ts';
export type { Finding, Verdict } from './types.ts';
