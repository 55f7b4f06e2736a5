package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/online"
)

const topReasons = 5

func lang(c *gin.Context) (string, bool) {
	l := c.DefaultQuery("lang", "en")
	if l != "en" && l != "nl" {
		fail(c, http.StatusBadRequest, "lang", "lang %q: want en or nl", l)
		return "", false
	}
	return l, true
}

// rowValues turns an online row into values by name.
func rowValues(t *online.Table, r online.Row) values {
	v := values{num: make(map[string]float64, len(t.NumNames)), cat: make(map[string]string, len(t.CatNames))}
	for i, n := range t.NumNames {
		if x := float64(r.Num[i]); !math.IsNaN(x) {
			v.num[n] = x
		}
	}
	for i, n := range t.CatNames {
		v.cat[n] = r.Cat[i]
	}
	return v
}

func (s *Server) modelFor(c *gin.Context, kind string) *loaded {
	l := s.models.get(c.GetString("tenant"), kind)
	if l == nil {
		fail(c, http.StatusServiceUnavailable, "", "no active %s model for this tenant (duewise models promote VERSION)", kind)
	}
	return l
}

// lookup finds a customer in the online table, answering errors itself.
func (s *Server) lookup(c *gin.Context, id string) (*online.Table, online.Row, bool) {
	t := s.online.Current()
	if t == nil {
		msg := "online features are not loaded"
		if err := s.online.Err(); err != nil {
			msg += ": warehouse unreachable: " + err.Error()
		}
		fail(c, http.StatusServiceUnavailable, "", "%s", msg)
		return nil, online.Row{}, false
	}
	r, ok := t.Lookup(c.GetString("tenant"), id)
	if !ok {
		fail(c, http.StatusNotFound, "", "customer %q not found in the online features of this tenant", id)
		return nil, online.Row{}, false
	}
	return t, r, true
}

func (s *Server) customerRisk(c *gin.Context) {
	lg, ok := lang(c)
	if !ok {
		return
	}
	l := s.modelFor(c, string(model.Behaviour))
	if l == nil {
		return
	}
	id := c.Param("id")
	t, r, ok := s.lookup(c, id)
	if !ok {
		return
	}
	ans := s.score(l, rowValues(t, r), id, r.AsOf, r.Status, lg, topReasons)
	s.audit.record(c, ans.CustomerID, ans.Model.Version, ans.Probabilities.D90, ans.Band, ans.Reasons)
	c.JSON(http.StatusOK, ans)
}

// inlineRequest describes a customer by its signals or by its raw history.
type inlineRequest struct {
	CustomerID string `json:"customer_id"`
	// AsOf is the reference date (YYYY-MM-DD); default today (UTC).
	AsOf string `json:"as_of"`
	// Signals by name: numbers (or null) for numeric signals, strings for
	// segment, channel, payment_method, customer_type, country,
	// postcode_area.
	Signals map[string]any `json:"signals"`
	// History is the customer's raw recent history in the data-contract
	// shape; its signals are computed with the pipelines' definitions.
	History *features.History `json:"history"`
}

func (s *Server) inlineRisk(c *gin.Context) {
	lg, ok := lang(c)
	if !ok {
		return
	}
	var req inlineRequest
	if !decode(c, &req) {
		return
	}
	l := s.modelFor(c, string(model.Behaviour))
	if l == nil {
		return
	}
	ans, field, err := s.inline(l, req, "", lg)
	if err != nil {
		fail(c, http.StatusBadRequest, field, "%v", err)
		return
	}
	s.audit.record(c, ans.CustomerID, ans.Model.Version, ans.Probabilities.D90, ans.Band, ans.Reasons)
	c.JSON(http.StatusOK, ans)
}

// inline scores one inline record; prefix prefixes field paths.
func (s *Server) inline(l *loaded, req inlineRequest, prefix, lg string) (RiskAnswer, string, error) {
	asOf := s.cfg.Now().UTC().Truncate(24 * time.Hour)
	if req.AsOf != "" {
		t, err := time.Parse(time.DateOnly, req.AsOf)
		if err != nil {
			return RiskAnswer{}, prefix + "as_of", fmt.Errorf("%sas_of %q: want YYYY-MM-DD", prefix, req.AsOf)
		}
		asOf = t
	}
	switch {
	case req.History != nil && req.Signals != nil:
		return RiskAnswer{}, prefix + "signals", fmt.Errorf("%ssignals: send either signals or history, not both", prefix)
	case req.History != nil:
		row, err := features.Compute(req.History, asOf, s.cfg.Threshold)
		if err != nil {
			return RiskAnswer{}, prefix + "history", fmt.Errorf("%shistory: %w", prefix, err)
		}
		v := values{num: map[string]float64{}, cat: map[string]string{}}
		for i, n := range row.Names {
			if !math.IsNaN(row.Values[i]) {
				v.num[n] = row.Values[i]
			}
		}
		for i, n := range row.CategoricalNames {
			v.cat[n] = row.Categorical[i]
		}
		id := req.CustomerID
		if id == "" {
			id = req.History.Customer.CustomerID
		}
		return s.score(l, v, id, asOf, row.Status, lg, topReasons), "", nil
	case req.Signals != nil:
		v, field, err := signalValues(req.Signals, prefix+"signals")
		if err != nil {
			return RiskAnswer{}, field, err
		}
		status := "ok"
		if v.n("oldest_overdue_days") >= float64(s.cfg.Threshold) {
			status = "behind"
		}
		return s.score(l, v, req.CustomerID, asOf, status, lg, topReasons), "", nil
	}
	return RiskAnswer{}, prefix + "signals", fmt.Errorf("%ssignals: send signals or history", prefix)
}

// signalValues checks inline signals against the catalog.
func signalValues(in map[string]any, path string) (values, string, error) {
	v := values{num: map[string]float64{}, cat: map[string]string{}}
	names := make([]string, 0, len(in))
	for n := range in {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sig, ok := features.Lookup(n)
		if !ok {
			inv := false
			for _, s := range features.InvoiceSignals() {
				inv = inv || s.Name == n
			}
			if !inv {
				return v, path + "." + n, fmt.Errorf("%s.%s: unknown signal (see docs/features.md)", path, n)
			}
			sig = features.Signal{Name: n, Kind: features.Numeric}
		}
		switch x := in[n].(type) {
		case nil:
		case float64:
			if sig.Kind != features.Numeric {
				return v, path + "." + n, fmt.Errorf("%s.%s: want a string", path, n)
			}
			v.num[n] = x
		case string:
			if sig.Kind != features.Categorical {
				return v, path + "." + n, fmt.Errorf("%s.%s: want a number or null, got a string", path, n)
			}
			v.cat[n] = x
		default:
			return v, path + "." + n, fmt.Errorf("%s.%s: want a number, a string or null", path, n)
		}
	}
	return v, "", nil
}

// batchRequest scores up to 10,000 customers by id or inline record.
type batchRequest struct {
	CustomerIDs []string        `json:"customer_ids"`
	Records     []inlineRequest `json:"records"`
}

// maxBatch is the largest batch.
const maxBatch = 10_000

func (s *Server) batchRisk(c *gin.Context) {
	lg, ok := lang(c)
	if !ok {
		return
	}
	var req batchRequest
	if !decode(c, &req) {
		return
	}
	n := len(req.CustomerIDs) + len(req.Records)
	switch {
	case len(req.CustomerIDs) > 0 && len(req.Records) > 0:
		fail(c, http.StatusBadRequest, "records", "send customer_ids or records, not both")
		return
	case n == 0:
		fail(c, http.StatusBadRequest, "customer_ids", "empty batch: send customer_ids or records")
		return
	case n > maxBatch:
		fail(c, http.StatusRequestEntityTooLarge, "customer_ids", "batch of %d: at most %d per request", n, maxBatch)
		return
	}
	l := s.modelFor(c, string(model.Behaviour))
	if l == nil {
		return
	}
	t := s.online.Current()
	if len(req.CustomerIDs) > 0 && t == nil {
		fail(c, http.StatusServiceUnavailable, "", "online features are not loaded")
		return
	}
	tenant := c.GetString("tenant")
	c.Header("Content-Type", "application/x-ndjson")
	c.Status(http.StatusOK)
	enc := json.NewEncoder(c.Writer)
	type errLine struct {
		Index int    `json:"index"`
		ID    string `json:"customer_id,omitempty"`
		Error string `json:"error"`
		Field string `json:"field,omitempty"`
	}
	type okLine struct {
		Index int `json:"index"`
		RiskAnswer
	}
	for i := range n {
		if c.Request.Context().Err() != nil {
			return
		}
		if len(req.CustomerIDs) > 0 {
			id := req.CustomerIDs[i]
			r, ok := t.Lookup(tenant, id)
			if !ok {
				enc.Encode(errLine{Index: i, ID: id, Error: "customer not found in the online features of this tenant"})
				continue
			}
			ans := s.score(l, rowValues(t, r), id, r.AsOf, r.Status, lg, topReasons)
			s.audit.record(c, id, ans.Model.Version, ans.Probabilities.D90, ans.Band, ans.Reasons)
			enc.Encode(okLine{i, ans})
			continue
		}
		ans, field, err := s.inline(l, req.Records[i], fmt.Sprintf("records[%d].", i), lg)
		if err != nil {
			enc.Encode(errLine{Index: i, ID: req.Records[i].CustomerID, Error: err.Error(), Field: field})
			continue
		}
		s.audit.record(c, ans.CustomerID, ans.Model.Version, ans.Probabilities.D90, ans.Band, ans.Reasons)
		enc.Encode(okLine{i, ans})
	}
}

// onboardingRequest is a prospect's onboarding attributes.
type onboardingRequest struct {
	ProspectID    string   `json:"prospect_id"`
	CustomerType  string   `json:"customer_type"`
	Segment       string   `json:"segment"`
	Channel       string   `json:"channel"`
	PaymentMethod string   `json:"payment_method"`
	Country       string   `json:"country"`
	PostcodeArea  string   `json:"postcode_area"`
	MonthlyAmount *float64 `json:"monthly_amount"`
	CreditLimit   *float64 `json:"credit_limit"`
}

// OnboardingAnswer is the onboarding model's answer plus advice.
type OnboardingAnswer struct {
	RiskAnswer
	Advice any `json:"advice"`
}

func (s *Server) onboardingRisk(c *gin.Context) {
	lg, ok := lang(c)
	if !ok {
		return
	}
	var req onboardingRequest
	if !decode(c, &req) {
		return
	}
	checks := []struct {
		field, val string
		allowed    []string
	}{
		{"customer_type", req.CustomerType, []string{"consumer", "business"}},
		{"channel", req.Channel, []string{"online", "offline"}},
		{"payment_method", req.PaymentMethod, []string{"direct_debit", "bank_transfer", "card", "pay_link"}},
	}
	for _, ch := range checks {
		if ch.val == "" {
			fail(c, http.StatusBadRequest, ch.field, "%s is required (%s)", ch.field, strings.Join(ch.allowed, ", "))
			return
		}
		ok := false
		for _, a := range ch.allowed {
			ok = ok || a == ch.val
		}
		if !ok {
			fail(c, http.StatusBadRequest, ch.field, "%s %q: want one of %s", ch.field, ch.val, strings.Join(ch.allowed, ", "))
			return
		}
	}
	if req.MonthlyAmount == nil || *req.MonthlyAmount < 0 {
		fail(c, http.StatusBadRequest, "monthly_amount", "monthly_amount is required and must be >= 0")
		return
	}
	l := s.modelFor(c, string(model.Onboarding))
	if l == nil {
		return
	}
	now := s.cfg.Now().UTC()
	v := values{num: map[string]float64{"monthly_amount": *req.MonthlyAmount, "tenure_days": 0, "as_of_month": float64(now.Month())},
		cat: map[string]string{"customer_type": req.CustomerType, "segment": req.Segment, "channel": req.Channel,
			"payment_method": req.PaymentMethod, "country": req.Country, "postcode_area": req.PostcodeArea}}
	if req.CreditLimit != nil {
		v.num["credit_limit"] = *req.CreditLimit
	}
	ans := s.score(l, v, req.ProspectID, now, "ok", lg, topReasons)
	sit := situation(v, &model.Prediction{P: [5]float64{ans.Probabilities.D30, ans.Probabilities.D60, ans.Probabilities.D90, ans.Probabilities.D180, ans.Probabilities.D365},
		ExpectedDays: ans.ExpectedDays, Band: ans.Band}, "onboarding", "ok", nil)
	adv := s.cfg.Policy.EvaluateOnboarding(&sit)
	s.audit.record(c, "prospect:"+req.ProspectID, ans.Model.Version, ans.Probabilities.D90, ans.Band, ans.Reasons)
	c.JSON(http.StatusOK, OnboardingAnswer{RiskAnswer: ans, Advice: adv})
}

// invoiceRequest is an invoice about to be issued.
type invoiceRequest struct {
	CustomerID string   `json:"customer_id"`
	Amount     *float64 `json:"amount"`
	IssuedAt   string   `json:"issued_at"` // default today
	DueAt      string   `json:"due_at"`    // or terms_days
	TermsDays  *int     `json:"terms_days"`
}

// InvoiceAnswer is the invoice model's answer.
type InvoiceAnswer struct {
	RiskAnswer
	InvoiceAmount         float64 `json:"invoice_amount"`
	DueAt                 string  `json:"due_at"`
	PLate                 float64 `json:"p_late"`
	ExpectedDaysLate      float64 `json:"expected_days_late"`
	ReminderBeforeDue     bool    `json:"reminder_before_due"`
	ReminderDaysBeforeDue int     `json:"reminder_days_before_due,omitempty"`
}

func (s *Server) invoiceRisk(c *gin.Context) {
	lg, ok := lang(c)
	if !ok {
		return
	}
	var req invoiceRequest
	if !decode(c, &req) {
		return
	}
	if req.CustomerID == "" {
		fail(c, http.StatusBadRequest, "customer_id", "customer_id is required")
		return
	}
	if req.Amount == nil || !(*req.Amount > 0) {
		fail(c, http.StatusBadRequest, "amount", "amount is required and must be > 0")
		return
	}
	issued := s.cfg.Now().UTC().Truncate(24 * time.Hour)
	if req.IssuedAt != "" {
		t, err := time.Parse(time.DateOnly, req.IssuedAt)
		if err != nil {
			fail(c, http.StatusBadRequest, "issued_at", "issued_at %q: want YYYY-MM-DD", req.IssuedAt)
			return
		}
		issued = t
	}
	var due time.Time
	switch {
	case req.DueAt != "":
		t, err := time.Parse(time.DateOnly, req.DueAt)
		if err != nil || t.Before(issued) {
			fail(c, http.StatusBadRequest, "due_at", "due_at %q: want YYYY-MM-DD on or after issued_at", req.DueAt)
			return
		}
		due = t
	case req.TermsDays != nil && *req.TermsDays >= 0 && *req.TermsDays <= 365:
		due = issued.AddDate(0, 0, *req.TermsDays)
	default:
		fail(c, http.StatusBadRequest, "terms_days", "send due_at or terms_days (0..365)")
		return
	}
	l := s.modelFor(c, string(model.Invoice))
	if l == nil {
		return
	}
	t, r, ok := s.lookup(c, req.CustomerID)
	if !ok {
		return
	}
	v := rowValues(t, r)
	v.num["invoice_amount"] = *req.Amount
	v.num["invoice_terms_days"] = due.Sub(issued).Hours() / 24
	v.num["days_to_due"] = due.Sub(s.cfg.Now().UTC().Truncate(24*time.Hour)).Hours() / 24
	ans := s.score(l, v, req.CustomerID, r.AsOf, r.Status, lg, topReasons)
	var p model.Prediction
	num, cat := make([]float64, len(l.a.Features)), make([]string, len(l.a.Features))
	inputs(l.a, num, cat, func(n string) (float64, bool) { x, ok := v.num[n]; return x, ok }, func(n string) (string, bool) { x, ok := v.cat[n]; return x, ok })
	l.scorer.Predict(num, cat, &p)
	out := InvoiceAnswer{RiskAnswer: ans, InvoiceAmount: *req.Amount, DueAt: due.Format(time.DateOnly), PLate: round(p.PLate), ExpectedDaysLate: math.Round(p.ExpectedDays*10) / 10}
	for _, a := range ans.Actions {
		if a.When.Anchor == "due_date" && a.When.OffsetDays < 0 {
			out.ReminderBeforeDue, out.ReminderDaysBeforeDue = true, -a.When.OffsetDays
		}
	}
	s.audit.record(c, req.CustomerID, ans.Model.Version, p.PLate, ans.Band, ans.Reasons)
	c.JSON(http.StatusOK, out)
}

// eventsRequest carries data-contract rows by table name.
type eventsRequest map[string][]json.RawMessage

func (s *Server) events(c *gin.Context) {
	var req eventsRequest
	if !decode(c, &req) {
		return
	}
	if len(req) == 0 {
		fail(c, http.StatusBadRequest, "", "empty body: send {\"invoices\": [...], \"payments\": [...], ...}")
		return
	}
	tenant := c.GetString("tenant")
	tables := make([]string, 0, len(req))
	for t := range req {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	out := map[string]any{}
	rejected := 0
	for _, tbl := range tables {
		rows := req[tbl]
		// The key's tenant is the only tenant a row may name.
		for i, raw := range rows {
			var probe map[string]json.RawMessage
			if json.Unmarshal(raw, &probe) == nil {
				if tn, ok := probe["tenant"]; ok && string(tn) != fmt.Sprintf("%q", tenant) {
					fail(c, http.StatusForbidden, fmt.Sprintf("%s[%d].tenant", tbl, i), "%s[%d].tenant: this API key writes tenant %q only", tbl, i, tenant)
					return
				}
				probe["tenant"], _ = json.Marshal(tenant)
				rows[i], _ = json.Marshal(probe)
			}
		}
		res, err := s.loader.LoadRows(c.Request.Context(), tbl, rows)
		if err != nil {
			if strings.Contains(err.Error(), "not a data-contract table") {
				fail(c, http.StatusBadRequest, tbl, "%v", err)
				return
			}
			fail(c, http.StatusServiceUnavailable, "", "store events: %v", err)
			return
		}
		for i := range res {
			if !res[i].Accepted {
				rejected++
				res[i].Reason = strings.Replace(res[i].Reason, "rows[", tbl+"[", 1)
			}
		}
		out[tbl] = res
	}
	s.met.rejected.Add(float64(rejected))
	status := http.StatusOK
	if rejected > 0 {
		status = http.StatusMultiStatus
	}
	c.JSON(status, gin.H{"results": out, "rejected": rejected})
}

func (s *Server) listModels(c *gin.Context) {
	es, err := s.cfg.Registry.List(c.Request.Context(), c.GetString("tenant"))
	if err != nil {
		fail(c, http.StatusServiceUnavailable, "", "list models: %v", err)
		return
	}
	if es == nil {
		es = []registry.Entry{}
	}
	serving := map[string]string{}
	for k, l := range s.models.all()[c.GetString("tenant")] {
		serving[k] = l.entry.Version
	}
	c.JSON(http.StatusOK, gin.H{"models": es, "serving": serving})
}

func (s *Server) activate(c *gin.Context) {
	tenant, version := c.GetString("tenant"), c.Param("version")
	ctx := c.Request.Context()
	if err := s.cfg.Registry.Sync(ctx, tenant); err != nil {
		fail(c, http.StatusServiceUnavailable, "", "%v", err)
		return
	}
	e, err := s.cfg.Registry.Get(ctx, tenant, version)
	if errors.Is(err, registry.ErrNotFound) {
		fail(c, http.StatusNotFound, "version", "%v", err)
		return
	} else if err != nil {
		fail(c, http.StatusServiceUnavailable, "", "%v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := load(s.cfg.Registry, e, s.online.Current())
	if err != nil {
		fail(c, http.StatusUnprocessableEntity, "version", "refused, the current model keeps serving: %v", err)
		return
	}
	if _, err := s.cfg.Registry.Promote(ctx, tenant, version); err != nil {
		fail(c, http.StatusServiceUnavailable, "", "%v", err)
		return
	}
	l.entry.Active = true
	next := s.models.with(tenant, l)
	s.models.cur.Store(&next)
	s.met.refresh()
	c.JSON(http.StatusOK, gin.H{"activated": version, "kind": e.Kind})
}
