// The throwaway PKI lives in src/embedded (the demo uses it too); tests import it from here.
export * from '../../src/embedded/tls.js';
