package rpc

import (
	"strconv"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/types"
)

// Item is one judged item of a transaction, from its event: a link, a
// charge, a government action, or the whole transaction ("rejected" event,
// when it was refused before its items were judged).
type Item struct {
	Type  string            // event type: types.EventLink, EventGrant, EventGov or EventRejected
	Attrs map[string]string // event attributes (types.Attr*; first value of each key)
}

// Items returns the items of a transaction result, in the order judged.
// Events of other types are skipped.
func Items(events []abci.Event) []Item {
	var out []Item
	for _, ev := range events {
		switch ev.Type {
		case types.EventLink, types.EventGrant, types.EventGov, types.EventRejected:
		default:
			continue
		}
		it := Item{Type: ev.Type, Attrs: make(map[string]string, len(ev.Attributes))}
		for _, a := range ev.Attributes {
			if _, dup := it.Attrs[a.Key]; !dup {
				it.Attrs[a.Key] = a.Value
			}
		}
		out = append(out, it)
	}
	return out
}

// Accepted reports whether the ledger accepted the item.
func (it Item) Accepted() bool { return it.Attrs[types.AttrOutcome] == types.OutcomeAccepted }

// Code is the item's result code (0 accepted).
func (it Item) Code() uint32 {
	c, _ := strconv.ParseUint(it.Attrs[types.AttrCode], 10, 32)
	return uint32(c)
}

// Int returns an integer attribute (0 if absent or not a number).
func (it Item) Int(key string) int64 {
	v, _ := strconv.ParseInt(it.Attrs[key], 10, 64)
	return v
}

// Get returns an attribute ("" if absent).
func (it Item) Get(key string) string { return it.Attrs[key] }
