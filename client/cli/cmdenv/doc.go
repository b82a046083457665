// Package cmdenv is what every mykey command runs with, whichever package
// defines it (client/cli, and client/audit for `mykey audit`): the world a
// run sees (Env, injected so tests replace it), the flags the root command
// defines once for all of them (Flags), the node and local network they
// resolve to, and the one scheme of exit statuses.
//
// The root (client/cli) makes one Run per process, registers its Flags on
// its persistent flag set and hands the Run to every command group; a
// command reads the environment only through Run.Env.Getenv.
package cmdenv
