// Package report computes what an auditor reads from MyKey Ledger: totals
// per program and provider, the daily grant ledger, person totals, the
// history of government actions, a person's record, and the
// reconciliation of them all. Every record comes verified from a Source
// (package lightverify).
//
// Public and private records. The public side (app/types.PublicKey) holds
// the totals, the daily records, person totals and linkages, over-grants
// and the history; ReadTotals, ScanPersons, ReadHistory and Person without
// grants read nothing else. The charge records (ScanGrants, Person with
// grants) are read by validators and government auditors only, through a
// validator's full RPC (see package audit for why each public record is
// needed).
//
// Heights. A node answers only at its latest height, so reading many pages
// spans heights. Two rules keep the figures consistent:
//
//   - Small, mutable sets (programs, totals, providers, over-grants, the
//     daily records, the government state) are read all at one height
//     (ConsistentWith): if the height moved between pages, everything is
//     read again. The daily records then add up exactly to the program
//     and provider totals of that height and to its root sum.
//   - Grant records are immutable, never deleted, and carry the height they
//     were recorded at. ScanGrants fixes a cutoff H0 (the height of the
//     totals) and keeps the grants recorded at or before H0, each proved at
//     its own page's height. They are exactly the grants that existed at
//     H0, so their sum must equal what the totals at H0 say, and for a full
//     scan the total yen the app hash of H0 commits to (proof.RootSum):
//     a grant a node hid from a page, or invented, breaks the sum.
//     History entries are immutable too and numbered without gaps up to
//     the government's next sequence at H0. A rejected charge is recorded
//     too (Code != 0, nothing granted): it is never counted as a grant,
//     and only handed on when the Filter asks for rejected charges.
//
// Completeness. Every range read in full (readPages, Consistent) is added
// up in a lightverify.Tally against the count record the node proves with
// each page: a node that leaves out a grant, an over-grant, a history
// entry or a linkage event is named untrusted ("incomplete range: node
// returned N of M records under dir"), even where no sum covers them.
//
// Reconcile compares all of it and names the records that disagree.
package report
