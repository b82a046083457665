package app

import (
	"encoding/binary"
	"fmt"

	"github.com/mykeyledger/mykey/app/store"
	"github.com/mykeyledger/mykey/app/types"
)

// record is a generated state message.
type record interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
	Reset()
}

// load reads the record under key into m; false if absent. A record that
// does not decode is a broken invariant, so it is a Go error.
func load(r reader, key []byte, m record) (bool, error) {
	bz, err := r.Get(key)
	if err != nil {
		return false, fmt.Errorf("app: read %q: %w", key, err)
	}
	if bz == nil {
		return false, nil
	}
	m.Reset()
	if err := m.Unmarshal(bz); err != nil {
		return false, fmt.Errorf("app: decode %q: %w", key, err)
	}
	return true, nil
}

// save writes m under key. A record larger than the store takes is a
// rejection of the transaction that would make it, never a halt.
func save(c *cache, key []byte, m record, weight uint64) error {
	bz, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("app: encode %q: %w", key, err)
	}
	if len(bz) > store.MaxValueSize {
		return types.ErrTooLarge.Wrapf("record %.40q would be %d bytes, more than the %d the ledger stores", key, len(bz), store.MaxValueSize)
	}
	c.Set(key, bz, weight)
	return nil
}

func loadUint(r reader, key []byte) (uint64, error) {
	bz, err := r.Get(key)
	if err != nil {
		return 0, fmt.Errorf("app: read %q: %w", key, err)
	}
	if bz == nil {
		return 0, nil
	}
	if len(bz) != 8 {
		return 0, fmt.Errorf("app: counter %q has %d bytes", key, len(bz))
	}
	return binary.BigEndian.Uint64(bz), nil
}

// nextSeq returns the counter under key plus one and stores it.
func nextSeq(c *cache, key []byte) (uint64, error) {
	n, err := loadUint(c, key)
	if err != nil {
		return 0, err
	}
	n++
	var bz [8]byte
	binary.BigEndian.PutUint64(bz[:], n)
	c.Set(key, bz[:], 0)
	return n, nil
}

func getGov(r reader) (*types.GovState, error) {
	var g types.GovState
	ok, err := load(r, types.KeyGov(), &g)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("app: no government state: chain not initialised")
	}
	return &g, nil
}

func getProvider(r reader, id string) (*types.Provider, error) {
	var p types.Provider
	ok, err := load(r, types.KeyProvider(id), &p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, types.ErrUnknownProvider.Wrapf("%q", id)
	}
	return &p, nil
}

func getProgram(r reader, id string) (*types.Program, error) {
	var p types.Program
	ok, err := load(r, types.KeyProgram(id), &p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, types.ErrUnknownProgram.Wrapf("%q", id)
	}
	return &p, nil
}

// getMyKey returns the record of id, following merges to the surviving ID.
func getMyKey(r reader, id string) (*types.MyKeyRecord, error) {
	for hops := 0; hops < 64; hops++ {
		var m types.MyKeyRecord
		ok, err := load(r, types.KeyMyKey(id), &m)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, types.ErrUnknownMyKey.Wrapf("%q", id)
		}
		if m.MergedInto == "" {
			return &m, nil
		}
		id = m.MergedInto
	}
	return nil, fmt.Errorf("app: MyKey ID %q: merge chain too long", id)
}

func getProgramTotals(r reader, program string) (*types.ProgramTotals, error) {
	var t types.ProgramTotals
	_, err := load(r, types.KeyProgramTotals(program), &t)
	return &t, err
}

func getProviderTotals(r reader, program, provider string) (*types.ProviderTotals, error) {
	var t types.ProviderTotals
	_, err := load(r, types.KeyProviderTotals(program, provider), &t)
	return &t, err
}

func getPerson(r reader, program, mykey string) (*types.PersonTotals, error) {
	var t types.PersonTotals
	_, err := load(r, types.KeyPerson(program, mykey), &t)
	return &t, err
}

// getLink returns the active linkage of (program, mykey), or nil.
func getLink(r reader, program, mykey string) (*types.Linkage, error) {
	l, err := getLinkRecord(r, program, mykey)
	return activeLink(l), err
}

// getLinkRecord returns the linkage record of (program, mykey), active or
// voided, or nil.
func getLinkRecord(r reader, program, mykey string) (*types.Linkage, error) {
	var l types.Linkage
	ok, err := load(r, types.KeyLink(program, mykey), &l)
	if err != nil || !ok {
		return nil, err
	}
	return &l, nil
}

func activeLink(l *types.Linkage) *types.Linkage {
	if l == nil || l.Status != types.LinkStatus_LINK_STATUS_ACTIVE {
		return nil
	}
	return l
}
