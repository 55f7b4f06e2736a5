package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/policy"
)

func lang(c *gin.Context) (string, bool) {
	l := c.DefaultQuery("lang", "en")
	if l != "en" && l != "nl" {
		fail(c, http.StatusBadRequest, "lang", "lang %q: want en or nl", l)
		return "", false
	}
	return l, true
}

// modelFor returns the tenant's active model of kind, or answers 503.
func (s *Server) modelFor(c *gin.Context, kind model.Kind) *loaded {
	l := s.models.get(c.GetString(ctxTenant), string(kind))
	if l == nil {
		fail(c, http.StatusServiceUnavailable, "", "no active %s model for this tenant (train one and run duewise models promote VERSION)", kind)
	}
	return l
}

func (s *Server) today() time.Time { return s.cfg.Now().UTC().Truncate(24 * time.Hour) }

func (s *Server) customerRisk(c *gin.Context) {
	lg, ok := lang(c)
	if !ok {
		return
	}
	l := s.modelFor(c, model.Behaviour)
	if l == nil {
		return
	}
	t, m, ok := s.customers(c)
	if !ok {
		return
	}
	id := c.Param("id")
	r, found := t.Lookup(c.GetString(ctxTenant), id)
	if !found {
		fail(c, http.StatusNotFound, "id", "customer %q not found in the online features of this tenant", id)
		return
	}
	v := s.cat.newValues()
	m.fromRow(r, &v)
	ans, p := s.score(l, &v, id, r.AsOf, r.Status, lg)
	s.audit.record(c, string(l.a.Kind), ans.CustomerID, ans.Model.Version, p.Risk90, ans.Band, ans.Reasons, ans.RulesFired)
	c.JSON(http.StatusOK, ans)
}

// inline scores one inline record; field paths of errors are under
// prefix. An error is a *fieldError (bad input).
func (s *Server) inline(l *loaded, rec *inlineRecord, prefix, lg string) (RiskAnswer, float64, error) {
	asOf, ferr := parseDate(rec.AsOf, prefix+"as_of", s.today())
	if ferr != nil {
		return RiskAnswer{}, 0, ferr
	}
	v := s.cat.newValues()
	var status string
	var computed bool
	switch {
	case rec.history != nil && rec.hasSignals:
		return RiskAnswer{}, 0, fieldErr(prefix+"signals", "send either signals or history, not both")
	case rec.history != nil:
		var h features.History
		if err := decodeStrict(rec.history, &h, prefix+"history"); err != nil {
			var fe *fieldError
			if errors.As(err, &fe) {
				return RiskAnswer{}, 0, fe
			}
			return RiskAnswer{}, 0, fieldErr(prefix+"history", "%v", err)
		}
		if rec.CustomerID != "" && h.Customer.CustomerID != "" && rec.CustomerID != h.Customer.CustomerID {
			return RiskAnswer{}, 0, fieldErr(prefix+"history.customer.customer_id", "%q differs from customer_id %q", h.Customer.CustomerID, rec.CustomerID)
		}
		row, err := features.Compute(&h, asOf, s.cfg.Threshold)
		if err != nil {
			return RiskAnswer{}, 0, fieldErr(prefix+"history", "%v", err)
		}
		s.cat.fromComputed(&row, &v)
		status, computed = row.Status, true
		if rec.CustomerID == "" {
			rec.CustomerID = h.Customer.CustomerID
		}
	case rec.hasSignals:
		v = rec.signals
		status = "ok"
		if d := v.num[s.cat.ix.overdueDays]; d >= float64(s.cfg.Threshold) {
			status = "behind"
		}
	default:
		return RiskAnswer{}, 0, fieldErr(prefix+"signals", "send the customer's signals or its history")
	}
	ans, p := s.score(l, &v, rec.CustomerID, asOf, status, lg)
	if computed {
		ans.Signals = s.signalsOf(&v)
	}
	return ans, p.Risk90, nil
}

func (s *Server) inlineRisk(c *gin.Context) {
	lg, ok := lang(c)
	if !ok {
		return
	}
	body, ok := readBody(c, s.cfg.MaxBody)
	if !ok {
		return
	}
	sc := &scanner{b: body}
	rec, ferr, err := s.cat.parseRecord(sc, "", &recordBuf{})
	if err == nil {
		err = sc.end()
	}
	if err != nil {
		badJSON(c, err, body)
		return
	}
	if ferr != nil {
		fail(c, http.StatusBadRequest, ferr.Field, "%s", ferr.Error())
		return
	}
	l := s.modelFor(c, model.Behaviour)
	if l == nil {
		return
	}
	ans, risk, err := s.inline(l, &rec, "", lg)
	if err != nil {
		fe := err.(*fieldError)
		fail(c, http.StatusBadRequest, fe.Field, "%s", fe.Error())
		return
	}
	s.audit.record(c, string(l.a.Kind), ans.CustomerID, ans.Model.Version, risk, ans.Band, ans.Reasons, ans.RulesFired)
	c.JSON(http.StatusOK, ans)
}

// badJSON answers 400 for malformed JSON, with line and column.
func badJSON(c *gin.Context, err error, body []byte) {
	var se *syntaxError
	if errors.As(err, &se) {
		line, col := position(body, int64(se.Off))
		fail(c, http.StatusBadRequest, "", "malformed JSON at line %d, column %d: %s", line, col, se.Msg)
		return
	}
	fail(c, http.StatusBadRequest, "", "%v", err)
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

// OnboardingAnswer is the onboarding model's answer plus the advice.
type OnboardingAnswer struct {
	RiskAnswer
	Advice policy.OnboardingAdvice `json:"advice"`
}

func (s *Server) onboardingRisk(c *gin.Context) {
	lg, ok := lang(c)
	if !ok {
		return
	}
	var req onboardingRequest
	if !decode(c, s.cfg.MaxBody, &req) {
		return
	}
	checks := []struct {
		field, val string
		allowed    []string
	}{
		{"customer_type", req.CustomerType, datasets.CustomerTypes},
		{"channel", req.Channel, datasets.Channels},
		{"payment_method", req.PaymentMethod, datasets.PaymentMethods},
	}
	for _, ch := range checks {
		if !slices.Contains(ch.allowed, ch.val) {
			what := fmt.Sprintf("%q", ch.val)
			if ch.val == "" {
				what = "missing"
			}
			fail(c, http.StatusBadRequest, ch.field, "%s: %s, want one of %s", ch.field, what, strings.Join(ch.allowed, ", "))
			return
		}
	}
	if req.Country != "" && (len(req.Country) != 2 || strings.ToUpper(req.Country) != req.Country) {
		fail(c, http.StatusBadRequest, "country", "country: %q, want an ISO 3166 alpha-2 code such as NL", req.Country)
		return
	}
	if req.MonthlyAmount == nil || !(*req.MonthlyAmount >= 0) {
		fail(c, http.StatusBadRequest, "monthly_amount", "monthly_amount: required, a number >= 0")
		return
	}
	if req.CreditLimit != nil && !(*req.CreditLimit >= 0) {
		fail(c, http.StatusBadRequest, "credit_limit", "credit_limit: must be >= 0")
		return
	}
	l := s.modelFor(c, model.Onboarding)
	if l == nil {
		return
	}
	today := s.today()
	ix := &s.cat.ix
	v := s.cat.newValues()
	v.num[ix.monthly], v.num[ix.tenure] = *req.MonthlyAmount, 0
	v.num[s.cat.numIdx["as_of_month"]] = float64(today.Month())
	if req.CreditLimit != nil {
		v.num[ix.creditLimit] = *req.CreditLimit
	}
	v.cat[ix.customerType], v.cat[ix.segment], v.cat[ix.channel] = req.CustomerType, req.Segment, req.Channel
	v.cat[ix.method], v.cat[ix.country], v.cat[s.cat.catIdx["postcode_area"]] = req.PaymentMethod, req.Country, req.PostcodeArea
	p, reasons, codes := s.prediction(l, &v, lg)
	ans := RiskAnswer{CustomerID: req.ProspectID, AsOf: today.Format(time.DateOnly), Status: "ok",
		Probabilities: Probabilities{round(p.P[0]), round(p.P[1]), round(p.P[2]), round(p.P[3]), round(p.P[4])},
		ExpectedDays:  math.Round(p.ExpectedDays*10) / 10, Band: p.Band, Reasons: reasons,
		Model: ModelRef{Kind: string(l.a.Kind), Version: l.entry.Version}}
	sit := s.situation(&v, &p, string(model.Onboarding), "ok", lg, codes)
	adv := s.cfg.Policy.EvaluateOnboarding(&sit)
	ans.Actions, ans.RulesFired = adv.Result.Actions, adv.Result.RulesFired
	l.scored(p.Band)
	s.audit.record(c, string(l.a.Kind), "prospect:"+req.ProspectID, ans.Model.Version, p.Risk90, ans.Band, ans.Reasons, ans.RulesFired)
	c.JSON(http.StatusOK, OnboardingAnswer{RiskAnswer: ans, Advice: adv})
}

// invoiceRequest is an invoice about to be issued.
type invoiceRequest struct {
	CustomerID string   `json:"customer_id"`
	Amount     *float64 `json:"amount"`
	IssuedAt   string   `json:"issued_at"`
	DueAt      string   `json:"due_at"`
	TermsDays  *int     `json:"terms_days"`
}

// InvoiceAnswer is the invoice model's answer.
type InvoiceAnswer struct {
	RiskAnswer
	InvoiceAmount float64 `json:"invoice_amount"`
	IssuedAt      string  `json:"issued_at"`
	DueAt         string  `json:"due_at"`
	// PLate is the probability that the invoice is not paid by its due
	// date; ExpectedDaysLate the expected days late (within 365).
	PLate             float64 `json:"p_late"`
	ExpectedDaysLate  float64 `json:"expected_days_late"`
	ReminderBeforeDue bool    `json:"reminder_before_due"`
	// ReminderDaysBeforeDue says how many days before the due date, when
	// a reminder is advised.
	ReminderDaysBeforeDue int `json:"reminder_days_before_due,omitempty"`
}

func (s *Server) invoiceRisk(c *gin.Context) {
	lg, ok := lang(c)
	if !ok {
		return
	}
	var req invoiceRequest
	if !decode(c, s.cfg.MaxBody, &req) {
		return
	}
	if req.CustomerID == "" {
		fail(c, http.StatusBadRequest, "customer_id", "customer_id: required")
		return
	}
	if req.Amount == nil || !(*req.Amount > 0) {
		fail(c, http.StatusBadRequest, "amount", "amount: required, a number > 0")
		return
	}
	issued, ferr := parseDate(req.IssuedAt, "issued_at", s.today())
	if ferr != nil {
		fail(c, http.StatusBadRequest, ferr.Field, "%s", ferr.Error())
		return
	}
	var due time.Time
	switch {
	case req.DueAt != "" && req.TermsDays != nil:
		fail(c, http.StatusBadRequest, "terms_days", "terms_days: send due_at or terms_days, not both")
		return
	case req.DueAt != "":
		if due, ferr = parseDate(req.DueAt, "due_at", time.Time{}); ferr != nil {
			fail(c, http.StatusBadRequest, ferr.Field, "%s", ferr.Error())
			return
		}
		if due.Before(issued) || due.Sub(issued) > 365*24*time.Hour {
			fail(c, http.StatusBadRequest, "due_at", "due_at: %s, want a date 0 to 365 days after issued_at %s", req.DueAt, issued.Format(time.DateOnly))
			return
		}
	case req.TermsDays != nil:
		if *req.TermsDays < 0 || *req.TermsDays > 365 {
			fail(c, http.StatusBadRequest, "terms_days", "terms_days: %d, want 0 to 365", *req.TermsDays)
			return
		}
		due = issued.AddDate(0, 0, *req.TermsDays)
	default:
		fail(c, http.StatusBadRequest, "terms_days", "terms_days: send due_at or terms_days (0..365)")
		return
	}
	l := s.modelFor(c, model.Invoice)
	if l == nil {
		return
	}
	t, m, ok := s.customers(c)
	if !ok {
		return
	}
	r, found := t.Lookup(c.GetString(ctxTenant), req.CustomerID)
	if !found {
		fail(c, http.StatusNotFound, "customer_id", "customer %q not found in the online features of this tenant", req.CustomerID)
		return
	}
	v := s.cat.newValues()
	m.fromRow(r, &v)
	v.num[s.cat.ix.invoiceAmount] = *req.Amount
	v.num[s.cat.numIdx[sigInvoiceTerms]] = due.Sub(issued).Hours() / 24
	v.num[s.cat.ix.daysToDue] = due.Sub(s.today()).Hours() / 24
	ans, p := s.score(l, &v, req.CustomerID, r.AsOf, r.Status, lg)
	out := InvoiceAnswer{RiskAnswer: ans, InvoiceAmount: *req.Amount, IssuedAt: issued.Format(time.DateOnly), DueAt: due.Format(time.DateOnly),
		PLate: round(p.PLate), ExpectedDaysLate: math.Round(p.ExpectedDays*10) / 10}
	for _, a := range ans.Actions {
		if a.When.Anchor == "due_date" && a.When.OffsetDays < 0 {
			out.ReminderBeforeDue, out.ReminderDaysBeforeDue = true, -a.When.OffsetDays
		}
	}
	s.audit.record(c, string(l.a.Kind), req.CustomerID, ans.Model.Version, p.PLate, ans.Band, ans.Reasons, ans.RulesFired)
	c.JSON(http.StatusOK, out)
}

// EventsAnswer is the answer of POST /v1/events: per table, one result
// per row in request order.
type EventsAnswer struct {
	Results  map[string][]datasets.RowResult `json:"results"`
	Accepted int                             `json:"accepted"`
	Rejected int                             `json:"rejected"`
}

func (s *Server) events(c *gin.Context) {
	var req map[string][]json.RawMessage
	if !decode(c, s.cfg.MaxBatchBody, &req) {
		return
	}
	if len(req) == 0 {
		fail(c, http.StatusBadRequest, "", `empty body: send {"invoices": [...], "payments": [...], ...}`)
		return
	}
	for tbl := range req {
		if _, ok := datasets.TableByName(tbl); !ok {
			var names []string
			for _, t := range datasets.Tables {
				names = append(names, t.Name)
			}
			fail(c, http.StatusBadRequest, tbl, "%s: not a data-contract table (want one of %s)", tbl, strings.Join(names, ", "))
			return
		}
	}
	ld, err := s.loader.ForTenant(c.GetString(ctxTenant))
	if err != nil {
		fail(c, http.StatusBadRequest, "", "%v", err)
		return
	}
	out := EventsAnswer{Results: map[string][]datasets.RowResult{}}
	// Contract order, so that a customer lands before its invoices.
	for _, t := range datasets.Tables {
		rows, ok := req[t.Name]
		if !ok {
			continue
		}
		res, err := ld.LoadRows(c.Request.Context(), t.Name, rows)
		if err != nil {
			fail(c, http.StatusServiceUnavailable, "", "store %s rows: %v (nothing of this table was stored; the request can be repeated safely)", t.Name, err)
			return
		}
		if res == nil {
			res = []datasets.RowResult{}
		}
		for i := range res {
			if res[i].Accepted {
				out.Accepted++
				continue
			}
			out.Rejected++
			res[i].Reason = strings.ReplaceAll(res[i].Reason, "rows[", t.Name+"[")
		}
		out.Results[t.Name] = res
	}
	s.met.rejected.Add(float64(out.Rejected))
	status := http.StatusOK
	if out.Rejected > 0 {
		status = http.StatusMultiStatus
	}
	c.JSON(status, out)
}

// ModelsAnswer is the answer of GET /v1/models.
type ModelsAnswer struct {
	Models []registry.Entry `json:"models"`
	// Serving maps each kind to the version this server is serving.
	Serving map[string]string `json:"serving"`
}

func (s *Server) listModels(c *gin.Context) {
	tenant := c.GetString(ctxTenant)
	if err := s.cfg.Registry.Sync(c.Request.Context(), tenant); err != nil {
		fail(c, http.StatusServiceUnavailable, "", "list models: %v", err)
		return
	}
	es, err := s.cfg.Registry.List(c.Request.Context(), tenant)
	if err != nil {
		fail(c, http.StatusServiceUnavailable, "", "list models: %v", err)
		return
	}
	if es == nil {
		es = []registry.Entry{}
	}
	out := ModelsAnswer{Models: es, Serving: map[string]string{}}
	for k, l := range s.models.all()[tenant] {
		out.Serving[k] = l.entry.Version
	}
	c.JSON(http.StatusOK, out)
}

// ActivateAnswer is the answer of POST /v1/models/{version}/activate.
type ActivateAnswer struct {
	Activated string `json:"activated"`
	Kind      string `json:"kind"`
	Previous  string `json:"previous,omitempty"`
}

func (s *Server) activate(c *gin.Context) {
	tenant, version := c.GetString(ctxTenant), c.Param("version")
	ctx := c.Request.Context()
	if err := s.cfg.Registry.Sync(ctx, tenant); err != nil {
		fail(c, http.StatusServiceUnavailable, "", "activate: %v", err)
		return
	}
	e, err := s.cfg.Registry.Get(ctx, tenant, version)
	if errors.Is(err, registry.ErrNotFound) {
		// A file the registry skipped because it does not load: say why.
		if plainToken(version) {
			if _, statErr := os.Stat(filepath.Join(s.cfg.Registry.Dir(), version+".model")); statErr == nil {
				if _, rerr := model.Read(filepath.Join(s.cfg.Registry.Dir(), version+".model")); rerr != nil {
					fail(c, http.StatusUnprocessableEntity, "version", "refused, the current model keeps serving: %v", rerr)
					return
				}
			}
		}
		fail(c, http.StatusNotFound, "version", "model %s is not registered for this tenant", version)
		return
	} else if err != nil {
		fail(c, http.StatusServiceUnavailable, "", "activate: %v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.load(e, s.online.Current())
	if err != nil {
		fail(c, http.StatusUnprocessableEntity, "version", "refused, the current model keeps serving: %v", err)
		return
	}
	if _, err := s.cfg.Registry.Promote(ctx, tenant, version); err != nil {
		fail(c, http.StatusServiceUnavailable, "", "activate: %v", err)
		return
	}
	out := ActivateAnswer{Activated: version, Kind: e.Kind}
	if old := s.models.get(tenant, e.Kind); old != nil {
		out.Previous = old.entry.Version
	}
	l.entry.Active = true
	next := s.models.with(tenant, l)
	s.models.cur.Store(&next)
	s.met.refresh()
	s.log.Info("model activated", "tenant", tenant, "kind", e.Kind, "version", version, "previous", out.Previous)
	c.JSON(http.StatusOK, out)
}
