// Preact with htm: tagged templates instead of JSX, so the browser runs the files as written.
import { h, render, Component, Fragment, createRef } from './vendor/preact.mjs';
import htm from './vendor/htm.mjs';

export const html = htm.bind(h);
export { h, render, Component, Fragment, createRef };
