package training

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand"
	"slices"
	"sort"
	"time"

	G "gorgonia.org/gorgonia"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training/metrics"
)

// Grids are the default interval grids in days per model kind (see
// model.Artifact.Grid). The invoice grid starts [0, 0]: interval 0 is
// "paid on or before the due date".
var Grids = map[model.Kind][]float64{
	model.Behaviour:  {0, 7, 14, 21, 30, 45, 60, 75, 90, 120, 150, 180, 240, 300, 365},
	model.Onboarding: {0, 7, 14, 21, 30, 45, 60, 75, 90, 120, 150, 180, 240, 300, 365},
	model.Invoice:    {0, 0, 3, 7, 14, 21, 30, 45, 60, 90, 120, 180, 270, 365},
}

// DefaultExclude are the columns left out of every model unless
// Options.Exclude says otherwise: postcode_area can act as a proxy for
// protected attributes (docs/features.md) and needs a fairness review
// before it is used.
var DefaultExclude = []string{"postcode_area"}

// Options configure Train. The zero value of a field takes its default.
type Options struct {
	Kind      model.Kind // default behaviour
	Hidden    []int      // hidden layer sizes, default [64 32]
	Epochs    int        // maximum epochs, default 40
	Patience  int        // epochs without validation improvement before stopping, default 3
	BatchSize int        // default 1024
	LearnRate float64    // Adam step size, default 0.004 (Unconstrained: 0.002)
	L2        float64    // L2 penalty on the weights, default 1e-5
	Seed      int64      // initialisation and shuffling; the same seed gives the same model
	// Exclude names input columns the model must not use. nil means
	// DefaultExclude; an empty non-nil slice uses every column.
	Exclude []string
	// Average is the horizon, in epochs, of the moving average of the
	// weights that is validated and kept (see average); default 4, a
	// negative value keeps the last step's weights instead.
	Average float64
	// Directions are the declared directions of input columns; a column
	// it does not name takes the signal catalog's (features.Catalog,
	// docs/features.md). The network is monotone in every input with a
	// direction (see package model, Monotone models).
	Directions map[string]model.RiskDirection
	// Inputs, when set, names the extra columns of the snapshot (columns
	// that are not signals of the catalog, such as a tenant's declared
	// attributes) the model takes; the other extra columns are left out.
	// nil takes every extra column.
	Inputs []string
	// Attributes are the tenant's declared attributes: an onboarding
	// model records the label, range and values of those it takes, and
	// each one's direction unless Directions names the column. Extra
	// columns of an onboarding model that are not declared are labelled
	// by their name.
	Attributes []datasets.Attribute
	// Unconstrained trains without the monotone constraints and records
	// no direction: the model of earlier versions, to measure what the
	// constraints cost.
	Unconstrained bool
	// Ensemble is the number of networks trained on the same rows and
	// inputs with seeds Seed, Seed+1, ...; they are combined into one
	// network whose hazard logits are the members' mean (see combine).
	// Default 1.
	Ensemble int
	// ValidFraction is the share of rows, taken from the latest as_of
	// dates, used for early stopping and the reported metrics; default
	// 0.2. With a single as_of date the split is a seeded random one by
	// customer.
	ValidFraction float64
	Tenant        string // recorded in the artifact
	CodeVersion   string // recorded in the artifact
	// Progress, when set, is called after every epoch.
	Progress func(EpochStats)
	Log      *slog.Logger
}

func (o *Options) defaults() {
	if o.Kind == "" {
		o.Kind = model.Behaviour
	}
	if o.Hidden == nil {
		o.Hidden = []int{64, 32}
	}
	if o.Epochs == 0 {
		o.Epochs = 40
	}
	if o.Patience == 0 {
		o.Patience = 3
	}
	if o.BatchSize == 0 {
		o.BatchSize = 1024
	}
	if o.LearnRate == 0 {
		o.LearnRate = 0.002
		if !o.Unconstrained {
			o.LearnRate = monotoneLearnRate
		}
	}
	if o.L2 == 0 {
		o.L2 = 1e-5
	}
	if o.Average == 0 {
		o.Average = 4
	}
	if o.Ensemble == 0 {
		o.Ensemble = 1
	}
	if o.Exclude == nil {
		o.Exclude = DefaultExclude
	}
	if o.ValidFraction == 0 {
		o.ValidFraction = 0.2
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// EpochStats describe one training epoch.
type EpochStats struct {
	Member    int // ensemble member, 1-based
	Epoch     int
	Loss      float64 // mean training loss (masked BCE per person-period)
	ValidLoss float64
	Elapsed   time.Duration
	Best      bool // the best validation loss so far: these weights are kept
}

// Result is a trained model and how it was trained.
type Result struct {
	Artifact    *model.Artifact
	Epochs      []EpochStats
	TrainRows   []int // row indexes of the dataset
	ValidRows   []int
	SplitAsOf   time.Time // first as_of of the validation rows (zero for a random split)
	BestEpoch   int       // best epoch of the first ensemble member
	BestEpochs  []int     // best epoch of every ensemble member
	Elapsed     time.Duration
	Fingerprint string
	// Report measures the model and its baselines on the validation rows.
	Report *metrics.Report
}

// Train fits a logistic-hazard network on d. Training uses float32,
// Adam and the masked person-period BCE; after every epoch it validates the
// moving average of the weights (Options.Average), stops when the
// validation loss has not improved (by minImprovement) for Patience epochs
// and keeps the best averaged weights. The same data, options and seed
// give bit-for-bit the same artifact (apart from its creation time and
// version).
func Train(ctx context.Context, d *Dataset, opt Options) (*Result, error) {
	opt.defaults()
	start := time.Now()
	if !opt.Kind.Valid() {
		return nil, fmt.Errorf("train: kind %q: want behaviour, onboarding or invoice", opt.Kind)
	}
	if (opt.Kind == model.Invoice) != (d.InvoiceID != nil) {
		return nil, fmt.Errorf("train: a %s model needs %s snapshots", opt.Kind, map[bool]string{true: "invoice-level", false: "customer-level"}[opt.Kind == model.Invoice])
	}
	grid := Grids[opt.Kind]
	res := &Result{Fingerprint: d.Fingerprint()}
	res.TrainRows, res.ValidRows, res.SplitAsOf = split(d, opt.ValidFraction, opt.Seed)
	if len(res.TrainRows) < opt.BatchSize/4 || len(res.ValidRows) == 0 {
		return nil, fmt.Errorf("train: %d training and %d validation rows: too few", len(res.TrainRows), len(res.ValidRows))
	}
	exclude, attrs, err := opt.extraInputs(d)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	dir := opt.direction
	if opt.Unconstrained {
		dir = nil
	}
	fs := slices.DeleteFunc(fitFeatures(d, res.TrainRows, dir, attrs), func(f model.Feature) bool { return slices.Contains(exclude, f.Name) })
	if len(fs) == 0 {
		return nil, errors.New("train: no informative input column")
	}
	enc := newEncoder(d, fs)
	xt := enc.matrix(d, res.TrainRows)
	xv := enc.matrix(d, res.ValidRows)
	tt := targets(d, res.TrainRows, grid)
	tv := targets(d, res.ValidRows, grid)
	members := max(1, opt.Ensemble)
	ws := make([]*weights, 0, members)
	for m := range members {
		job := fitJob{opt: &opt, member: m + 1, members: members, seed: opt.Seed + int64(m), inSigns: model.InputSigns(fs), grid: grid, xt: xt, tt: tt,
			valid: func(w *weights) (float64, error) { return validLoss(w, fs, grid, xv, tv, opt.Kind) }}
		w, epochs, bestEpoch, err := job.fit(ctx)
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
		res.Epochs = append(res.Epochs, epochs...)
		res.BestEpochs = append(res.BestEpochs, bestEpoch)
	}
	res.BestEpoch = res.BestEpochs[0]
	best := combine(ws)
	in := enc.width
	a := &model.Artifact{
		Kind: opt.Kind, Tenant: opt.Tenant, CreatedAt: time.Now().UTC().Truncate(time.Second), CodeVersion: opt.CodeVersion,
		Features: fs, Grid: slices.Clone(grid), Layers: best.layers(), DataFingerprint: res.Fingerprint, Seed: opt.Seed,
		Reference: meanRow(xt, in),
		Params: map[string]any{"hidden": opt.Hidden, "monotone": best.Signs != nil, "epochs_max": opt.Epochs, "best_epoch": res.BestEpoch, "patience": opt.Patience,
			"batch_size": opt.BatchSize, "ensemble": members, "best_epochs": res.BestEpochs, "learn_rate": opt.LearnRate, "l2": opt.L2, "average_epochs": opt.Average, "exclude": opt.Exclude, "valid_fraction": opt.ValidFraction,
			"train_rows": len(res.TrainRows), "valid_rows": len(res.ValidRows)},
	}
	if opt.Kind == model.Onboarding && len(opt.Attributes) > 0 {
		a.Params[model.AttributesParam] = opt.Attributes
	}
	recordTrainedOn(a, d, res.TrainRows, res.SplitAsOf)
	baselineReference(fs, a.Reference)
	a.BandThresholds = [4]float64{0.2, 0.4, 0.6, 0.8}
	sc, err := model.NewScorer(a)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	a.BandThresholds = bandThresholds(sc, xt, in)
	a.Metrics = map[string]any{"baselines": fitBaselines(d, res.TrainRows, xt, in, opt.Kind)}
	prof, err := Profile(a, d, res.TrainRows)
	if err != nil {
		return nil, fmt.Errorf("train: profile: %w", err)
	}
	a.Params[model.ProfileParam] = prof
	rep, err := Evaluate(a, d, res.ValidRows)
	if err != nil {
		return nil, fmt.Errorf("train: evaluate: %w", err)
	}
	a.Metrics["validation"] = rep
	res.Report = rep
	res.Artifact = a
	res.Elapsed = time.Since(start)
	return res, nil
}

// minImprovement is the relative fall of the validation loss that counts
// as an improvement for early stopping: the averaged weights improve
// smoothly, by ever smaller steps, and without a threshold any gain,
// however small, would restart the patience count.
const minImprovement = 2e-4

// centreRows is the number of training rows centreBiases uses.
const centreRows = 8192

// fitJob is one network to train: ensemble member member of members.
type fitJob struct {
	opt             *Options
	member, members int
	seed            int64
	// inSigns are the encoded inputs' signs (model.InputSigns): the
	// network is monotone in the inputs of sign +1 and -1.
	inSigns []int8
	grid    []float64
	xt      []float32 // encoded training rows, row-major
	tt      []target
	// valid computes the validation loss of a set of weights.
	valid func(*weights) (float64, error)
}

// fit trains the job's network and returns the weights of its best
// validation epoch, the epochs' statistics and the best epoch. A
// monotone network is projected onto its constraints after every step.
func (j *fitJob) fit(ctx context.Context) (*weights, []EpochStats, int, error) {
	opt, member, members, grid, xt, tt, valid := j.opt, j.member, j.members, j.grid, j.xt, j.tt, j.valid
	in, k := len(j.inSigns), len(grid)-1
	signs := layerSigns(j.inSigns, opt.Hidden, k, opt.Kind.OutputSign())
	cons := constraints(j.inSigns, signs)
	w := initWeights(j.inSigns, opt.Hidden, k, baseHazard(tt, grid), j.seed, signs)
	if signs != nil {
		centreBiases(w, sampleRows(xt, in, centreRows))
	}
	n, err := newNet(w, opt.BatchSize, true)
	if err != nil {
		return nil, nil, 0, err
	}
	defer n.close()
	solver := G.NewAdamSolver(G.WithLearnRate(opt.LearnRate), G.WithL2Reg(opt.L2))
	rng := rand.New(rand.NewSource(j.seed ^ 0x5eed))
	rows := len(tt)
	order := indexes(rows)
	bs := opt.BatchSize
	var avg *average
	if opt.Average > 0 {
		avg = newAverage(w, opt.Average*float64((rows+bs-1)/bs))
	}
	xb, yb, mb := make([]float32, bs*in), make([]float32, bs*k), make([]float32, bs*k)
	var stats []EpochStats
	best, bestLoss, since, bestEpoch := w.clone(), math.Inf(1), 0, 0
	prefix := ""
	if members > 1 {
		prefix = fmt.Sprintf("member %d: ", member)
	}
	for epoch := 1; epoch <= opt.Epochs; epoch++ {
		t0 := time.Now()
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		var sum float64
		var batches int
		for lo := 0; lo < len(order); lo += bs {
			if err := ctx.Err(); err != nil {
				return nil, nil, 0, fmt.Errorf("train: %w", err)
			}
			hi := min(lo+bs, len(order))
			clear(xb)
			clear(yb)
			clear(mb)
			for i, o := range order[lo:hi] {
				copy(xb[i*in:(i+1)*in], xt[o*in:(o+1)*in])
				tt[o].fill(yb[i*k:(i+1)*k], mb[i*k:(i+1)*k])
			}
			l, err := n.step(xb, yb, mb, solver)
			if err != nil {
				return nil, nil, 0, fmt.Errorf("train %sepoch %d: %w", prefix, epoch, err)
			}
			if math.IsNaN(l) {
				return nil, nil, 0, fmt.Errorf("train %sepoch %d: the loss diverged (NaN); lower the learning rate", prefix, epoch)
			}
			projectParams(n.params, cons)
			if avg != nil {
				avg.add(n.params)
			}
			sum += l
			batches++
		}
		if avg != nil {
			avg.into(w)
		} else {
			n.export(w)
		}
		vl, err := valid(w)
		if err != nil {
			return nil, nil, 0, err
		}
		st := EpochStats{Member: member, Epoch: epoch, Loss: sum / float64(batches), ValidLoss: vl, Elapsed: time.Since(t0)}
		if vl < bestLoss*(1-minImprovement) {
			best, bestLoss, since, st.Best, bestEpoch = w.clone(), vl, 0, true, epoch
		} else {
			since++
		}
		stats = append(stats, st)
		opt.Log.Debug("epoch", "member", member, "epoch", epoch, "loss", st.Loss, "valid_loss", vl, "elapsed", st.Elapsed)
		if opt.Progress != nil {
			opt.Progress(st)
		}
		if since >= opt.Patience {
			break
		}
	}
	return best, stats, bestEpoch, nil
}

// combine merges networks of the same shape into one whose output logits
// are the mean of theirs: the hidden layers are placed side by side (the
// first layer's columns concatenated, later hidden layers block-diagonal)
// and the output layer sums the members' contributions divided by their
// number. Averaging hazard logits is a standard ensemble for discrete-time
// hazard models; the result is an ordinary network that the plain-Go
// scorer serves. One network is returned unchanged.
func combine(ws []*weights) *weights {
	if len(ws) == 1 {
		return ws[0]
	}
	m := len(ws)
	first := ws[0]
	last := len(first.W) - 1
	out := &weights{}
	for l := range first.W {
		fi, fo := first.In[l], first.Out[l]
		inM, outM := fi*m, fo*m // input and output widths of the merged layer
		if l == 0 {
			inM = fi
		}
		if l == last {
			outM = fo
		}
		W := make([]float32, inM*outM)
		B := make([]float32, outM)
		for e, w := range ws {
			for i := range fi {
				for j := range fo {
					r, c := i, j
					if l > 0 {
						r = e*fi + i
					}
					v := w.W[l][i*fo+j]
					if l == last {
						W[r*outM+c] += v / float32(m)
					} else {
						c = e*fo + j
						W[r*outM+c] = v
					}
				}
			}
			for j := range fo {
				if l == last {
					B[j] += w.B[l][j] / float32(m)
				} else {
					B[e*fo+j] = w.B[l][j]
				}
			}
		}
		out.In, out.Out = append(out.In, inM), append(out.Out, outM)
		out.W, out.B = append(out.W, W), append(out.B, B)
		if first.Signs != nil {
			// The members' units side by side keep their signs; the
			// logits are shared.
			var sg []int8
			for range outM / fo {
				sg = append(sg, first.Signs[l]...)
			}
			out.Signs = append(out.Signs, sg)
		}
	}
	return out
}

// split returns the training and validation rows: validation takes the
// latest as_of dates holding about frac of the rows (at least one date,
// never all); with a single date, a seeded random frac of the customers.
func split(d *Dataset, frac float64, seed int64) (train, valid []int, cut time.Time) {
	dates := slices.Clone(d.AsOf)
	slices.Sort(dates)
	dates = slices.Compact(dates)
	if len(dates) > 1 {
		count := map[int32]int{}
		for _, a := range d.AsOf {
			count[a]++
		}
		c, n := len(dates)-1, count[dates[len(dates)-1]]
		for c > 1 && float64(n+count[dates[c-1]]) <= frac*float64(d.Len()) {
			c--
			n += count[dates[c]]
		}
		for i, a := range d.AsOf {
			if a >= dates[c] {
				valid = append(valid, i)
			} else {
				train = append(train, i)
			}
		}
		return train, valid, time.Unix(int64(dates[c])*86400, 0).UTC()
	}
	rng := rand.New(rand.NewSource(seed))
	ids := slices.Clone(d.CustomerID)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	inValid := map[string]bool{}
	for _, id := range ids {
		if rng.Float64() < frac {
			inValid[id] = true
		}
	}
	for i, id := range d.CustomerID {
		if inValid[id] {
			valid = append(valid, i)
		} else {
			train = append(train, i)
		}
	}
	return train, valid, time.Time{}
}

// Interval returns the grid interval that contains duration d: interval 0
// is [0, grid[1]], interval j > 0 is (grid[j], grid[j+1]]. Durations beyond
// the grid return len(grid)-1.
func Interval(grid []float64, d float64) int {
	for j := 0; j+1 < len(grid); j++ {
		if d <= grid[j+1] {
			return j
		}
	}
	return len(grid) - 1
}

// target is one row's person-period outcome: the grid interval its
// duration falls in and, in that interval, either the event or the share
// of the interval the row was observed event-free.
type target struct {
	j     int16
	event bool
	// seen is, for a censored row, the share of interval j it was observed
	// for: (duration - start) / width, 1 at the interval's upper boundary.
	// Under a hazard that is constant within the interval, surviving a
	// share f of it has probability (1-h)^f, so the row's likelihood term
	// for interval j is f·log(1-h): the mask weight f. Counting only whole
	// intervals instead would leave an interval in which every row is
	// censored (the last one, when no row is followed for the full 365
	// days) with events only, and its hazard near 1.
	seen float32
}

// targets computes the person-period outcome of each of rows.
func targets(d *Dataset, rows []int, grid []float64) []target {
	k := len(grid) - 1
	ts := make([]target, len(rows))
	for i, r := range rows {
		dur := float64(d.Duration[r])
		event := d.Event[r] == 1
		if dur > grid[k] {
			dur, event = grid[k], false
		}
		j := Interval(grid, dur)
		ts[i] = target{j: int16(j), event: event}
		if !event {
			ts[i].seen = 1
			if lo, hi := grid[j], grid[j+1]; dur < hi {
				ts[i].seen = float32((dur - lo) / (hi - lo))
			}
		}
	}
	return ts
}

// fill writes the row's person-period targets and mask.
func (t target) fill(y, m []float32) {
	for i := range int(t.j) {
		m[i] = 1
	}
	if t.event {
		y[t.j], m[t.j] = 1, 1
	} else {
		m[t.j] = t.seen
	}
}

// baseHazard is each interval's pooled hazard in the training rows
// (events over exposure). An interval no row was observed in gets the
// daily hazard of the last one that was, scaled to its width.
func baseHazard(ts []target, grid []float64) []float64 {
	k := len(grid) - 1
	atRisk, events := make([]float64, k), make([]float64, k)
	for _, t := range ts {
		for i := range int(t.j) {
			atRisk[i]++
		}
		if t.event {
			atRisk[t.j]++
			events[t.j]++
		} else {
			atRisk[t.j] += float64(t.seen)
		}
	}
	h := make([]float64, k)
	last := -1 // the last interval with exposure
	for i := range h {
		if atRisk[i] < 1 && last >= 0 {
			h[i] = 1 - math.Pow(1-h[last], width(grid, i)/width(grid, last))
			continue
		}
		h[i] = (events[i] + 0.5) / (atRisk[i] + 1)
		if atRisk[i] >= 1 {
			last = i
		}
	}
	return h
}

// width is interval i's length in days, at least 1 (the invoice grid's
// interval [0, 0] is one day: the due date).
func width(grid []float64, i int) float64 {
	return max(grid[i+1]-grid[i], 1)
}

// validLoss is the masked BCE of w on the validation rows, computed by the
// plain-Go scorer.
func validLoss(w *weights, fs []model.Feature, grid []float64, x []float32, ts []target, kind model.Kind) (float64, error) {
	a := &model.Artifact{Kind: kind, Features: fs, Grid: grid, Layers: w.layers(), BandThresholds: [4]float64{0.2, 0.4, 0.6, 0.8}}
	sc, err := model.NewScorer(a)
	if err != nil {
		return 0, fmt.Errorf("validation scorer: %w", err)
	}
	in, k := sc.Width(), sc.Intervals()
	logits := make([]float32, k)
	y, m := make([]float32, k), make([]float32, k)
	var sum, n float64
	for i, t := range ts {
		sc.Logits(x[i*in:(i+1)*in], logits)
		clear(y)
		clear(m)
		t.fill(y, m)
		for j, l := range logits[:t.j+1] {
			l := float64(l)
			sp := math.Max(l, 0) + math.Log1p(math.Exp(-math.Abs(l))) // -log(1-h)
			sum += float64(m[j]) * (sp - float64(y[j])*l)
			n += float64(m[j])
		}
	}
	if n == 0 {
		return 0, nil
	}
	return sum / n, nil
}

// meanRow is the column mean of a row-major matrix: the attribution
// reference point (the average encoded training customer).
func meanRow(x []float32, in int) []float32 {
	rows := len(x) / in
	sum := make([]float64, in)
	for r := range rows {
		for j, v := range x[r*in : (r+1)*in] {
			sum[j] += float64(v)
		}
	}
	ref := make([]float32, in)
	for j := range ref {
		ref[j] = float32(sum[j] / float64(max(rows, 1)))
	}
	return ref
}

// bandThresholds cut the training rows' 90-day risk at the 50th, 75th,
// 90th and 97th percentiles: band A is the safest half, E the riskiest 3%.
func bandThresholds(sc *model.Scorer, x []float32, in int) [4]float64 {
	rows := len(x) / in
	risk := make([]float64, rows)
	var p model.Prediction
	for r := range rows {
		sc.PredictEncoded(x[r*in:(r+1)*in], &p)
		risk[r] = p.Risk90
	}
	sort.Float64s(risk)
	var t [4]float64
	prev := 0.0
	for i, q := range []float64{0.5, 0.75, 0.9, 0.97} {
		v := risk[min(int(q*float64(rows)), rows-1)]
		v = math.Min(max(v, prev+1e-6, 1e-6), 1-1e-6*float64(4-i))
		t[i], prev = v, v
	}
	return t
}
