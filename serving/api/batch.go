package api

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/duewise/duewise/internal/ordered"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/audit"
	"github.com/duewise/duewise/serving/scoring"
)

// maxBatch is the largest batch.
const maxBatch = 10_000

// batchChunk is the number of records a worker scores at a time.
const batchChunk = 64

// BatchLine is one line of the NDJSON answer of POST /v1/risk/batch: the
// record's index in the request and either its answer or its error.
type BatchLine struct {
	Index int `json:"index"`
	*scoring.RiskAnswer
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
	idErr   map[int]*scoring.Error
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
			return scoring.Invalid(k, "given twice")
		}
		seen[k] = true
		switch k {
		case "customer_ids", "records":
		default:
			return scoring.Invalid(k, "unknown field (want customer_ids or records)")
		}
		if sc.peek() != '[' {
			return scoring.Invalid(k, "want an array, got %s", sc.kind())
		}
		return sc.array(func(i int) error {
			if i >= maxBatch {
				return scoring.Invalid(k, "more than %d entries: send at most %d per request", maxBatch, maxBatch)
			}
			if k == "records" {
				raw, err := sc.span()
				out.records = append(out.records, raw)
				return err
			}
			if sc.peek() != '"' {
				if out.idErr == nil {
					out.idErr = map[int]*scoring.Error{}
				}
				out.idErr[i] = scoring.Invalid(k+"["+strconv.Itoa(i)+"]", "want a string, got %s", sc.kind())
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
		return out, scoring.Invalid("records", "send customer_ids or records, not both")
	case len(out.ids)+len(out.records) == 0:
		return out, scoring.Invalid("customer_ids", "empty batch: send customer_ids or records")
	}
	return out, nil
}

func (s *Server) batchRisk(c *gin.Context) (any, error) {
	lg, err := lang(c)
	if err != nil {
		return nil, err
	}
	body, err := readBody(c, s.cfg.MaxBatchBody)
	if err != nil {
		return nil, err
	}
	req, err := parseBatch(body)
	if err != nil {
		var se *scoring.Error
		if errors.As(err, &se) {
			if len(req.ids)+len(req.records) >= maxBatch {
				return nil, httpError(http.StatusRequestEntityTooLarge, "%s", se.Error())
			}
			return nil, err
		}
		return nil, badJSON(err, body)
	}
	v, err := s.core.View(c.GetString(ctxTenant), model.Behaviour, len(req.ids) > 0)
	if err != nil {
		return nil, err
	}
	array := wantsArray(c.GetHeader("Accept"))
	if array {
		c.Header("Content-Type", "application/json; charset=utf-8")
	} else {
		c.Header("Content-Type", "application/x-ndjson")
	}
	c.Status(http.StatusOK)
	flusher, _ := c.Writer.(http.Flusher)
	bufs := make([]batchBuf, s.cfg.Workers)
	n := len(req.ids) + len(req.records)
	sep := byte('[')
	err = ordered.Run(c.Request.Context(), ordered.Config{Workers: s.cfg.Workers}, ordered.Chunks(n, batchChunk), func(w int, r ordered.Range) []byte {
		return s.scoreChunk(c, v, &req, r, lg, &bufs[w])
	}, func(b []byte) error {
		if array {
			// The lines hold no newline but their last byte (JSON
			// escapes them in strings): the same objects, comma-separated.
			b = asArrayPart(b, sep)
			sep = ','
		}
		_, err := c.Writer.Write(b)
		if err == nil && flusher != nil {
			flusher.Flush()
		}
		s.lineBufs.Put(b[:0])
		return err
	})
	if err == nil && array {
		_, err = c.Writer.Write([]byte("]\n"))
	}
	if err != nil {
		s.log.Warn("batch ended early", "request_id", c.GetString(ctxRequestID), "err", err)
	}
	return nil, nil
}

// batchBuf is what a worker reuses from one chunk to the next.
type batchBuf struct {
	rec   recordBuf      // the inline records
	row   scoring.Values // the signals of customers looked up by id
	lines []BatchLine
	recs  []audit.Record
}

// scoreChunk scores the records of r and returns their NDJSON lines, once
// their audit records are spooled (else the lines are 503 errors).
func (s *Server) scoreChunk(c *gin.Context, v *scoring.View, req *batchBody, r ordered.Range, lg string, buf *batchBuf) []byte {
	buf.lines, buf.recs = buf.lines[:0], buf.recs[:0]
	for i := r.Lo; i < r.Hi; i++ {
		line := s.scoreOne(v, req, i, lg, buf)
		if a := line.RiskAnswer; a != nil {
			buf.recs = append(buf.recs, auditRecord(c, a.CustomerID, a))
		}
		buf.lines = append(buf.lines, line)
	}
	if err := s.record(c, buf.recs...); err != nil {
		_, _, msg := statusOf(err)
		for i := range buf.lines {
			if buf.lines[i].RiskAnswer != nil {
				buf.lines[i] = BatchLine{Index: buf.lines[i].Index, Error: msg, ErrorStatus: http.StatusServiceUnavailable, ID: buf.lines[i].CustomerID}
			}
		}
	}
	out, _ := s.lineBufs.Get().([]byte)
	for i := range buf.lines {
		out = appendLine(out, &buf.lines[i])
	}
	return out
}

// scoreOne scores record i of req.
func (s *Server) scoreOne(v *scoring.View, req *batchBody, i int, lg string, buf *batchBuf) BatchLine {
	line := BatchLine{Index: i}
	var ans scoring.RiskAnswer
	var err error
	if req.ids != nil {
		id := req.ids[i]
		if fe := req.idErr[i]; fe != nil {
			err = fe
		} else if ans, err = v.Customer(id, "", lg, &buf.row); err != nil {
			line.ID = id
		}
	} else {
		var rec inlineRecord
		if rec, err = s.parseInline(req.records[i], i, buf); err == nil {
			ans, err = v.Inline(&rec.Inline, "records["+strconv.Itoa(i)+"].", lg)
		}
		line.ID = rec.CustomerID
	}
	if err != nil {
		status, field, msg := statusOf(err)
		line.Error, line.Field, line.ErrorStatus = msg, field, status
		return line
	}
	line.ID = ""
	line.RiskAnswer = &ans
	return line
}

// parseInline parses inline record i of a batch.
func (s *Server) parseInline(raw []byte, i int, buf *batchBuf) (inlineRecord, error) {
	prefix := "records[" + strconv.Itoa(i) + "]."
	rsc := &scanner{b: raw}
	rec, ferr, err := parseRecord(s.core.Catalog(), rsc, prefix, &buf.rec)
	if err == nil {
		err = rsc.end()
	}
	var se *syntaxError
	if errors.As(err, &se) {
		// Malformed JSON says more than what was read before it.
		return rec, scoring.Invalid(strings.TrimSuffix(prefix, "."), "malformed JSON at byte %d of the record: %s", se.Off+1, se.Msg)
	}
	if ferr != nil {
		return rec, ferr
	}
	if err != nil {
		return rec, err
	}
	return rec, decodeHistory(&rec, prefix)
}

// wantsArray reports whether an Accept header prefers a JSON array
// (application/json) to NDJSON (application/x-ndjson, the default, also
// for */* and no header): the higher q wins, NDJSON on a tie.
func wantsArray(accept string) bool {
	qOf := func(want string) float64 {
		best := -1.0
		for _, part := range strings.Split(accept, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || mt != want {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(v, 64); err != nil {
					q = 0
				}
			}
			best = max(best, q)
		}
		return best
	}
	j, nd := qOf("application/json"), qOf("application/x-ndjson")
	return j > 0 && j > nd
}

// asArrayPart turns a chunk of NDJSON lines into a part of a JSON array:
// sep ('[' for the first chunk, ',' after) before the first object, commas
// between them.
func asArrayPart(b []byte, sep byte) []byte {
	out := make([]byte, 0, len(b)+1)
	out = append(out, sep)
	for i, c := range b {
		switch {
		case c != '\n':
			out = append(out, c)
		case i < len(b)-1:
			out = append(out, ',')
		}
	}
	return out
}
