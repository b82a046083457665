// Package txbuild builds and signs MyKey Ledger transactions, and reads and
// writes the files that carry them between people before they are sent:
//
//   - a citizen's signed link request (`mykey link --out FILE`), which a
//     provider collects and submits in a batch (LinkFile);
//   - a government proposal (an unsigned GovAction) and each authority
//     key holder's signature over it (ProposalFile, SignatureFile), which
//     `mykey gov submit` combines into a k-of-n SignedGov.
//
// Builders split many charges or links into transactions that stay well
// below CometBFT's transaction and request size limits.
//
// Files are JSON with a "type" field, so that a file of one kind given
// where another is expected gets a clear error; the transaction bytes they
// carry are the canonical protobuf encoding (base64), so what was signed
// is exactly what is sent.
package txbuild
