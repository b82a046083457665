package audit

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/client/audit/lightverify"
	"github.com/mykeyledger/mykey/client/audit/report"
)

// exportOpts are export's flags.
type exportOpts struct {
	program, provider string
	since, until      string
	query             string
	format, output    string
}

func newExportCmd(f *flags) *cobra.Command {
	o := &exportOpts{}
	cmd := &cobra.Command{
		Use:   "export [--program P] [--provider V] [--since T] [--until T] [--format csv|jsonl] [--output FILE]",
		Short: "Export verified grants as CSV or JSON lines, streamed, with progress on stderr",
		Long: `export writes every grant recorded up to the height H0 the export starts
at, as CSV (default) or JSON lines, in key order (program, provider, charge
reference). Each page of 1000 grants is proved against its block header as
it streams; memory stays bounded whatever the number of grants.

When it is done, export checks the grants are complete: their sum must equal
the total the state root of H0 commits to (a full export) or the proved
totals of the program or provider at H0. A node that left a grant out, or
added one, fails this check: exit status 6.

--since and --until select by the time the grant was recorded (block time;
RFC 3339 or YYYY-MM-DD in JST), since <= time < until; --query keeps grants
whose charge reference, MyKey ID, program or provider contains the text.
These filters do not narrow what is read and checked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.format == "" {
				o.format = report.FormatCSV
				if f.json {
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
			c, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			return runExport(cmd.Context(), c, o, filter, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.program, "program", "", "only this program's grants")
	fl.StringVar(&o.provider, "provider", "", "only this provider's grants")
	fl.StringVar(&o.since, "since", "", "only grants recorded at or after this time (RFC 3339, or YYYY-MM-DD in JST)")
	fl.StringVar(&o.until, "until", "", "only grants recorded before this time (RFC 3339, or YYYY-MM-DD in JST)")
	fl.StringVar(&o.query, "query", "", "only grants whose charge reference, MyKey ID, program or provider contains this")
	fl.StringVar(&o.format, "format", "", "csv or jsonl (default csv; jsonl with --json)")
	fl.StringVarP(&o.output, "output", "o", "-", "file to write (written whole or not at all), - for stdout")
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

func runExport(ctx context.Context, c *lightverify.Client, o *exportOpts, filter report.Filter, stdout, stderr io.Writer) error {
	t, err := report.ReadTotals(ctx, c)
	if err != nil {
		return classify(err)
	}
	if o.program != "" && t.Program(o.program) == nil {
		return &ExitError{Code: ExitNotFound, Err: fmt.Errorf("audit: no program %q at height %d", o.program, t.Height)}
	}
	if o.provider != "" && t.Provider(o.provider) == nil {
		return &ExitError{Code: ExitNotFound, Err: fmt.Errorf("audit: no provider %q at height %d", o.provider, t.Height)}
	}
	var (
		out  io.Writer = stdout
		file *os.File
		buf  *bufio.Writer
	)
	if o.output != "-" && o.output != "" {
		file, err = os.CreateTemp(filepath.Dir(o.output), "."+filepath.Base(o.output)+".partial-*")
		if err != nil {
			return classify(fmt.Errorf("audit: %w", err))
		}
		defer func() {
			if file != nil {
				file.Close()
				os.Remove(file.Name())
			}
		}()
		out = file
	}
	buf = bufio.NewWriterSize(out, 256<<10)
	gw, err := report.NewGrantWriter(buf, o.format)
	if err != nil {
		return usage("%w", err)
	}
	if !c.Verified() {
		fmt.Fprintf(stderr, "export: UNVERIFIED: verification is off; grants as node %s gives them\n", c.Node())
	}
	fmt.Fprintf(stderr, "export: grants recorded by height %d, from node %s\n", t.Height, c.Node())
	prog := newProgress(stderr, "export")
	scan, err := report.ScanGrants(ctx, c, t.Height, scopes(t, o.program, o.provider), filter, prog.page, func(g *report.Grant) error {
		return gw.Write(g)
	})
	if err != nil {
		return classify(err)
	}
	if err := gw.Flush(); err != nil {
		return classify(fmt.Errorf("audit: export: %w", err))
	}
	if err := buf.Flush(); err != nil {
		return classify(fmt.Errorf("audit: export: %w", err))
	}
	prog.done(scan)
	bad := completeness(report.Reconcile(t, scan))
	if len(bad) > 0 {
		for _, m := range bad {
			fmt.Fprintf(stderr, "export: MISMATCH %s\n", m)
		}
		return &ExitError{Code: ExitMismatch, Err: fmt.Errorf("audit: export of %s is incomplete or inconsistent at height %d (node %s): %d mismatches",
			describeScopes(scan.Scopes), t.Height, c.Node(), len(bad))}
	}
	if file != nil {
		if err := file.Sync(); err != nil {
			return classify(fmt.Errorf("audit: %w", err))
		}
		if err := file.Close(); err != nil {
			return classify(fmt.Errorf("audit: %w", err))
		}
		if err := os.Rename(file.Name(), o.output); err != nil {
			return classify(fmt.Errorf("audit: %w", err))
		}
		file = nil
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
