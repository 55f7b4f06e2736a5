package scoring

import (
	"context"
	"errors"
	"time"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/forecast"
)

// ForecastQuery selects a cash-in forecast made by the server. A plain
// value; the zero value takes the defaults.
type ForecastQuery struct {
	// From is the forecast day (zero: today).
	From time.Time
	// Weeks (0 = forecast.DefaultWeeks) and Origins (the earlier
	// forecasts that calibrate the intervals; nil = forecast.DefaultOrigins).
	Weeks   int
	Origins *int
	// Model is a registered invoice model version ("" = the active one).
	Model string
}

// CashForecast forecasts the cash tenant receives per week
// (forecast.Cash) with its active invoice model or q.Model, on the
// warehouse: bad weeks, origins or a model of another kind are
// ErrInvalid, an unknown version ErrNotFound, no invoice model or a
// failing warehouse ErrUnavailable.
func (s *Core) CashForecast(ctx context.Context, tenant string, q ForecastQuery) (*forecast.Forecast, error) {
	opt := forecast.Options{Tenant: tenant, From: q.From, Weeks: q.Weeks, Threshold: s.cfg.Threshold, Origins: forecast.DefaultOrigins}
	if opt.From.IsZero() {
		opt.From = s.today()
	}
	if opt.Weeks == 0 {
		opt.Weeks = forecast.DefaultWeeks
	}
	if opt.Weeks < 1 || opt.Weeks > forecast.MaxWeeks {
		return nil, Invalid("weeks", "%d: want 1..%d", opt.Weeks, forecast.MaxWeeks)
	}
	if q.Origins != nil {
		if *q.Origins < 0 || *q.Origins > forecast.MaxOrigins {
			return nil, Invalid("origins", "%d: want 0..%d", *q.Origins, forecast.MaxOrigins)
		}
		opt.Origins = *q.Origins
	}
	var a *model.Artifact
	if q.Model != "" {
		var err error
		if a, err = s.registered(ctx, tenant, "model", q.Model); err != nil {
			return nil, err
		}
		if a.Kind != model.Invoice {
			return nil, Invalid("model", "%s is a %s model: the cash-in forecast takes an invoice model", q.Model, a.Kind)
		}
	} else {
		l := s.models.get(tenant, string(model.Invoice))
		if l == nil {
			return nil, unavailable("no active invoice model for this tenant (train one and run duewise models promote VERSION)")
		}
		a = l.a
	}
	f, err := forecast.Cash(ctx, s.cfg.Engine, a, opt)
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return nil, unavailable("the cash-in forecast did not finish within the request's time (%v): ask for fewer origins, or make it offline with duewise forecast cash", err)
	default:
		return nil, unavailable("cash-in forecast: %v", err)
	}
}
