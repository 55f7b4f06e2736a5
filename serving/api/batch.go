package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gin-gonic/gin"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/online"
)

// maxBatch is the largest batch.
const maxBatch = 10_000

// batchChunk is the number of records a worker scores at a time.
const batchChunk = 64

// BatchLine is one line of the NDJSON answer of POST /v1/risk/batch: the
// record's index in the request and either its answer or its error.
type BatchLine struct {
	Index int `json:"index"`
	*RiskAnswer
	// Error, Field and ErrorStatus describe a record that could not be
	// scored (ErrorStatus 400: invalid, 404: unknown customer).
	Error       string `json:"error,omitempty"`
	Field       string `json:"field,omitempty"`
	ErrorStatus int    `json:"error_status,omitempty"`
	// ID is the customer id of a record that could not be scored.
	ID string `json:"id,omitempty"`
}

// batchBody is a parsed batch request: customer ids, or the raw bytes of
// each inline record.
type batchBody struct {
	ids     []string
	idErr   map[int]*fieldError
	records [][]byte
}

// parseBatch reads {"customer_ids": [...]} or {"records": [...]}. Unknown
// top-level fields, a non-array list and malformed JSON are request
// errors; a wrong element is that element's error line.
func parseBatch(b []byte) (batchBody, error) {
	var out batchBody
	sc := &scanner{b: b}
	seen := map[string]bool{}
	err := sc.object(func(key []byte) error {
		k := string(key)
		if seen[k] {
			return fieldErr(k, "given twice")
		}
		seen[k] = true
		switch k {
		case "customer_ids", "records":
		default:
			return fieldErr(k, "unknown field (want customer_ids or records)")
		}
		if sc.peek() != '[' {
			return fieldErr(k, "want an array, got %s", sc.kind())
		}
		return sc.array(func(i int) error {
			if i >= maxBatch {
				return fieldErr(k, "more than %d entries: send at most %d per request", maxBatch, maxBatch)
			}
			if k == "records" {
				raw, err := sc.span()
				out.records = append(out.records, raw)
				return err
			}
			if sc.peek() != '"' {
				if out.idErr == nil {
					out.idErr = map[int]*fieldError{}
				}
				out.idErr[i] = fieldErr(k+"["+strconv.Itoa(i)+"]", "want a string, got %s", sc.kind())
				out.ids = append(out.ids, "")
				_, err := sc.skip()
				return err
			}
			id, err := sc.str()
			out.ids = append(out.ids, id)
			return err
		})
	})
	if err == nil {
		err = sc.end()
	}
	if err != nil {
		return out, err
	}
	switch {
	case seen["customer_ids"] && seen["records"]:
		return out, fieldErr("records", "send customer_ids or records, not both")
	case len(out.ids)+len(out.records) == 0:
		return out, fieldErr("customer_ids", "empty batch: send customer_ids or records")
	}
	return out, nil
}

// parallel runs fn on chunks [lo, hi) of n items on workers and calls emit
// with each chunk's result in order, as soon as it and the chunks before it
// are done. At most 4 chunks per worker are ahead of emit, which bounds
// memory. It stops early when ctx ends or emit fails.
func parallel[T any](ctx context.Context, workers, n, chunk int, fn func(lo, hi int) T, emit func(T) error) error {
	chunks := (n + chunk - 1) / chunk
	workers = max(1, min(workers, chunks))
	type result struct {
		v    T
		done chan struct{}
	}
	res := make([]result, chunks)
	for i := range res {
		res[i].done = make(chan struct{})
	}
	window := make(chan struct{}, 4*workers)
	stop := make(chan struct{})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				// Take a slot before the index, so that the chunk emit
				// waits for always holds one.
				select {
				case window <- struct{}{}:
				case <-stop:
					return
				}
				i := int(next.Add(1) - 1)
				if i >= chunks {
					return
				}
				if ctx.Err() == nil {
					lo := i * chunk
					res[i].v = fn(lo, min(lo+chunk, n))
				}
				close(res[i].done)
			}
		}()
	}
	defer wg.Wait()
	defer close(stop)
	var zero T
	for i := range res {
		<-res[i].done
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := emit(res[i].v); err != nil {
			return err
		}
		res[i].v = zero
		<-window
	}
	return nil
}

func (s *Server) batchRisk(c *gin.Context) {
	lg, ok := lang(c)
	if !ok {
		return
	}
	body, ok := readBody(c, s.cfg.MaxBatchBody)
	if !ok {
		return
	}
	req, err := parseBatch(body)
	if err != nil {
		if fe, ok := err.(*fieldError); ok {
			status := http.StatusBadRequest
			if len(req.ids)+len(req.records) >= maxBatch {
				status = http.StatusRequestEntityTooLarge
			}
			fail(c, status, fe.Field, "%s", fe.Error())
			return
		}
		badJSON(c, err, body)
		return
	}
	l := s.modelFor(c, model.Behaviour)
	if l == nil {
		return
	}
	var t *online.Table
	var m *tableMap
	if len(req.ids) > 0 {
		if t, m, ok = s.customers(c); !ok {
			return
		}
	}
	tenant := c.GetString(ctxTenant)
	n := len(req.ids) + len(req.records)
	score := func(lo, hi int) []byte {
		out, _ := s.lineBufs.Get().([]byte)
		var buf recordBuf // reused by the inline records
		var row values    // the signals of customers looked up by id: every position is set from the row or stays missing
		if req.ids != nil {
			row = s.cat.newValues()
		}
		for i := lo; i < hi; i++ {
			line := BatchLine{Index: i}
			var risk float64
			if req.ids != nil {
				id := req.ids[i]
				if fe := req.idErr[i]; fe != nil {
					line.Error, line.Field, line.ErrorStatus = fe.Error(), fe.Field, http.StatusBadRequest
				} else if r, found := t.Lookup(tenant, id); !found {
					line.Error, line.ErrorStatus, line.ID = fmt.Sprintf("customer %q not found in the online features of this tenant", id), http.StatusNotFound, id
				} else {
					m.fromRow(r, &row)
					ans, p := s.score(l, &row, id, r.AsOf, r.Status, lg)
					line.RiskAnswer, risk = &ans, p.Risk90
				}
			} else {
				prefix := "records[" + strconv.Itoa(i) + "]."
				rsc := &scanner{b: req.records[i]}
				rec, ferr, err := s.cat.parseRecord(rsc, prefix, &buf)
				if err == nil {
					err = rsc.end()
				}
				if se, ok := err.(*syntaxError); ok {
					// Malformed JSON says more than what was read before it.
					err, ferr = fieldErr(strings.TrimSuffix(prefix, "."), "malformed JSON at byte %d of the record: %s", se.Off+1, se.Msg), nil
				}
				if err == nil && ferr == nil {
					var ans RiskAnswer
					if ans, risk, err = s.inline(l, &rec, prefix, lg); err == nil {
						line.RiskAnswer = &ans
					}
				}
				if ferr != nil {
					err = ferr
				}
				if err != nil {
					line.Error, line.ErrorStatus, line.ID = err.Error(), http.StatusBadRequest, rec.CustomerID
					if fe, ok := err.(*fieldError); ok {
						line.Field = fe.Field
					}
				}
			}
			if a := line.RiskAnswer; a != nil {
				s.audit.record(c, string(l.a.Kind), a.CustomerID, a.Model.Version, risk, a.Band, a.Reasons, a.RulesFired)
			}
			out = appendLine(out, &line)
		}
		return out
	}
	c.Header("Content-Type", "application/x-ndjson")
	c.Status(http.StatusOK)
	flusher, _ := c.Writer.(http.Flusher)
	err = parallel(c.Request.Context(), s.cfg.Workers, n, batchChunk, score, func(b []byte) error {
		_, err := c.Writer.Write(b)
		if err == nil && flusher != nil {
			flusher.Flush()
		}
		s.lineBufs.Put(b[:0])
		return err
	})
	if err != nil {
		s.log.Warn("batch ended early", "request_id", c.GetString(ctxRequestID), "err", err)
	}
}

// ScoreAll scores every customer of tenant ("" = every tenant with an
// active behaviour model) in the online features with its tenant's active
// behaviour model, reasons in lang and the policy's recommended actions,
// on Workers goroutines. Each answer is passed to encode on the worker
// that made it (so that the output is formatted in parallel too), and
// what encode returns to emit, in tenant and customer order. It is the
// nightly batch behind `duewise score --all`; it writes no audit records
// (its output is the record). Safe for concurrent use.
func (s *Server) ScoreAll(ctx context.Context, tenant, lang string, encode func(tenant string, a *RiskAnswer) (any, error), emit func(any) error) (int, error) {
	t, m := s.online.Current(), s.tmap.Load()
	if t == nil || m == nil || m.t != t {
		return 0, fmt.Errorf("score all: online features not loaded: %v", s.online.Err())
	}
	tenants := []string{tenant}
	if tenant == "" {
		tenants = nil
		for _, tn := range t.Tenants() {
			if s.models.get(tn, string(model.Behaviour)) != nil {
				tenants = append(tenants, tn)
			}
		}
	}
	total := 0
	for _, tn := range tenants {
		l := s.models.get(tn, string(model.Behaviour))
		if l == nil {
			return total, fmt.Errorf("score all: no active behaviour model for tenant %q", tn)
		}
		type row struct {
			id string
			r  online.Row
		}
		rows := make([]row, 0, t.Customers(tn))
		t.Each(tn, func(_, id string, r online.Row) bool { rows = append(rows, row{id, r}); return true })
		type chunk struct {
			out []any
			err error
		}
		err := parallel(ctx, s.cfg.Workers, len(rows), 256, func(lo, hi int) chunk {
			v := s.cat.newValues()
			c := chunk{out: make([]any, 0, hi-lo)}
			for i := lo; i < hi; i++ {
				m.fromRow(rows[i].r, &v)
				a, _ := s.score(l, &v, rows[i].id, rows[i].r.AsOf, rows[i].r.Status, lang)
				x, err := encode(tn, &a)
				if err != nil {
					c.err = err
					return c
				}
				c.out = append(c.out, x)
			}
			return c
		}, func(c chunk) error {
			if c.err != nil {
				return c.err
			}
			for _, x := range c.out {
				if err := emit(x); err != nil {
					return err
				}
				total++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
