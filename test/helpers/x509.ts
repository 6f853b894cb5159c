/**
 * The one import of @peculiar/x509 (tests only: they build synthetic PKIs with it). Its dependency tsyringe needs the
 * Reflect metadata polyfill loaded first, so every module imports X.509 from here.
 */
import 'reflect-metadata';

export * as x509 from '@peculiar/x509';
