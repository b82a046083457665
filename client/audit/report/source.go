package report

import (
	"context"
	"fmt"
	"time"

	"github.com/mykeyledger/mykey/client/audit/lightverify"
)

// Source gives verified records; *lightverify.Client is one.
type Source interface {
	Node() string
	Verified() bool
	Get(ctx context.Context, key string) (*lightverify.Record, error)
	Fetch(ctx context.Context, prefix, startAfter string, limit int) (*lightverify.RawPage, error)
	VerifyPage(ctx context.Context, raw *lightverify.RawPage) (*lightverify.Page, error)
	FetchRecord(ctx context.Context, key string) (*lightverify.RawRecord, error)
	VerifyRecord(ctx context.Context, raw *lightverify.RawRecord) (*lightverify.Record, error)
	AppHash(ctx context.Context, height int64) ([]byte, error)
}

var _ Source = (*lightverify.Client)(nil)

// Consistency bounds.
const (
	// MaxConsistentRecords bounds a Consistent read (it is held in memory).
	MaxConsistentRecords = 200_000
	consistentAttempts   = 12
)

// Consistent reads every record under each prefix, all at one height, and
// verifies them, and that the node gave every record of each counted
// directory (lightverify.Tally). It retries (a bounded number of times) while the node's
// height moves between pages.
func Consistent(ctx context.Context, src Source, prefixes []string) (int64, [][]lightverify.Record, error) {
	h, sets, _, err := ConsistentWith(ctx, src, prefixes, nil)
	return h, sets, err
}

// ConsistentWith is Consistent, and also reads the single records at keys
// at the same height (a record that is not a directory, such as the
// government state, is queried by its key: a public endpoint serves no
// range over it).
func ConsistentWith(ctx context.Context, src Source, prefixes, keys []string) (int64, [][]lightverify.Record, []*lightverify.Record, error) {
	var lastErr error
	for attempt := 0; attempt < consistentAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return 0, nil, nil, ctx.Err()
			case <-time.After(time.Duration(50*attempt) * time.Millisecond):
			}
		}
		raws, rawRecs, height, err := fetchAt(ctx, src, prefixes, keys)
		if err != nil {
			return 0, nil, nil, err
		}
		if raws == nil {
			lastErr = fmt.Errorf("report: node %s moved to a new height while %v was read, %d times", src.Node(), prefixes, attempt+1)
			continue
		}
		out := make([][]lightverify.Record, len(prefixes))
		for i, pages := range raws {
			tally := lightverify.NewTally(src.Node(), prefixes[i])
			for _, raw := range pages {
				p, err := src.VerifyPage(ctx, raw)
				if err != nil {
					return 0, nil, nil, err
				}
				tally.Add(p)
				out[i] = append(out[i], p.Records...)
			}
			// All at one height: the records must be exactly the count.
			if err := tally.Check(); err != nil {
				return 0, nil, nil, err
			}
		}
		recs := make([]*lightverify.Record, len(keys))
		for i, raw := range rawRecs {
			if recs[i], err = src.VerifyRecord(ctx, raw); err != nil {
				return 0, nil, nil, err
			}
		}
		return height, out, recs, nil
	}
	return 0, nil, nil, lastErr
}

// fetchAt fetches all pages of every prefix, then the records at keys;
// nil pages if they were not all at one height.
func fetchAt(ctx context.Context, src Source, prefixes, keys []string) ([][]*lightverify.RawPage, []*lightverify.RawRecord, int64, error) {
	var height int64
	n := 0
	out := make([][]*lightverify.RawPage, len(prefixes))
	for i, prefix := range prefixes {
		cursor := ""
		for {
			raw, err := src.Fetch(ctx, prefix, cursor, lightverify.MaxPage)
			if err != nil {
				return nil, nil, 0, err
			}
			if !sameHeight(&height, raw.Height) {
				return nil, nil, 0, nil
			}
			out[i] = append(out[i], raw)
			n += len(raw.Result.Records)
			if n > MaxConsistentRecords {
				return nil, nil, 0, fmt.Errorf("report: more than %d records under %v: too many to read at one height", MaxConsistentRecords, prefixes)
			}
			if raw.Next() == "" {
				break
			}
			cursor = raw.Next()
		}
	}
	recs := make([]*lightverify.RawRecord, len(keys))
	for i, key := range keys {
		raw, err := src.FetchRecord(ctx, key)
		if err != nil {
			return nil, nil, 0, err
		}
		if !sameHeight(&height, raw.Height) {
			return nil, nil, 0, nil
		}
		recs[i] = raw
	}
	return out, recs, height, nil
}

// sameHeight reports whether an answer at h is at the height of those
// before it (*height, 0 before the first answer, which sets it).
func sameHeight(height *int64, h int64) bool {
	if *height == 0 {
		*height = h
	}
	return *height == h
}
