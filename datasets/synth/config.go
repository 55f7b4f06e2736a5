package synth

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/duewise/duewise/datasets/rowfile"
)

// DefaultStart is the first simulated month when none is given: 24 months
// before 2026-11-01, fixed so that a seed always gives the same files.
var DefaultStart = time.Date(2024, time.November, 1, 0, 0, 0, 0, time.UTC)

// Config configures Generate.
type Config struct {
	// Customers is the number of simulated customers (> 0).
	Customers int
	// Months is the number of simulated months (1..600).
	Months int
	// Seed makes the world reproducible: the same seed and config give
	// byte-identical files.
	Seed int64
	// Tenant fills the tenant column.
	Tenant string
	// Start is the first day of the first simulated month (UTC).
	Start time.Time
	// End, when not zero, ends the world instead: nothing at or after
	// 00:00 UTC on End is generated, and the Months months count back
	// from it (any day of the month; Start is ignored). A world can so end
	// today.
	End time.Time
	// Format is "csv" or "parquet".
	Format string
	// Out is the output folder.
	Out string
	// Workers is the number of simulating goroutines; 0 means GOMAXPROCS.
	// It never changes the output.
	Workers int
	// Log receives progress; nil discards.
	Log *slog.Logger
	// Policy is what the creditor does (nil: Standard, the world of
	// `duewise generate`). It acts from PolicyFrom; before it the creditor
	// follows Standard.
	Policy Policy
	// PolicyFrom is the first day Policy decides (zero: Start). It also
	// starts the window of the customers' ledgers (see Simulate).
	PolicyFrom time.Time
	// Effects are the sizes of the customers' responses to actions (the
	// zero value: DefaultEffects).
	Effects Effects
}

// policy returns the configured policy (Standard when none).
func (c Config) policy() Policy {
	if c.Policy == nil {
		return Standard
	}
	return c.Policy
}

// DefaultConfig returns a config for 1,000 customers over 24 months from
// DefaultStart, seed 1, tenant "demo", CSV into "synth".
func DefaultConfig() Config {
	return Config{Customers: 1000, Months: 24, Seed: 1, Tenant: "demo", Start: DefaultStart, Format: "csv", Out: "synth"}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.Format != string(rowfile.CSV) && c.Format != string(rowfile.Parquet):
		return fmt.Errorf("format: %q, want csv or parquet", c.Format)
	case c.Out == "":
		return errors.New("out: empty")
	}
	return c.validateWorld()
}

// validateWorld reports the first invalid field of the world (not of its
// files).
func (c *Config) validateWorld() error {
	if c.Effects == (Effects{}) {
		c.Effects = DefaultEffects()
	}
	switch {
	case c.Customers <= 0:
		return fmt.Errorf("customers: %d, want > 0", c.Customers)
	case c.Customers > 99_999_999:
		return fmt.Errorf("customers: %d, want at most 99,999,999", c.Customers)
	case c.Months <= 0 || c.Months > 600:
		return fmt.Errorf("months: %d, want 1..600", c.Months)
	case c.Tenant == "":
		return errors.New("tenant: empty")
	case c.Workers < 0:
		return fmt.Errorf("workers: %d, want >= 0", c.Workers)
	}
	if e := c.End; !e.IsZero() {
		if e.Location() != time.UTC || e.Hour() != 0 || e.Minute() != 0 || e.Second() != 0 || e.Nanosecond() != 0 {
			return fmt.Errorf("end: %s, want a day at 00:00 UTC", e.Format(time.RFC3339))
		}
		if e.AddDate(0, -c.Months, 0).Year() < 1971 || e.Year() > 2200 {
			return fmt.Errorf("end: year %d out of range", e.Year())
		}
		return nil
	}
	s := c.Start
	if s.Location() != time.UTC || s.Day() != 1 || s.Hour() != 0 || s.Minute() != 0 || s.Second() != 0 || s.Nanosecond() != 0 {
		return fmt.Errorf("start: %s, want the first day of a month at 00:00 UTC", s.Format(time.RFC3339))
	}
	if s.Year() < 1971 || s.Year() > 2200 {
		return fmt.Errorf("start: year %d out of range", s.Year())
	}
	if p := c.PolicyFrom; !p.IsZero() && (p.Before(s) || !p.Before(s.AddDate(0, c.Months, 0))) {
		return fmt.Errorf("policy from: %s, want a day from the start %s until the end of the world", p.Format(time.DateOnly), s.Format(time.DateOnly))
	}
	return c.Effects.Validate()
}

// Stats describes a generated world.
type Stats struct {
	// Customers is the number of customers simulated.
	Customers int
	// Rows is the number of rows written per table (contract tables and
	// truth).
	Rows map[string]int64
	// Files are the files written.
	Files []string
	// Elapsed is the wall time of Generate.
	Elapsed time.Duration
}
