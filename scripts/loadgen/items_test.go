package main

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

func ev(typ string, kv ...string) abci.Event {
	e := abci.Event{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Attributes = append(e.Attributes, abci.EventAttribute{Key: kv[i], Value: kv[i+1], Index: true})
	}
	return e
}

// A grant transaction (code 0) whose charges were judged one by one: the
// rejected charge, recorded on the ledger with nothing granted, is not
// counted as a granted item; accepted links name their people.
func TestAcceptedItemsCountsOnlyGranted(t *testing.T) {
	r := &abci.ExecTxResult{Code: 0, Events: []abci.Event{
		ev("grant", "program", "p", "provider", "paypay", "mykey_id", "AAAAAAAA", "charge_ref", "c1", "granted_yen", "250", "outcome", "accepted", "code", "0"),
		ev("grant", "program", "p", "provider", "paypay", "mykey_id", "AAAAAAAA", "charge_ref", "c2", "granted_yen", "0", "outcome", "rejected", "code", "27", "reason", "zero_grant"),
		ev("grant", "program", "p", "provider", "paypay", "mykey_id", "BBBBBBBB", "charge_ref", "c3", "granted_yen", "100", "outcome", "accepted", "code", "0"),
	}}
	if n, people := acceptedItems(r); n != 2 || len(people) != 0 {
		t.Fatalf("grant: %d items, people %v; want 2 granted charges of 3", n, people)
	}
	r = &abci.ExecTxResult{Code: 0, Events: []abci.Event{
		ev("link", "program", "p", "provider", "paypay", "mykey_id", "AAAAAAAA", "outcome", "accepted", "code", "0"),
		ev("link", "program", "p", "provider", "linepay", "mykey_id", "", "outcome", "rejected", "code", "11"),
	}}
	if n, people := acceptedItems(r); n != 1 || len(people) != 1 || people[0] != (linkedPerson{"paypay", "AAAAAAAA"}) {
		t.Fatalf("links: %d items, people %v", n, people)
	}
	r = &abci.ExecTxResult{Code: 1, Events: []abci.Event{ev("rejected", "kind", "grant", "outcome", "rejected", "code", "1")}}
	if n, _ := acceptedItems(r); n != 0 {
		t.Fatalf("a rejected transaction: %d items", n)
	}
}
