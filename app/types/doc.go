// Package types holds MyKey Ledger's transactions and state records,
// generated from proto/mykey/v1 by scripts/protogen.sh, together with their
// sign bytes and canonical encoding.
package types
