package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/lightverify"
	"github.com/mykeyledger/mykey/client/audit/report"
)

// exportOpts are export's flags.
type exportOpts struct {
	program, provider string
	since, until      string
	query             string
	format, output    string
	charges           bool
}

func newExportCmd(f *flags) *cobra.Command {
	o := &exportOpts{}
	cmd := &cobra.Command{
		Use:   "export [--program P] [--provider V] [--since T] [--until T] [--format csv|jsonl] [--output FILE] [--charges]",
		Short: "Export the verified day-level grant ledger and person totals as CSV or JSON lines",
		Long: `export writes the public grant ledger at the height H0 the export starts
at: the daily records (program, provider, day in Japan, grants, yen granted)
and every person's totals (program, MyKey ID, provider linked to, granted,
recovered, cap left). It holds no charge: no amount, time or reference of
a single charge, which would make a pseudonym a spending record. As CSV
(default) the day table comes first, then a blank line and the person
table, each with its header row; as JSON lines each line says its "record"
kind ("day" or "person").

Every record is proved against its block header. The daily records are
read all at H0 and must add up to the total the state root of H0 commits
to and to the proved program and provider totals; a node that left a
daily record out, or altered one, fails this check (exit status 6) or its
proof (exit status 5).

--since and --until select days (RFC 3339 or YYYY-MM-DD in JST): a day is
kept when its start lies in since <= start < until. --program and
--provider select days and people (by the provider linked to); --query
keeps rows whose MyKey ID, program or provider contains the text.

--charges exports each charge instead (program, provider, charge
reference, MyKey ID, amount, granted, times, height), for government
auditors: charge records are not public, so --node must be a validator's
full RPC. The charges recorded by H0 are checked against the totals at H0
(their sum must equal the total the state root commits to, or the proved
totals of the program or provider).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.format == "" {
				o.format = report.FormatCSV
				if f.run.Flags.JSON {
					o.format = report.FormatJSONL
				}
			}
			if strings.Contains(o.provider+o.program, "/") {
				return usage("audit: program and provider IDs contain no \"/\"")
			}
			filter, err := o.filter()
			if err != nil {
				return err
			}
			f.full = o.charges
			c, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			if o.charges {
				return runChargeExport(cmd.Context(), c, o, filter, f.run.Env.Stdout, f.run.Env.Stderr)
			}
			return runExport(cmd.Context(), c, o, filter, f.run.Env.Stdout, f.run.Env.Stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.program, "program", "", "only this program")
	fl.StringVar(&o.provider, "provider", "", "only this provider")
	fl.StringVar(&o.since, "since", "", "only days (with --charges: grants recorded) at or after this time (RFC 3339, or YYYY-MM-DD in JST)")
	fl.StringVar(&o.until, "until", "", "only days (with --charges: grants recorded) before this time (RFC 3339, or YYYY-MM-DD in JST)")
	fl.StringVar(&o.query, "query", "", "only rows whose MyKey ID, program or provider (with --charges: or charge reference) contains this")
	fl.StringVar(&o.format, "format", "", "csv or jsonl (default csv; jsonl with --json)")
	fl.StringVarP(&o.output, "output", "o", "-", "file to write (written whole or not at all), - for stdout")
	fl.BoolVar(&o.charges, "charges", false, "export each charge (not public: needs a validator's full RPC)")
	return cmd
}

func (o *exportOpts) filter() (report.Filter, error) {
	f := report.Filter{Query: o.query}
	var err error
	if f.Since, err = parseTime(o.since); err != nil {
		return f, usage("audit: --since: %w", err)
	}
	if f.Until, err = parseTime(o.until); err != nil {
		return f, usage("audit: --until: %w", err)
	}
	return f, nil
}

// parseTime reads RFC 3339 or a JST date; "" is 0.
func parseTime(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Unix(), nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, report.JST)
	if err != nil {
		return 0, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", s)
	}
	return t.Unix(), nil
}

// scopes returns what an export reads in full.
func scopes(t *report.Totals, program, provider string) []report.Scope {
	switch {
	case program != "":
		return []report.Scope{{Program: program, Provider: provider}}
	case provider != "":
		var out []report.Scope
		for _, p := range t.Programs {
			out = append(out, report.Scope{Program: p.ID, Provider: provider})
		}
		return out
	}
	return []report.Scope{{}}
}

// completeness keeps the mismatches that say an export is incomplete or
// inconsistent (Reconcile's other checks are about the totals alone).
func completeness(ms []report.Mismatch) []report.Mismatch {
	var out []report.Mismatch
	for _, m := range ms {
		switch m.Check {
		case "root = grants", "provider = grants", "grants have totals", "grant record", "cutoff":
			out = append(out, m)
		}
	}
	return out
}

// output is where an export goes: stdout, or a file written whole (a
// temporary file renamed into place by commit) or not at all.
type output struct {
	w    io.Writer
	buf  *bufio.Writer
	file *os.File
	name string
}

func openOutput(name string, stdout io.Writer) (*output, error) {
	o := &output{w: stdout, name: name}
	if name != "-" && name != "" {
		file, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".partial-*")
		if err != nil {
			return nil, classify(fmt.Errorf("audit: %w", err))
		}
		o.file, o.w = file, file
	}
	o.buf = bufio.NewWriterSize(o.w, 256<<10)
	return o, nil
}

// discard removes an uncommitted file.
func (o *output) discard() {
	if o.file != nil {
		o.file.Close()
		os.Remove(o.file.Name())
		o.file = nil
	}
}

func (o *output) flush() error {
	if err := o.buf.Flush(); err != nil {
		return classify(fmt.Errorf("audit: export: %w", err))
	}
	return nil
}

// commit puts a complete file in place.
func (o *output) commit() error {
	if o.file == nil {
		return nil
	}
	if err := o.file.Sync(); err != nil {
		return classify(fmt.Errorf("audit: %w", err))
	}
	if err := o.file.Close(); err != nil {
		return classify(fmt.Errorf("audit: %w", err))
	}
	if err := os.Rename(o.file.Name(), o.name); err != nil {
		return classify(fmt.Errorf("audit: %w", err))
	}
	o.file = nil
	return nil
}

// readExportTotals reads the totals and checks the program and provider
// asked for exist.
func readExportTotals(ctx context.Context, c *lightverify.Client, o *exportOpts) (*report.Totals, error) {
	t, err := report.ReadTotals(ctx, c)
	if err != nil {
		return nil, classify(err)
	}
	if o.program != "" && t.Program(o.program) == nil {
		return nil, &ExitError{Code: ExitNotFound, Err: fmt.Errorf("audit: no program %q at height %d", o.program, t.Height)}
	}
	if o.provider != "" && t.Provider(o.provider) == nil {
		return nil, &ExitError{Code: ExitNotFound, Err: fmt.Errorf("audit: no provider %q at height %d", o.provider, t.Height)}
	}
	return t, nil
}

// dayMatch reports whether the daily record d passes the export's
// selection: its day's start (JST) within since <= start < until.
func dayMatch(d *report.DayView, o *exportOpts, f report.Filter) bool {
	if o.program != "" && d.Program != o.program || o.provider != "" && d.Provider != o.provider {
		return false
	}
	if f.Since != 0 || f.Until != 0 {
		start, err := time.ParseInLocation(time.DateOnly, d.Day, report.JST)
		if err != nil || f.Since != 0 && start.Unix() < f.Since || f.Until != 0 && start.Unix() >= f.Until {
			return false
		}
	}
	return f.Query == "" || containsFold(f.Query, d.Program, d.Provider)
}

func personMatch(r *report.PersonRow, o *exportOpts, f report.Filter) bool {
	if o.provider != "" && r.Provider != o.provider {
		return false
	}
	return f.Query == "" || containsFold(f.Query, r.MyKeyID, r.Program, r.Provider)
}

func containsFold(q string, ss ...string) bool {
	q = strings.ToLower(q)
	for _, s := range ss {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// startExport reads the totals an export starts from, opens its output
// and says when verification is off; what names what is exported.
func startExport(ctx context.Context, c *lightverify.Client, o *exportOpts, stdout, stderr io.Writer, what string) (*report.Totals, *output, error) {
	t, err := readExportTotals(ctx, c, o)
	if err != nil {
		return nil, nil, err
	}
	out, err := openOutput(o.output, stdout)
	if err != nil {
		return nil, nil, err
	}
	if !c.Verified() {
		fmt.Fprintf(stderr, "export: UNVERIFIED: verification is off; %s as node %s gives them\n", what, c.Node())
	}
	return t, out, nil
}

// runExport writes the public ledger: the daily records and the person
// totals, from public records only.
func runExport(ctx context.Context, c *lightverify.Client, o *exportOpts, filter report.Filter, stdout, stderr io.Writer) error {
	t, out, err := startExport(ctx, c, o, stdout, stderr, "records")
	if err != nil {
		return err
	}
	defer out.discard()
	lw, err := report.NewLedgerWriter(out.buf, out.buf, o.format)
	if err != nil {
		return usage("%w", err)
	}
	fmt.Fprintf(stderr, "export: the daily grant ledger and person totals at height %d, from node %s\n", t.Height, c.Node())
	var days, dayGrants, dayYen int64
	for _, d := range t.Days {
		if !dayMatch(d, o, filter) {
			continue
		}
		days++
		dayGrants += d.Grants
		dayYen += d.GrantedYen
		if err := lw.WriteDay(d); err != nil {
			return classify(fmt.Errorf("audit: export: %w", err))
		}
	}
	if err := lw.StartPersons(); err != nil {
		return classify(fmt.Errorf("audit: export: %w", err))
	}
	var persons int64
	ps, err := report.ScanPersons(ctx, c, t, o.program, func(r *report.PersonRow) error {
		if !personMatch(r, o, filter) {
			return nil
		}
		persons++
		return lw.WritePerson(r)
	})
	if err != nil {
		return classify(err)
	}
	if err := lw.Flush(); err != nil {
		return classify(fmt.Errorf("audit: export: %w", err))
	}
	if err := out.flush(); err != nil {
		return err
	}
	if bad := report.Reconcile(t, nil); len(bad) > 0 {
		for _, m := range bad {
			fmt.Fprintf(stderr, "export: MISMATCH %s\n", m)
		}
		return mismatch("audit: the ledger at height %d (node %s) does not reconcile: %d mismatches; records involved: %s",
			t.Height, c.Node(), len(bad), strings.Join(involved(bad), ", "))
	}
	if err := out.commit(); err != nil {
		return err
	}
	what := "the daily records add up to the total the state root commits to and to the program and provider totals"
	if !c.Verified() {
		what = "UNVERIFIED"
	}
	fmt.Fprintf(stderr, "export: %d daily records (%d grants, ¥%s) at height %d and %d person totals (proved at heights %d-%d) written; complete: %s\n",
		days, dayGrants, report.Yen(dayYen), t.Height, persons, ps.FirstHeight, ps.LastHeight, what)
	return nil
}

// chargesRefused explains a node's refusal to serve charge records: they
// are not public.
func chargesRefused(err error) error {
	var re *lightverify.RefusedError
	if errors.As(err, &re) && strings.HasPrefix(re.Key, types.PrefixCharge) {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("audit: node %s does not serve the charge records (%s, code %d): "+
			"charge-level detail (each charge's amount, time and reference) is not public; it needs a validator's full RPC as --node", re.Node, re.Log, re.Code)}
	}
	return classify(err)
}

// runChargeExport writes each charge (--charges), read through a
// validator's full RPC, and checks the charges recorded by H0 against the
// totals at H0.
func runChargeExport(ctx context.Context, c *lightverify.Client, o *exportOpts, filter report.Filter, stdout, stderr io.Writer) error {
	t, out, err := startExport(ctx, c, o, stdout, stderr, "grants")
	if err != nil {
		return err
	}
	defer out.discard()
	gw, err := report.NewGrantWriter(out.buf, o.format)
	if err != nil {
		return usage("%w", err)
	}
	fmt.Fprintf(stderr, "export: grants recorded by height %d, from node %s\n", t.Height, c.Node())
	prog := newProgress(stderr, "export")
	scan, err := report.ScanGrants(ctx, c, t.Height, scopes(t, o.program, o.provider), filter, prog.page, func(g *report.Grant) error {
		return gw.Write(g)
	})
	if err != nil {
		return chargesRefused(err)
	}
	if err := gw.Flush(); err != nil {
		return classify(fmt.Errorf("audit: export: %w", err))
	}
	if err := out.flush(); err != nil {
		return err
	}
	prog.done(scan)
	bad := completeness(report.Reconcile(t, scan))
	if len(bad) > 0 {
		for _, m := range bad {
			fmt.Fprintf(stderr, "export: MISMATCH %s\n", m)
		}
		return mismatch("audit: export of %s is incomplete or inconsistent at height %d (node %s): %d mismatches",
			describeScopes(scan.Scopes), t.Height, c.Node(), len(bad))
	}
	if err := out.commit(); err != nil {
		return err
	}
	what := "its sum matches the proved totals"
	if len(scan.Scopes) == 1 && scan.Scopes[0].All() {
		what = "its sum matches the total the state root commits to"
	}
	if !c.Verified() {
		what = "UNVERIFIED"
	}
	fmt.Fprintf(stderr, "export: %d of %d grants (¥%s) recorded by height %d written; %d rejected charges not counted as grants; %d recorded later left out; complete: %s\n",
		scan.Passed, scan.Kept, report.Yen(scan.Total.Yen), t.Height, scan.Rejected, scan.Later, what)
	return nil
}

func describeScopes(ss []report.Scope) string {
	var parts []string
	for _, s := range ss {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, ", ")
}

// progress reports a scan on stderr: at most once a second, and at the end.
type progress struct {
	w    io.Writer
	what string
	last time.Time
}

func newProgress(w io.Writer, what string) *progress {
	return &progress{w: w, what: what, last: time.Now()}
}

func (p *progress) page(s *report.Scan) {
	if time.Since(p.last) < time.Second {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "%s: %d charge records read in %d pages (proved at height %d)\n", p.what, s.Read, s.Pages, s.LastHeight)
}

func (p *progress) done(s *report.Scan) {
	fmt.Fprintf(p.w, "%s: %d charge records read (%d grants, %d rejected charges) in %d pages, proved at heights %d-%d\n", p.what, s.Read, s.Kept, s.Rejected, s.Pages, s.FirstHeight, s.LastHeight)
}
