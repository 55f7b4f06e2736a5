package scoring

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/training/report"
)

// ReportQuery selects what a model report made by the server is computed
// on. A plain value; the zero value takes the defaults.
type ReportQuery struct {
	// Compare is a second version of the same kind, scored on the same rows.
	Compare string
	// From and To bound the reference dates (both included); zero To is
	// ReportLabelDays before the end of the tenant's data, zero From is
	// To minus ReportMonths months.
	From, To time.Time
	// Every is the step of the customer-level dates ("" = "1mo").
	Every string
}

// ReportLabelDays is how long before the end of the data the default
// reference dates end, so that most rows' 90-day outcome is known.
const ReportLabelDays = 90

// ReportMonths is the default span of the reference dates.
const ReportMonths = 5

// MaxReportRows bounds the rows (customers times dates) of one report: the
// snapshot is computed by the warehouse while the server runs, and held in
// memory (about 0.6 KB a row); a wider report is made offline with
// `duewise features snapshot` and `duewise report`.
const MaxReportRows = 1_000_000

// levels are the snapshot levels of the model kinds.
var levels = map[model.Kind]string{model.Behaviour: features.LevelCustomer, model.Invoice: features.LevelInvoice, model.Onboarding: features.LevelOnboarding}

// ModelReport builds the report of tenant's registered model version on a
// labelled snapshot of the tenant's data computed now (features.Snapshot,
// the rows of `duewise features snapshot`): an unknown version is
// ErrNotFound, dates or a step that select no row or too many are
// ErrInvalid, a failing warehouse ErrUnavailable.
func (s *Core) ModelReport(ctx context.Context, tenant, version string, q ReportQuery) (*report.Report, error) {
	a, err := s.registered(ctx, tenant, "version", version)
	if err != nil {
		return nil, err
	}
	var b *model.Artifact
	if q.Compare != "" {
		if b, err = s.registered(ctx, tenant, "compare", q.Compare); err != nil {
			return nil, err
		}
		if b.Kind != a.Kind {
			return nil, Invalid("compare", "%s is a %s model and %s a %s model: compare models of one kind", version, a.Kind, q.Compare, b.Kind)
		}
	}
	opt := features.SnapshotOptions{Tenant: tenant, From: q.From, To: q.To, Every: q.Every, Level: levels[a.Kind], Threshold: s.cfg.Threshold}
	if opt.Every == "" {
		opt.Every = "1mo"
	}
	if opt.To.IsZero() {
		eod, err := features.EndOfData(ctx, s.cfg.Engine, tenant)
		if err != nil {
			return nil, unavailable("model report: %v", err)
		}
		opt.To = eod.AddDate(0, 0, -ReportLabelDays)
	}
	if opt.From.IsZero() {
		opt.From = opt.To.AddDate(0, -ReportMonths, 0)
	}
	if opt.From.After(opt.To) {
		return nil, Invalid("from", "%s is after to %s", opt.From.Format(time.DateOnly), opt.To.Format(time.DateOnly))
	}
	if err := s.boundReport(opt); err != nil {
		return nil, err
	}
	rr, err := features.Snapshot(ctx, s.cfg.Engine, opt)
	if err != nil {
		return nil, unavailable("model report: %v", err)
	}
	defer rr.Release()
	d, err := training.Load(rr)
	if errors.Is(err, training.ErrNoRows) {
		return nil, Invalid("from", "no labelled rows of tenant %s between %s and %s", tenant, opt.From.Format(time.DateOnly), opt.To.Format(time.DateOnly))
	} else if err != nil {
		return nil, unavailable("model report: %v", err)
	}
	src := fmt.Sprintf("a %s-level snapshot of tenant %s, %s to %s", opt.Level, tenant, opt.From.Format(time.DateOnly), opt.To.Format(time.DateOnly))
	if opt.Level == features.LevelCustomer {
		src += " every " + opt.Every
	}
	rep, err := report.Build(report.Options{Model: a, Compare: b, Data: d, Source: src, Now: s.cfg.Now()})
	if err != nil {
		return nil, Invalid("", "%v", err)
	}
	return rep, nil
}

// registered loads tenant's registered model version; field names the
// request field that gave it.
func (s *Core) registered(ctx context.Context, tenant, field, version string) (*model.Artifact, error) {
	e, err := s.entry(ctx, tenant, field, version, "model report", "model "+version+" does not load")
	if err != nil {
		return nil, err
	}
	a, err := s.cfg.Registry.Load(e)
	if err != nil {
		return nil, refused(field, "model %s does not load: %v", version, err)
	}
	return a, nil
}

// boundReport refuses a report of more than MaxReportRows customer-level
// rows before the warehouse computes it, counting the tenant's customers
// in the online features in memory.
func (s *Core) boundReport(opt features.SnapshotOptions) error {
	if opt.Level != features.LevelCustomer {
		return nil
	}
	dates, err := features.Dates(opt.From, opt.To, opt.Every)
	if err != nil {
		return Invalid("every", "%v", err)
	}
	var customers int64
	if t := s.online.Current(); t != nil {
		customers = int64(t.Customers(opt.Tenant))
	}
	if n := customers * int64(len(dates)); n > MaxReportRows {
		return Invalid("from", "%d customers at %d dates are %d rows, more than the %d a report made by the server may hold: choose fewer dates (from, to, every), or make it offline with duewise features snapshot and duewise report", customers, len(dates), n, MaxReportRows)
	}
	return nil
}
