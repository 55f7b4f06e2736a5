package quality

import (
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/duewise/duewise/training"
)

// Dataset names accepted by Config.Dataset.
const (
	UCI       = "uci"
	IBMAR     = "ibm-ar"
	Synthetic = "synthetic"
	German    = "german-credit"
)

// Datasets lists the benchmarks Run knows, in the order the docs present
// them.
var Datasets = []string{UCI, IBMAR, Synthetic, German}

// Config configures one quality benchmark. A plain value; zero fields
// take the defaults of DefaultConfig.
type Config struct {
	// Dataset is "uci", "ibm-ar", "synthetic" or "german-credit".
	Dataset string
	// Data is the source CSV file of the public datasets
	// (UCI_Credit_Card.csv, WA_Fn-UseC_-Accounts-Receivable.csv).
	Data string
	// Customers and Months size the synthetic world (defaults 100,000
	// and 24).
	Customers, Months int
	// Seed drives everything random: the synthetic world, the folds and
	// the networks' initialisation. The same seed gives the same figures.
	Seed int64
	// Tenant is the tenant the data is loaded as (default
	// "quality-<dataset>", for the synthetic world
	// "quality-synthetic-<customers>x<months>-<seed>", so that different
	// worlds never mix in a store that is kept).
	Tenant string
	// WorkDir receives the intermediate contract files (required; the
	// caller removes it).
	WorkDir string
	// Folds is the number of cross-validation folds of the UCI and German
	// credit benchmarks (default 5).
	Folds int
	// Train are the network's options; zero fields take the per-dataset
	// defaults of Run (see trainOptions). Seed, Kind and Progress are set
	// by Run.
	Train training.Options
	// Python runs the synthetic benchmark's reference
	// (reference_gbm.py, scikit-learn); "" tries python3 on PATH, then
	// Debian's /usr/bin/python3.
	Python string
	// Progress receives one line per step (import, load, snapshots,
	// training, evaluation); nil discards.
	Progress io.Writer
	// Log receives debug lines (every epoch); nil discards.
	Log *slog.Logger
}

// DefaultConfig returns the defaults: seed 1, 5 folds, a synthetic world
// of 100,000 customers over 24 months.
func DefaultConfig() Config {
	return Config{Customers: 100_000, Months: 24, Seed: 1, Folds: 5}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if !slices.Contains(Datasets, c.Dataset) {
		return fmt.Errorf("dataset %q: want uci, ibm-ar, synthetic or german-credit", c.Dataset)
	}
	if c.Dataset != Synthetic && c.Data == "" {
		return fmt.Errorf("dataset %s: the source file (Data) is required", c.Dataset)
	}
	if c.WorkDir == "" {
		return fmt.Errorf("work dir: required")
	}
	if c.Dataset == Synthetic && (c.Customers < 100 || c.Months < synthMinMonths) {
		return fmt.Errorf("synthetic world of %d customers x %d months: want at least 100 customers and %d months (history, training dates, test dates and 90 days of follow-up)", c.Customers, c.Months, synthMinMonths)
	}
	if (c.Dataset == UCI || c.Dataset == German) && (c.Folds < 2 || c.Folds > 20) {
		return fmt.Errorf("folds %d: want 2..20", c.Folds)
	}
	return nil
}

func (c *Config) defaults() {
	d := DefaultConfig()
	c.Customers, c.Months, c.Folds = or(c.Customers, d.Customers), or(c.Months, d.Months), or(c.Folds, d.Folds)
	if c.Tenant == "" {
		c.Tenant = "quality-" + c.Dataset
		if c.Dataset == Synthetic {
			c.Tenant = fmt.Sprintf("quality-synthetic-%dx%d-%d", c.Customers, c.Months, c.Seed)
		}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}
