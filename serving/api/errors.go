package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/duewise/duewise/serving/audit"
	"github.com/duewise/duewise/serving/changes"
	"github.com/duewise/duewise/serving/scoring"
)

// apiError is the body of every error answer.
type apiError struct {
	Error     string `json:"error"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id"`
}

// statusError is an error of the HTTP layer with the status it answers
// (missing key 401, scope 403, route 404, method 405, body 413, rate 429).
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func httpError(status int, format string, args ...any) *statusError {
	return &statusError{status: status, msg: fmt.Sprintf(format, args...)}
}

// statusOf maps an error to its HTTP status and the request field it
// names: the one place where errors become statuses (as Prometheus'
// respondError). An error of no known kind is a 500.
func statusOf(err error) (status int, field, msg string) {
	var he *statusError
	if errors.As(err, &he) {
		return he.status, "", he.msg
	}
	var se *scoring.Error
	if errors.As(err, &se) {
		field, msg = se.Field, se.Msg
		if errors.Is(err, scoring.ErrInvalid) {
			msg = se.Error()
		}
	} else {
		msg = err.Error()
	}
	switch {
	case errors.Is(err, scoring.ErrInvalid):
		return http.StatusBadRequest, field, msg
	case errors.Is(err, scoring.ErrNotFound):
		return http.StatusNotFound, field, msg
	case errors.Is(err, scoring.ErrRefused):
		return http.StatusUnprocessableEntity, field, msg
	case errors.Is(err, scoring.ErrUnavailable):
		return http.StatusServiceUnavailable, field, msg
	case errors.Is(err, audit.ErrFull), errors.Is(err, errAudit):
		return http.StatusServiceUnavailable, field, msg
	case errors.Is(err, changes.ErrBadCursor):
		return http.StatusBadRequest, "since", msg
	case errors.Is(err, changes.ErrExpired):
		return http.StatusGone, "since", msg
	}
	return http.StatusInternalServerError, "", msg
}

// errAudit marks a score that could not be recorded in the audit trail:
// it is not answered (503).
var errAudit = errors.New("audit trail unavailable")

// fail answers err with its status, message and field.
func (s *Server) fail(c *gin.Context, err error) {
	status, field, msg := statusOf(err)
	if status == http.StatusInternalServerError {
		s.log.Error("internal error", "request_id", c.GetString(ctxRequestID), "route", c.FullPath(), "err", err)
		msg = "internal error; quote request id " + c.GetString(ctxRequestID) + " when you report it"
	}
	c.AbortWithStatusJSON(status, apiError{Error: msg, Field: field, RequestID: c.GetString(ctxRequestID)})
}

// handler is a route's work: it returns the answer (a value encoded as
// JSON with status 200, or a reply) or an error; nil, nil when it wrote
// the answer itself (a stream).
type handler func(c *gin.Context) (any, error)

// withStatus is an answer with a status other than 200.
type withStatus struct {
	status int
	body   any
}

// handle adapts h to gin: errors go through fail, answers are encoded
// before anything is written, so that a value that cannot be encoded is a
// 500 instead of a 200 with a broken body.
func (s *Server) handle(h handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		v, err := h(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		if v == nil {
			return
		}
		status := http.StatusOK
		if r, ok := v.(withStatus); ok {
			status, v = r.status, r.body
		}
		b, err := json.Marshal(v)
		if err != nil {
			s.fail(c, fmt.Errorf("encode the answer: %w", err))
			return
		}
		c.Data(status, "application/json; charset=utf-8", b)
	}
}
