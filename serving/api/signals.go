package api

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/serving/online"
)

// catalog names every signal an answer can use and gives each a dense
// index, so that the hot path fills and reads slices instead of maps: the
// features catalog (numeric and categorical), the invoice signals, and
// what only the policy reads (days_to_due, last_dd_failure_reason).
// Immutable after newCatalog; safe for concurrent use.
type catalog struct {
	num, cat       []string
	numIdx, catIdx map[string]int
	// inline lists the names an inline record may send; inlineIdx maps
	// them to a numeric position (>= 0) or -1-position of a categorical.
	inline    map[string]bool
	inlineIdx map[string]int
	ix        policyIndex
}

// policyIndex holds the catalog positions the policy mapping reads.
type policyIndex struct {
	invoices365, lateShare365, tenure, ddDaysSince, ddFailed90, ddInsufficient, ddClosed int
	ddAttempts, ddFailedShare, lateMean90, lateMean365, lateShareTrend, address180       int
	broken730, arrangementActive, disputesOpen, collections365, finalNotices365          int
	overdueAmount, overdueDays, daysToDue, monthly, invoiceAmount, creditLimit           int
	channel, method, customerType, segment, country, lastDDReason                        int
}

// Extra signals the API knows beyond the features catalog.
const (
	sigDaysToDue     = "days_to_due"
	sigInvoiceAmount = "invoice_amount"
	sigInvoiceTerms  = "invoice_terms_days"
)

func newCatalog() *catalog {
	c := &catalog{numIdx: map[string]int{}, catIdx: map[string]int{}, inline: map[string]bool{}}
	addNum := func(n string) {
		if _, ok := c.numIdx[n]; !ok {
			c.numIdx[n] = len(c.num)
			c.num = append(c.num, n)
		}
	}
	addCat := func(n string) {
		if _, ok := c.catIdx[n]; !ok {
			c.catIdx[n] = len(c.cat)
			c.cat = append(c.cat, n)
		}
	}
	for _, s := range append(features.Catalog(), features.InvoiceSignals()...) {
		if s.Kind == features.Categorical {
			addCat(s.Name)
		} else {
			addNum(s.Name)
		}
		c.inline[s.Name] = true
	}
	addNum(sigDaysToDue)
	c.inlineIdx = map[string]int{}
	for name := range c.inline {
		if i, ok := c.numIdx[name]; ok {
			c.inlineIdx[name] = i
		} else {
			c.inlineIdx[name] = -1 - c.catIdx[name]
		}
	}
	n := func(name string) int {
		i, ok := c.numIdx[name]
		if !ok {
			panic("api: signal " + name + " is not in the features catalog")
		}
		return i
	}
	k := func(name string) int {
		i, ok := c.catIdx[name]
		if !ok {
			panic("api: attribute " + name + " is not in the features catalog")
		}
		return i
	}
	c.ix = policyIndex{
		invoices365: n("invoices_365d"), lateShare365: n("late_share_365d"), tenure: n("tenure_days"),
		ddDaysSince: n("days_since_last_dd_failure"), ddFailed90: n("dd_failed_90d"), ddInsufficient: n("dd_insufficient_funds_365d"),
		ddClosed: n("dd_account_closed_365d"), ddAttempts: n("dd_attempts_365d"), ddFailedShare: n("dd_failed_share_365d"),
		lateMean90: n("days_late_mean_90d"), lateMean365: n("days_late_mean_365d"), lateShareTrend: n("late_share_trend"),
		address180: n("address_changes_180d"), broken730: n("arrangements_broken_730d"), arrangementActive: n("arrangement_active"),
		disputesOpen: n("disputes_open"), collections365: n("collections_365d"), finalNotices365: n("final_notices_365d"),
		overdueAmount: n("open_overdue_amount"), overdueDays: n("oldest_overdue_days"), daysToDue: n(sigDaysToDue),
		monthly: n("monthly_amount"), invoiceAmount: n(sigInvoiceAmount), creditLimit: n("credit_limit"),
		channel: k("channel"), method: k("payment_method"), customerType: k("customer_type"), segment: k("segment"),
		country: k("country"), lastDDReason: k("last_dd_failure_reason"),
	}
	return c
}

// values are one customer's signals by catalog position. A plain value;
// NaN is NULL.
type values struct {
	num []float64
	cat []string
}

// valuesIn returns v with every signal missing, or new values when v does
// not fit the catalog (e.g. the zero value).
func (c *catalog) valuesIn(v values) values {
	if len(v.num) != len(c.num) || len(v.cat) != len(c.cat) {
		return c.newValues()
	}
	for i := range v.num {
		v.num[i] = math.NaN()
	}
	clear(v.cat)
	return v
}

func (c *catalog) newValues() values {
	v := values{num: make([]float64, len(c.num)), cat: make([]string, len(c.cat))}
	for i := range v.num {
		v.num[i] = math.NaN()
	}
	return v
}

// tableMap maps the columns of one online table onto catalog positions
// (-1: a column the catalog does not know).
type tableMap struct {
	t        *online.Table
	num, cat []int
}

func (c *catalog) mapTable(t *online.Table) *tableMap {
	m := &tableMap{t: t, num: make([]int, len(t.NumNames)), cat: make([]int, len(t.CatNames))}
	for i, n := range t.NumNames {
		m.num[i] = -1
		if j, ok := c.numIdx[n]; ok {
			m.num[i] = j
		}
	}
	for i, n := range t.CatNames {
		m.cat[i] = -1
		if j, ok := c.catIdx[n]; ok {
			m.cat[i] = j
		}
	}
	return m
}

// fromRow fills v from an online row.
func (m *tableMap) fromRow(r online.Row, v *values) {
	for i, j := range m.num {
		if j >= 0 {
			v.num[j] = float64(r.Num[i])
		}
	}
	for i, j := range m.cat {
		if j >= 0 {
			v.cat[j] = r.Cat(i)
		}
	}
}

// fromComputed fills v from features.Compute's row.
func (c *catalog) fromComputed(r *features.Row, v *values) {
	for i, n := range r.Names {
		if j, ok := c.numIdx[n]; ok {
			v.num[j] = r.Values[i]
		}
	}
	for i, n := range r.CategoricalNames {
		if j, ok := c.catIdx[n]; ok {
			v.cat[j] = r.Categorical[i]
		}
	}
}

// fieldError is a problem with one field of a request, named by its JSON
// path (e.g. records[3].signals.tenure_days).
type fieldError struct {
	Field string
	Msg   string
}

func (e *fieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func fieldErr(field, format string, args ...any) *fieldError {
	return &fieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// inlineRecord is a customer described in a request: by its signals or by
// its raw history (in the data-contract shape).
type inlineRecord struct {
	CustomerID string
	AsOf       string
	signals    values
	hasSignals bool
	history    []byte // raw JSON of the history, nil when absent
}

// parseRecord reads one inline record object at s, with field paths
// prefixed by prefix ("" or "records[3]."). A JSON grammar error is
// returned as err (it ends the request); a problem with the record's
// content as ferr (the first one), after the whole record was read.
func (c *catalog) parseRecord(s *scanner, prefix string, buf *recordBuf) (rec inlineRecord, ferr *fieldError, err error) {
	if s.peek() != '{' {
		ferr = fieldErr(strings.TrimSuffix(prefix, "."), "want an object, got %s", s.kind())
		_, err = s.skip()
		return rec, ferr, err
	}
	seen := 0
	note := func(e *fieldError) {
		if ferr == nil {
			ferr = e
		}
	}
	err = s.object(func(key []byte) error {
		// The field's path, built only for an error.
		field := func() string { return prefix + string(key) }
		var bit int
		switch string(key) {
		case "customer_id":
			bit = 1
		case "as_of":
			bit = 2
		case "signals":
			bit = 4
		case "history":
			bit = 8
		default:
			note(fieldErr(field(), "unknown field (want customer_id, as_of, signals or history)"))
			_, err := s.skip()
			return err
		}
		if seen&bit != 0 {
			note(fieldErr(field(), "given twice"))
		}
		seen |= bit
		switch bit {
		case 1, 2:
			if s.peek() != '"' {
				note(fieldErr(field(), "want a string, got %s", s.kind()))
				_, err := s.skip()
				return err
			}
			v, err := s.str()
			if bit == 1 {
				rec.CustomerID = v
			} else {
				rec.AsOf = v
			}
			return err
		case 4:
			if s.peek() == 'n' {
				return s.literal("null")
			}
			if s.peek() != '{' {
				note(fieldErr(field(), "want an object of signal name to value, got %s", s.kind()))
				_, err := s.skip()
				return err
			}
			rec.hasSignals = true
			buf.sig = c.valuesIn(buf.sig)
			rec.signals = buf.sig
			return c.parseSignals(s, prefix, &rec.signals, &buf.order, note)
		default:
			if s.peek() == 'n' {
				return s.literal("null")
			}
			raw, err := s.skip()
			rec.history = raw
			return err
		}
	})
	return rec, ferr, err
}

// recordBuf is what parseRecord reuses from one record of a batch to the
// next: the signal values, and the signal names of the previous record in
// their order (the records of a batch usually list their signals in the
// same order, and comparing a name is cheaper than a map lookup). The zero
// value is ready to use; a recordBuf is not safe for concurrent use.
type recordBuf struct {
	sig   values
	order []namedSignal
}

// namedSignal is a signal name and its inlineIdx value.
type namedSignal struct {
	name string
	j    int
}

// parseSignals reads the signals object of a record (field paths
// prefix+"signals."+name) into v. It allocates only for categorical values
// (and errors). order is the names of the previous record (see
// recordBuf), updated to this one's.
func (c *catalog) parseSignals(s *scanner, prefix string, v *values, order *[]namedSignal, note func(*fieldError)) error {
	n := 0
	return s.object(func(key []byte) error {
		var j int
		ok := n < len(*order) && (*order)[n].name == string(key)
		if ok {
			j = (*order)[n].j
		} else if j, ok = c.inlineIdx[string(key)]; ok {
			if n < len(*order) {
				(*order)[n] = namedSignal{string(key), j}
			} else {
				*order = append(*order, namedSignal{string(key), j})
			}
		}
		n++
		if !ok {
			note(fieldErr(prefix+"signals."+string(key), "unknown signal (the signals are listed in docs/features.md and in /openapi.json)"))
			_, err := s.skip()
			return err
		}
		if s.peek() == 'n' {
			return s.literal("null")
		}
		if j >= 0 {
			if c := s.peek(); c != '-' && (c < '0' || c > '9') {
				note(fieldErr(prefix+"signals."+string(key), "want a number or null, got %s", s.kind()))
				_, err := s.skip()
				return err
			}
			f, err := s.number()
			if err != nil {
				return err
			}
			if math.IsInf(f, 0) {
				note(fieldErr(prefix+"signals."+string(key), "number out of range"))
			}
			v.num[j] = f
			return nil
		}
		if s.peek() != '"' {
			note(fieldErr(prefix+"signals."+string(key), "want a string or null, got %s", s.kind()))
			_, err := s.skip()
			return err
		}
		str, err := s.str()
		v.cat[-j-1] = str
		return err
	})
}

// parseDate reads an optional YYYY-MM-DD date; empty means def.
func parseDate(s, field string, def time.Time) (time.Time, *fieldError) {
	if s == "" {
		return def, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fieldErr(field, "%q is not a date: want YYYY-MM-DD", s)
	}
	return t, nil
}
