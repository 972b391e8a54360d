// The embedded slapd serves both the tests and `shrtok-proxy demo`; tests import it from here.
export * from '../../src/embedded/slapd.js';
