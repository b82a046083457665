// Package archtest holds the import rules of the module as a test: what
// the client binary, the node and the internal helpers may link. It has no
// code of its own.
package archtest
