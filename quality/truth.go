package quality

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/duewise/duewise/datasets"
)

// Truth is the synthetic world's answer key: for every invoice, the
// probability with which the simulator decided that it would still be
// unpaid threshold days after its due date (truth.csv, see
// docs/synthetic-world.md). Read-only after ReadTruth; safe for concurrent
// use.
type Truth struct {
	// marks holds, per tenant/customer, the invoices' behind dates (due_at
	// + threshold, in days since 1970-01-01) and hazards, in file order.
	marks map[string][]mark
}

type mark struct {
	issued, day int32
	hazard      float64
}

// ReadTruth reads truth.csv and invoices.csv of a world folder written by
// `duewise generate` and pairs every invoice with the hazard of its
// customer and issue month.
func ReadTruth(dir string, threshold int) (*Truth, error) {
	hazards := map[string]float64{} // tenant/customer/month -> hazard
	err := readCSV(filepath.Join(dir, "truth.csv"), []string{"tenant", "customer_id", "month", "hazard"}, func(loc string, v []string) error {
		h, err := strconv.ParseFloat(v[3], 64)
		if err != nil || h < 0 || h > 1 {
			return fmt.Errorf("%s: hazard: %q is not a probability", loc, v[3])
		}
		hazards[v[0]+"/"+v[1]+"/"+v[2]] = h
		return nil
	})
	if err != nil {
		return nil, err
	}
	t := &Truth{marks: map[string][]mark{}}
	err = readCSV(filepath.Join(dir, "invoices.csv"), []string{"tenant", "customer_id", "issued_at", "due_at"}, func(loc string, v []string) error {
		issued, err := datasets.ParseDate(v[2])
		if err != nil {
			return fmt.Errorf("%s: issued_at: %w", loc, err)
		}
		due, err := datasets.ParseDate(v[3])
		if err != nil {
			return fmt.Errorf("%s: due_at: %w", loc, err)
		}
		month := datasets.FormatDate(issued)[:8] + "01"
		h, ok := hazards[v[0]+"/"+v[1]+"/"+month]
		if !ok {
			return fmt.Errorf("%s: no truth.csv row for customer %s, month %s", loc, v[1], month)
		}
		k := v[0] + "/" + v[1]
		t.marks[k] = append(t.marks[k], mark{issued: issued, day: due + int32(threshold), hazard: h})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Risk is the true probability that the customer falls behind within
// horizon days of asOf, the label's definition (docs/features.md: the
// behind day D with D - asOf in [0, horizon]): one minus the product of
// (1 - hazard) over the invoices whose behind date (due_at + threshold)
// falls in that window. ok is false for a customer the truth does not
// know.
func (t *Truth) Risk(tenant, customer string, asOf time.Time, horizon int) (p float64, ok bool) {
	return t.risk(tenant, customer, asOf, horizon, false)
}

// RiskKnownAt is Risk with only the hazards known on asOf. Risk takes
// every invoice of the window with its own hazard, also the invoices
// issued after asOf, whose hazards come from the customer's hidden state
// in months that have not come yet (a job loss next month): it sees the
// future. Here an invoice issued after asOf gets the hazard of the
// customer's latest invoice issued by asOf instead (the hidden state and
// circumstances of asOf carried forward), or of the customer's first
// invoice when none was issued yet (a new customer's first months depend
// on traits fixed at signup). It is the best a predictor that knew the
// hidden state on asOf, but not the future, could do with the true
// hazards.
func (t *Truth) RiskKnownAt(tenant, customer string, asOf time.Time, horizon int) (p float64, ok bool) {
	return t.risk(tenant, customer, asOf, horizon, true)
}

func (t *Truth) risk(tenant, customer string, asOf time.Time, horizon int, knownAt bool) (float64, bool) {
	ms, ok := t.marks[tenant+"/"+customer]
	if !ok {
		return 0, false
	}
	from := int32(asOf.Unix() / 86400)
	to := from + int32(horizon)
	var known float64 // the hazard of the invoices issued after asOf, if knownAt
	if knownAt {
		known = knownHazard(ms, from)
	}
	survive := 1.0
	for _, m := range ms {
		if m.day < from || m.day > to {
			continue
		}
		h := m.hazard
		if knownAt && m.issued > from {
			h = known
		}
		survive *= 1 - h
	}
	return 1 - survive, true
}

// knownHazard returns the hazard of the latest invoice of ms issued by
// day, or of the earliest invoice when none was.
func knownHazard(ms []mark, day int32) float64 {
	latest, first := -1, 0
	for i, m := range ms {
		if m.issued <= day && (latest < 0 || m.issued >= ms[latest].issued) {
			latest = i
		}
		if m.issued < ms[first].issued {
			first = i
		}
	}
	if latest < 0 {
		return ms[first].hazard
	}
	return ms[latest].hazard
}

// readCSV calls row with the named columns of every data row of a CSV file
// with a header, and its location ("file:line").
func readCSV(path string, cols []string, row func(loc string, v []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read answer key: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: header: %w", path, err)
	}
	idx := make([]int, len(cols))
	for i, c := range cols {
		idx[i] = -1
		for j, h := range head {
			if h == c {
				idx[i] = j
			}
		}
		if idx[i] < 0 {
			return fmt.Errorf("%s:1: missing column %q", path, c)
		}
	}
	v := make([]string, len(cols))
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for i, j := range idx {
			v[i] = rec[j]
		}
		if err := row(fmt.Sprintf("%s:%d", path, line), v); err != nil {
			return err
		}
	}
}
