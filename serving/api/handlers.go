package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/audit"
	"github.com/duewise/duewise/serving/changes"
	"github.com/duewise/duewise/serving/scoring"
)

func lang(c *gin.Context) (string, error) {
	l := c.DefaultQuery("lang", "en")
	if l != "en" && l != "nl" {
		return "", scoring.Invalid("lang", "%q: want en or nl", l)
	}
	return l, nil
}

// auditRecord is the audit record of answer a to the request of c.
func auditRecord(c *gin.Context, customer string, a *scoring.RiskAnswer) audit.Record {
	reasons := make([]audit.Reason, len(a.Reasons))
	for i, r := range a.Reasons {
		reasons[i] = audit.Reason{Code: r.Code, Weight: r.Weight}
	}
	return audit.Record{Tenant: c.GetString(ctxTenant), KeyID: c.GetString(ctxKeyID), RequestID: c.GetString(ctxRequestID),
		Kind: a.Model.Kind, Customer: customer, ModelVersion: a.Model.Version, Risk: a.Risk, Band: a.Band, Reasons: reasons, RulesFired: a.RulesFired,
		ShadowVersion: a.ShadowVersion, ShadowRisk: a.ShadowRisk}
}

// record spools the audit records of answers before they are answered; an
// error means they must not be.
func (s *Server) record(c *gin.Context, recs ...audit.Record) error {
	if err := s.trail.Record(c.Request.Context(), recs...); err != nil {
		return fmt.Errorf("%w: the score is not answered because its audit record cannot be kept: %w", errAudit, err)
	}
	return nil
}

func (s *Server) customerRisk(c *gin.Context) (any, error) {
	lg, err := lang(c)
	if err != nil {
		return nil, err
	}
	ans, err := s.core.Customer(c.GetString(ctxTenant), c.Param("id"), lg)
	if err != nil {
		return nil, err
	}
	return ans, s.record(c, auditRecord(c, ans.CustomerID, &ans))
}

// decodeHistory decodes an inline record's raw history (field paths under
// prefix).
func decodeHistory(rec *inlineRecord, prefix string) error {
	if rec.history == nil {
		return nil
	}
	var h features.History
	if err := decodeStrict(rec.history, &h, prefix+"history"); err != nil {
		var se *scoring.Error
		if errors.As(err, &se) {
			return err
		}
		return scoring.Invalid(prefix+"history", "%v", err)
	}
	rec.History = &h
	return nil
}

func (s *Server) inlineRisk(c *gin.Context) (any, error) {
	lg, err := lang(c)
	if err != nil {
		return nil, err
	}
	body, err := readBody(c, s.cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	sc := &scanner{b: body}
	rec, ferr, err := parseRecord(s.core.Catalog(), sc, "", &recordBuf{})
	if err == nil {
		err = sc.end()
	}
	if err != nil {
		return nil, badJSON(err, body)
	}
	if ferr != nil {
		return nil, ferr
	}
	v, err := s.core.View(c.GetString(ctxTenant), model.Behaviour, false)
	if err != nil {
		return nil, err
	}
	if err := decodeHistory(&rec, ""); err != nil {
		return nil, err
	}
	ans, err := v.Inline(&rec.Inline, "", lg)
	if err != nil {
		return nil, err
	}
	return ans, s.record(c, auditRecord(c, ans.CustomerID, &ans))
}

// badJSON describes malformed JSON with line and column.
func badJSON(err error, body []byte) error {
	var se *syntaxError
	if errors.As(err, &se) {
		line, col := position(body, int64(se.Off))
		return scoring.Invalid("", "malformed JSON at line %d, column %d: %s", line, col, se.Msg)
	}
	return err
}

func (s *Server) onboardingRisk(c *gin.Context) (any, error) {
	lg, err := lang(c)
	if err != nil {
		return nil, err
	}
	var req scoring.Onboarding
	if err := decode(c, s.cfg.MaxBody, &req); err != nil {
		return nil, err
	}
	ans, err := s.core.Onboarding(c.GetString(ctxTenant), &req, lg)
	if err != nil {
		return nil, err
	}
	return ans, s.record(c, auditRecord(c, "prospect:"+req.ProspectID, &ans.RiskAnswer))
}

func (s *Server) invoiceRisk(c *gin.Context) (any, error) {
	lg, err := lang(c)
	if err != nil {
		return nil, err
	}
	var req scoring.Invoice
	if err := decode(c, s.cfg.MaxBody, &req); err != nil {
		return nil, err
	}
	ans, err := s.core.Invoice(c.GetString(ctxTenant), &req, lg)
	if err != nil {
		return nil, err
	}
	return ans, s.record(c, auditRecord(c, req.CustomerID, &ans.RiskAnswer))
}

// EventsAnswer is the answer of POST /v1/events: per table, one result
// per row in request order.
type EventsAnswer struct {
	Results  map[string][]datasets.RowResult `json:"results"`
	Accepted int                             `json:"accepted"`
	Rejected int                             `json:"rejected"`
}

func (s *Server) events(c *gin.Context) (any, error) {
	body, err := readBody(c, s.cfg.MaxBatchBody)
	if err != nil {
		return nil, err
	}
	req, err := parseEvents(body)
	if err != nil {
		return nil, err
	}
	if len(req) == 0 {
		return nil, scoring.Invalid("", `empty body: send {"invoices": [...], "payments": [...], ...}`)
	}
	for tbl := range req {
		if _, ok := datasets.TableByName(tbl); !ok {
			var names []string
			for _, t := range datasets.Tables {
				names = append(names, t.Name)
			}
			return nil, scoring.Invalid(tbl, "not a data-contract table (want one of %s)", strings.Join(names, ", "))
		}
	}
	ld, err := s.cfg.Loader.ForTenant(c.GetString(ctxTenant))
	if err != nil {
		return nil, scoring.Invalid("", "%v", err)
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
			return nil, &scoring.Error{Kind: scoring.ErrUnavailable,
				Msg: fmt.Sprintf("store %s rows: %v (nothing of this table was stored; the request can be repeated safely)", t.Name, err)}
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
	if out.Rejected > 0 {
		return withStatus{http.StatusMultiStatus, out}, nil
	}
	return out, nil
}

// parseEvents reads the body of POST /v1/events, {"table": [row, ...],
// ...}, into the raw JSON of each table's rows, without building a tree
// of the (up to 64 MiB) body: a table given twice, malformed JSON and
// nesting deeper than maxDepth are errors of the request; each row is
// checked by the loader (an invalid row is that row's rejection).
func parseEvents(body []byte) (map[string][]json.RawMessage, error) {
	req := map[string][]json.RawMessage{}
	sc := &scanner{b: body}
	err := sc.object(func(key []byte) error {
		k := string(key)
		if _, dup := req[k]; dup {
			return scoring.Invalid(k, "given twice")
		}
		if sc.peek() != '[' {
			return scoring.Invalid(k, "want an array of rows, got %s", sc.kind())
		}
		rows := []json.RawMessage{}
		err := sc.array(func(int) error {
			raw, err := sc.span()
			rows = append(rows, raw)
			return err
		})
		req[k] = rows
		return err
	})
	if err == nil {
		err = sc.end()
	}
	if err != nil {
		return nil, badJSON(err, body)
	}
	return req, nil
}

func (s *Server) listModels(c *gin.Context) (any, error) {
	return s.core.Models(c.Request.Context(), c.GetString(ctxTenant))
}

func (s *Server) activate(c *gin.Context) (any, error) {
	return s.core.Activate(c.Request.Context(), c.GetString(ctxTenant), c.Param("version"))
}

// modelReport answers the model report of a registered version: the HTML
// page of `duewise report` (format=html, the default) or its numbers
// (format=json), on a snapshot of the tenant's data computed now.
func (s *Server) modelReport(c *gin.Context) (any, error) {
	q := scoring.ReportQuery{Compare: c.Query("compare"), Every: c.Query("every")}
	for _, d := range []struct {
		name string
		t    *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if v, ok := c.GetQuery(d.name); ok {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return nil, scoring.Invalid(d.name, "%q: want a date YYYY-MM-DD", v)
			}
			*d.t = t
		}
	}
	format := c.DefaultQuery("format", "html")
	if format != "html" && format != "json" {
		return nil, scoring.Invalid("format", "%q: want html or json", format)
	}
	rep, err := s.core.ModelReport(c.Request.Context(), c.GetString(ctxTenant), c.Param("version"), q)
	if err != nil {
		return nil, err
	}
	if format == "json" {
		return rep, nil
	}
	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil {
		return nil, err
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", page.Bytes())
	return nil, nil
}

// cashForecast answers the cash-in forecast of the tenant (`duewise
// forecast cash`): JSON (format=json, the default) or CSV (format=csv).
func (s *Server) cashForecast(c *gin.Context) (any, error) {
	var q scoring.ForecastQuery
	if v, ok := c.GetQuery("from"); ok {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return nil, scoring.Invalid("from", "%q: want a date YYYY-MM-DD", v)
		}
		q.From = t
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"weeks", &q.Weeks}, {"origins", new(int)}} {
		if v, ok := c.GetQuery(p.name); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, scoring.Invalid(p.name, "%q: want a whole number", v)
			}
			*p.dst = n
			if p.name == "origins" {
				q.Origins = p.dst
			}
		}
	}
	q.Model = c.Query("model")
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "csv" {
		return nil, scoring.Invalid("format", "%q: want json or csv", format)
	}
	f, err := s.core.CashForecast(c.Request.Context(), c.GetString(ctxTenant), q)
	if err != nil {
		return nil, err
	}
	if format == "json" {
		return f, nil
	}
	var b bytes.Buffer
	if err := f.Write(&b, "csv"); err != nil {
		return nil, err
	}
	c.Data(http.StatusOK, "text/csv; charset=utf-8", b.Bytes())
	return nil, nil
}

// readyz answers 200 when a model and the online features are loaded and
// the warehouse is reachable, else 503 with the reasons.
func (s *Server) readyz(c *gin.Context) {
	r := s.core.Readiness()
	code := http.StatusOK
	if !r.Ready {
		code = http.StatusServiceUnavailable
	}
	c.JSON(code, r)
}

// ChangesAnswer is the answer of GET /v1/changes.
type ChangesAnswer struct {
	Changes []ChangeEntry `json:"changes"`
	// Next is the cursor to ask for the following changes with.
	Next string `json:"next"`
	// More reports that more changes are ready after Next.
	More bool `json:"more"`
}

// ChangeEntry is one change with the customer's answer now (null when the
// customer is no longer in the online features).
type ChangeEntry struct {
	changes.Change
	Answer *scoring.RiskAnswer `json:"answer"`
}

// changesLimit is the default and the most of GET /v1/changes's limit.
const changesLimit, changesMaxLimit = 100, 1000

func (s *Server) changesSince(c *gin.Context) (any, error) {
	if s.cfg.Changes == nil {
		return nil, &scoring.Error{Kind: scoring.ErrUnavailable, Msg: "this server keeps no change feed"}
	}
	lg, err := lang(c)
	if err != nil {
		return nil, err
	}
	limit := changesLimit
	if q, ok := c.GetQuery("limit"); ok {
		if limit, err = strconv.Atoi(q); err != nil || limit < 1 || limit > changesMaxLimit {
			return nil, scoring.Invalid("limit", "%q: want a whole number from 1 to %d", q, changesMaxLimit)
		}
	}
	tenant := c.GetString(ctxTenant)
	page, err := s.cfg.Changes.Since(c.Request.Context(), tenant, c.Query("since"), limit)
	switch {
	case errors.Is(err, changes.ErrBadCursor), errors.Is(err, changes.ErrExpired):
		return nil, err
	case err != nil:
		return nil, &scoring.Error{Kind: scoring.ErrUnavailable, Msg: fmt.Sprintf("the change feed cannot be read: %v", err)}
	}
	out := ChangesAnswer{Changes: make([]ChangeEntry, len(page.Changes)), Next: page.Next, More: page.More}
	if len(page.Changes) == 0 {
		return out, nil
	}
	v, err := s.core.View(tenant, model.Behaviour, true)
	if err != nil {
		return nil, err
	}
	var buf scoring.Values
	recs := make([]audit.Record, 0, len(page.Changes))
	for i, ch := range page.Changes {
		out.Changes[i].Change = ch
		ans, err := v.Customer(ch.CustomerID, fmt.Sprintf("changes[%d].customer_id", i), lg, &buf)
		if errors.Is(err, scoring.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		out.Changes[i].Answer = &ans
		recs = append(recs, auditRecord(c, ans.CustomerID, &ans))
	}
	return out, s.record(c, recs...)
}
