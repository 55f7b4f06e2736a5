package simulation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	rf "github.com/duewise/duewise/datasets/rowfile"
	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/serving/policy"
	"github.com/duewise/duewise/serving/scoring"
)

// Config configures a simulation. A plain value; DefaultConfig gives the
// defaults.
type Config struct {
	// Customers and Months size each world; Start is its first month.
	Customers, Months int
	Start             time.Time
	// Seed is the first run's world; run r has seed Seed+r.
	Seed int64
	// Runs is the number of worlds of independent seeds (>= 1).
	Runs int
	// HorizonMonths is the evaluation horizon: the last months of the
	// world, from which the policies act (before it every world follows
	// the standard policy, the creditor's history).
	HorizonMonths int
	// Policies are compared in order: none, standard, default (duewise's
	// default action policy) or the path of a policy file.
	Policies []string
	// Tenant is written in the world files.
	Tenant string
	// Out, when set, receives the world files (data contract and
	// truth.csv, CSV) of every policy: Out/<policy>, or
	// Out/seed-<S>/<policy> with several runs.
	Out string
	// Sensitivity reruns the comparison with every assumed effect halved
	// and with the dunning leaving effect off.
	Sensitivity bool
	// Bootstrap is the number of bootstrap replicates (default 200).
	Bootstrap int
	// TrainCustomers is the sample the in-simulation models are trained
	// on (default 20,000; all customers when there are fewer).
	TrainCustomers int
	// Costs are the contact costs per channel.
	Costs Costs
	// Workers simulate in parallel; 0 = GOMAXPROCS.
	Workers int
	// Progress receives one line per step; nil discards. Log receives
	// debug lines.
	Progress io.Writer
	Log      *slog.Logger
}

// DefaultConfig: 10,000 customers over 24 months from synth.DefaultStart,
// seed 1, one run, a horizon of 12 months, the policies none, standard and
// default.
func DefaultConfig() Config {
	return Config{Customers: 10_000, Months: 24, Start: synth.DefaultStart, Seed: 1, Runs: 1, HorizonMonths: 12,
		Policies: []string{"none", "standard", "default"}, Tenant: "sim", Bootstrap: 200, TrainCustomers: 20_000, Costs: DefaultCosts()}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.Customers < 1 || c.Customers > 99_999_999:
		return fmt.Errorf("customers: %d, want 1..99,999,999", c.Customers)
	case c.Months < 2 || c.Months > 600:
		return fmt.Errorf("months: %d, want 2..600", c.Months)
	case c.Runs < 1 || c.Runs > 100:
		return fmt.Errorf("runs: %d, want 1..100", c.Runs)
	case c.HorizonMonths < 1 || c.HorizonMonths >= c.Months:
		return fmt.Errorf("horizon months: %d, want 1..%d (fewer than the world's months)", c.HorizonMonths, c.Months-1)
	case len(c.Policies) == 0:
		return errors.New("policies: none given")
	case c.Bootstrap < 20:
		return fmt.Errorf("bootstrap: %d replicates, want at least 20", c.Bootstrap)
	case c.TrainCustomers < 100:
		return fmt.Errorf("train customers: %d, want at least 100", c.TrainCustomers)
	}
	return nil
}

// PolicyResult is one policy's figures.
type PolicyResult struct {
	Policy  string              `json:"policy"`
	Metrics map[string]Estimate `json:"metrics"`
	// Actions are the actions the policy took per run (mean over the
	// runs), by kind.
	Actions map[string]float64 `json:"actions"`
	// VsStandard is the paired difference from the standard policy (this
	// policy minus standard, on the same customers and draws), when the
	// comparison has the standard policy.
	VsStandard map[string]Estimate `json:"vs_standard,omitempty"`
}

// Result is a simulation's report; its JSON is the output of `duewise
// simulate --format json`.
type Result struct {
	Seed          int64          `json:"seed"`
	Customers     int            `json:"customers"`
	Months        int            `json:"months"`
	Runs          int            `json:"runs"`
	HorizonMonths int            `json:"horizon_months"`
	Policies      []PolicyResult `json:"policies"`
	// Sensitivity holds the scenarios of --sensitivity.
	Sensitivity []Scenario `json:"sensitivity,omitempty"`

	// Horizon is the evaluation window; Models the in-simulation models
	// of the base scenario; Steps the wall time of each step.
	Horizon [2]time.Time  `json:"-"`
	Models  []ModelInfo   `json:"-"`
	Elapsed time.Duration `json:"-"`
}

// Scenario is the comparison under other effect sizes.
type Scenario struct {
	Name     string         `json:"scenario"`
	Policies []PolicyResult `json:"policies"`
	// Holds says, for every claim of docs/simulation.md, whether it holds
	// in this scenario.
	Holds map[string]bool `json:"holds"`
}

// ModelInfo describes one in-simulation model.
type ModelInfo struct {
	Seed    int64
	Rows    int
	AUC90   float64
	Elapsed time.Duration
}

// scenario is a set of effect sizes to compare the policies under.
type scenario struct {
	name    string
	effects synth.Effects
}

func scenarios(sensitivity bool) []scenario {
	base := synth.DefaultEffects()
	out := []scenario{{"base", base}}
	if sensitivity {
		noLeave := base
		noLeave.DunningLeave = 0
		out = append(out, scenario{"assumed effects halved", base.Halved()}, scenario{"no leaving over dunning", noLeave})
	}
	return out
}

// spec is one policy to compare: built in, or an action policy (needs
// the run's model).
type spec struct {
	name    string
	builtin synth.Policy
	rules   *policy.Policy
}

// specs resolves the policy names and files of cfg.
func specs(names []string) ([]spec, error) {
	var out []spec
	seen := map[string]bool{}
	for _, n := range names {
		var s spec
		switch p, ok := synth.PolicyOf(n); {
		case ok:
			s = spec{name: n, builtin: p}
		case n == "default":
			rules, err := policy.Default()
			if err != nil {
				return nil, err
			}
			s = spec{name: n, rules: rules}
		default:
			rules, err := policy.LoadFile(n)
			if err != nil {
				return nil, err
			}
			s = spec{name: strings.TrimSuffix(filepath.Base(n), filepath.Ext(n)), rules: rules}
		}
		for base, i := s.name, 2; seen[s.name]; i++ {
			s.name = base + "-" + strconv.Itoa(i)
		}
		seen[s.name] = true
		out = append(out, s)
	}
	return out, nil
}

// Run simulates cfg.Runs worlds per scenario, each policy on each world,
// and returns the metrics over the evaluation horizon.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	began := time.Now()
	if cfg.Costs == (Costs{}) {
		cfg.Costs = DefaultCosts()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	sp, err := specs(cfg.Policies)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	needModel := slices.ContainsFunc(sp, func(s spec) bool { return s.rules != nil })
	warm := cfg.Months - cfg.HorizonMonths
	if needModel && warm < MinWarmUp {
		return nil, fmt.Errorf("simulate: %d months before the horizon; a policy with models needs at least %d (train on the world's earlier months): use --months %d or more, or a shorter --horizon-months",
			warm, MinWarmUp, MinWarmUp+cfg.HorizonMonths)
	}
	defaults, err := policy.Default()
	if err != nil {
		return nil, err
	}
	res := &Result{Seed: cfg.Seed, Customers: cfg.Customers, Months: cfg.Months, Runs: cfg.Runs, HorizonMonths: cfg.HorizonMonths,
		Horizon: [2]time.Time{cfg.Start.AddDate(0, warm, 0), cfg.Start.AddDate(0, cfg.Months, 0)}}
	ref := slices.IndexFunc(sp, func(s spec) bool { return s.name == "standard" })
	for k, sc := range scenarios(cfg.Sensitivity) {
		acc := make([][]*accounts, len(sp))
		for r := range cfg.Runs {
			if err := runWorld(ctx, cfg, sc, k == 0, int64(r), sp, defaults.WIK, res, acc); err != nil {
				return nil, err
			}
		}
		est, diff := estimates(acc, ref, cfg.Bootstrap, uint64(cfg.Seed)^0xB007)
		prs := make([]PolicyResult, len(sp))
		for p, s := range sp {
			prs[p] = PolicyResult{Policy: s.name, Metrics: map[string]Estimate{}, Actions: map[string]float64{}}
			for _, a := range acc[p] {
				for k, n := range a.actions {
					if n > 0 {
						prs[p].Actions[synth.ActionKind(k).String()] += n / float64(len(acc[p]))
					}
				}
			}
			for m, name := range Metrics {
				prs[p].Metrics[name] = est[p][m]
			}
			if diff[p] != nil {
				prs[p].VsStandard = map[string]Estimate{}
				for m, name := range Metrics {
					prs[p].VsStandard[name] = diff[p][m]
				}
			}
		}
		if k == 0 {
			res.Policies = prs
			continue
		}
		res.Sensitivity = append(res.Sensitivity, Scenario{Name: sc.name, Policies: prs, Holds: claims(prs)})
	}
	res.Elapsed = time.Since(began)
	return res, nil
}

// runWorld simulates run r of scenario sc: trains the model when a
// policy needs one, then simulates every policy and appends its accounts.
func runWorld(ctx context.Context, cfg Config, sc scenario, base bool, r int64, sp []spec, wik policy.WIK, res *Result, acc [][]*accounts) error {
	seed := cfg.Seed + r
	warm := cfg.Months - cfg.HorizonMonths
	world := synth.Config{Customers: cfg.Customers, Months: cfg.Months, Seed: seed, Tenant: cfg.Tenant, Start: cfg.Start,
		PolicyFrom: cfg.Start.AddDate(0, warm, 0), Effects: sc.effects, Workers: cfg.Workers, Log: cfg.Log}
	local := map[*policy.Policy]*scoring.Local{}
	if slices.ContainsFunc(sp, func(s spec) bool { return s.rules != nil }) {
		fmt.Fprintf(cfg.Progress, "%s, seed %d: training the behaviour model on the first %d customers' %d months before the horizon ...\n", sc.name, seed, min(cfg.TrainCustomers, cfg.Customers), warm)
		t, err := trainModel(ctx, world, cfg.TrainCustomers, cfg.Log)
		if err != nil {
			return err
		}
		fmt.Fprintf(cfg.Progress, "%s, seed %d: model trained on %d rows in %s (AUC 90d %.4f on its latest training date)\n", sc.name, seed, t.rows, t.elapsed.Round(100*time.Millisecond), t.auc90)
		if base {
			res.Models = append(res.Models, ModelInfo{Seed: seed, Rows: t.rows, AUC90: t.auc90, Elapsed: t.elapsed})
		}
		for _, s := range sp {
			if s.rules != nil && local[s.rules] == nil {
				if local[s.rules], err = scoring.NewLocal(t.artifact, s.rules); err != nil {
					return fmt.Errorf("simulate: %w", err)
				}
			}
		}
	}
	from, end := rf.DateOf(world.PolicyFrom).At(0, 0, 0), rf.DateOf(cfg.Start.AddDate(0, cfg.Months, 0)).At(0, 0, 0)
	for p, s := range sp {
		w := world
		w.Policy = s.builtin
		if s.rules != nil {
			w.Policy = &actionPolicy{name: s.name, tenant: cfg.Tenant, local: local[s.rules]}
		}
		t0 := time.Now()
		a := &accounts{}
		var out *rf.Writer
		if cfg.Out != "" && base {
			dir := filepath.Join(cfg.Out, s.name)
			if cfg.Runs > 1 {
				dir = filepath.Join(cfg.Out, "seed-"+strconv.FormatInt(seed, 10), s.name)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("simulate: %w", err)
			}
			var err error
			if out, err = rf.Create(rf.Options{Dir: dir, Format: rf.CSV, Tenant: cfg.Tenant, Extra: []string{rf.TruthTable}}); err != nil {
				return fmt.Errorf("simulate: %w", err)
			}
		}
		err := synth.Simulate(ctx, w, func(c *synth.Chunk) error {
			for i := range c.Ledgers {
				a.add(&c.Ledgers[i], cfg.Costs, wik, from, end)
			}
			if out != nil {
				return out.Write(c.Rows)
			}
			return nil
		})
		if out != nil {
			if cerr := out.Close(); err == nil && cerr != nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("simulate %s, seed %d: %w", s.name, seed, err)
		}
		acc[p] = append(acc[p], a)
		fmt.Fprintf(cfg.Progress, "%s, seed %d: %s simulated in %s\n", sc.name, seed, s.name, time.Since(t0).Round(100*time.Millisecond))
	}
	return nil
}

// claims checks the claims of docs/simulation.md on one comparison:
// default (or the first action policy) beats standard on net collected
// and on customers kept with intervals that do not overlap, and sends
// fewer dunning letters to good payers; none collects less than standard.
func claims(prs []PolicyResult) map[string]bool {
	get := func(name string) *PolicyResult {
		for i := range prs {
			if prs[i].Policy == name {
				return &prs[i]
			}
		}
		return nil
	}
	out := map[string]bool{}
	std := get("standard")
	if std == nil {
		return out
	}
	above := func(a, b Estimate) bool { return a.CI95[0] > b.CI95[1] }
	if d := get("default"); d != nil {
		for _, m := range []string{"net_collected", "customers_kept"} {
			out["default beats standard on "+m+" (intervals apart)"] = above(d.Metrics[m], std.Metrics[m])
			if d.VsStandard != nil {
				out["default beats standard on "+m+" (paired interval above 0)"] = d.VsStandard[m].CI95[0] > 0
			}
		}
		out["default sends fewer dunned_good_payers"] = d.Metrics["dunned_good_payers"].Mean < std.Metrics["dunned_good_payers"].Mean
	}
	if n := get("none"); n != nil {
		out["none collects less than standard"] = n.Metrics["collected"].Mean < std.Metrics["collected"].Mean
	}
	return out
}

// Generate writes the world of cfg into cfg.Out, like synth.Generate, with
// the creditor following the policy called name: none or standard from
// the first month; default or a policy file (which need a model) from the
// last horizonMonths months, after the standard policy before them, with a
// behaviour model trained on the first trainCustomers customers' months
// before the horizon, as `duewise simulate` does.
func Generate(ctx context.Context, cfg synth.Config, name string, horizonMonths, trainCustomers int) (synth.Stats, error) {
	sp, err := specs([]string{name})
	if err != nil {
		return synth.Stats{}, fmt.Errorf("generate: %w", err)
	}
	s := sp[0]
	if s.rules == nil {
		cfg.Policy = s.builtin
		return synth.Generate(ctx, cfg)
	}
	warm := cfg.Months - horizonMonths
	if warm < MinWarmUp {
		return synth.Stats{}, fmt.Errorf("generate: policy %s needs a model trained on the world's months before it acts: %d months before the last %d, want at least %d (use --months %d or more)",
			name, warm, horizonMonths, MinWarmUp, MinWarmUp+horizonMonths)
	}
	cfg.PolicyFrom = cfg.Start.AddDate(0, warm, 0)
	t, err := trainModel(ctx, cfg, trainCustomers, cfg.Log)
	if err != nil {
		return synth.Stats{}, fmt.Errorf("generate: %w", err)
	}
	l, err := scoring.NewLocal(t.artifact, s.rules)
	if err != nil {
		return synth.Stats{}, fmt.Errorf("generate: %w", err)
	}
	cfg.Policy = &actionPolicy{name: s.name, tenant: cfg.Tenant, local: l}
	return synth.Generate(ctx, cfg)
}
