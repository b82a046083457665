package app

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/types"
)

// exec applies transactions to a cache at one block's height and time. A
// transition is a function of (state, tx, block context) → (changes,
// result): exec reads no clock and writes nothing but its cache.
type exec struct {
	app     *App
	c       *cache
	height  int64
	time    time.Time
	chainID string
	// validator power changes made by this block's accepted government
	// actions.
	vals valChanges
	// nodesChanged: an accepted government action changed the node
	// registry, so Commit reloads the P2P allowlist.
	nodesChanged bool
}

// isRejection tells a transaction's rejection from a broken invariant.
func isRejection(err error) bool {
	var e *types.Error
	return errors.As(err, &e)
}

// item is the judgement of one link or charge of a transaction.
type item struct {
	err   error
	event abci.Event
}

// deliver executes one transaction. A rejection becomes the result's code;
// only a broken invariant or storage failure is returned as an error.
func (x *exec) deliver(bz []byte) (*abci.ExecTxResult, error) {
	tx, err := x.app.staticCheck(bz, x.chainID, x.time)
	if err != nil {
		return rejected(err, txEvent("malformed", err)), nil
	}
	var items []item
	switch b := tx.Body.(type) {
	case *types.Tx_Link:
		items, err = x.link(b.Link)
	case *types.Tx_LinkBatch:
		items, err = x.linkBatch(b.LinkBatch)
	case *types.Tx_Grant:
		items, err = x.grant(b.Grant)
	case *types.Tx_Gov:
		items, err = x.gov(b.Gov)
	}
	if err != nil {
		if !isRejection(err) {
			return nil, err
		}
		return rejected(err, txEvent(bodyKind(tx), err)), nil
	}
	return summarize(items), nil
}

func bodyKind(tx *types.Tx) string {
	switch tx.Body.(type) {
	case *types.Tx_Link:
		return types.TxKindLink
	case *types.Tx_LinkBatch:
		return types.TxKindLinkBatch
	case *types.Tx_Grant:
		return types.TxKindGrant
	case *types.Tx_Gov:
		return types.TxKindGov
	}
	return types.TxKindUnknown
}

func rejected(err error, events ...abci.Event) *abci.ExecTxResult {
	code, log := types.ABCIInfo(err)
	return &abci.ExecTxResult{Code: code, Codespace: types.Codespace, Log: log, Events: events}
}

// summarize gives a transaction of several items its code: 0 when at least
// one item was accepted, else the first item's rejection. Each item's
// outcome is in its own event.
func summarize(items []item) *abci.ExecTxResult {
	res := &abci.ExecTxResult{}
	accepted := 0
	var first error
	for _, it := range items {
		res.Events = append(res.Events, it.event)
		if it.err == nil {
			accepted++
		} else if first == nil {
			first = it.err
		}
	}
	switch {
	case len(items) == 1 && first != nil:
		res.Code, res.Log = types.ABCIInfo(first)
		res.Codespace = types.Codespace
	case accepted == 0 && first != nil:
		res.Code, _ = types.ABCIInfo(first)
		res.Codespace = types.Codespace
		res.Log = fmt.Sprintf("all %d rejected; first: %v", len(items), first)
	case len(items) == 1:
		res.Log = "ok"
	default:
		res.Log = fmt.Sprintf("%d of %d accepted", accepted, len(items))
	}
	return res
}

// attempt runs f in a child cache and keeps its writes only if it
// succeeds. A rejection is returned as the item's error; a broken
// invariant as the second value.
func (x *exec) attempt(f func(c *cache) error) (rejection, fatal error) {
	child := x.c.child()
	err := f(child)
	if err == nil {
		child.mergeInto(x.c)
		return nil, nil
	}
	if isRejection(err) {
		return err, nil
	}
	return nil, err
}

// event is an event of type typ (types.Event*) with the attributes
// kv (key, value, ...), indexed (app/types/events.go).
func event(typ string, kv ...string) abci.Event {
	ev := abci.Event{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Attributes = append(ev.Attributes, abci.EventAttribute{Key: kv[i], Value: kv[i+1], Index: true})
	}
	return ev
}

// outcome returns the outcome attributes of an item.
func outcome(err error) []string {
	if err == nil {
		return []string{types.AttrOutcome, types.OutcomeAccepted, types.AttrCode, "0"}
	}
	code, log := types.ABCIInfo(err)
	return []string{types.AttrOutcome, types.OutcomeRejected, types.AttrCode, strconv.FormatUint(uint64(code), 10),
		types.AttrReason, types.CodeName(code), types.AttrLog, log}
}

func txEvent(kind string, err error) abci.Event {
	return event(types.EventRejected, append([]string{types.AttrKind, kind}, outcome(err)...)...)
}
