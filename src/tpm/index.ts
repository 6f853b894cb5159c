/** TPM 2.0 structures, names and quote verification. Pure functions over bytes. */
export * from './alg.ts';
export * from './alg-names.ts';
export * from './attributes.ts';
export * from './public.ts';
export * from './public-key.ts';
export * from './pcr-selection.ts';
export * from './attest.ts';
export * from './signature.ts';
export * from './pcr-digest.ts';
export * from './quote.ts';
export * from './pcr-file.ts';
export * from './kdf.ts';
export * from './credential.ts';
