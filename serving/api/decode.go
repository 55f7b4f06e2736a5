package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// decode reads the JSON body strictly into v: unknown fields, wrong types,
// trailing data and oversize bodies are errors naming the field path. It
// answers the error itself and returns false.
func decode(c *gin.Context, v any) bool {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(c, http.StatusRequestEntityTooLarge, "", "request body exceeds the limit of %d bytes", mbe.Limit)
			return false
		}
		fail(c, http.StatusBadRequest, "", "read body: %v", err)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field, msg := explain(err, body)
		fail(c, http.StatusBadRequest, field, "%s", msg)
		return false
	}
	if dec.More() {
		fail(c, http.StatusBadRequest, "", "unexpected data after the JSON value")
		return false
	}
	return true
}

// explain turns a json decoding error into a field path and a message.
func explain(err error, body []byte) (string, string) {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return te.Field, fmt.Sprintf("%s: want %s, got JSON %s", te.Field, te.Type, te.Value)
	case errors.As(err, &se):
		line, col := position(body, se.Offset)
		return "", fmt.Sprintf("malformed JSON at line %d, column %d: %v", line, col, se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return f, fmt.Sprintf("unknown field %q", f)
	case errors.Is(err, io.EOF):
		return "", "empty body: want a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "", "truncated JSON body"
	}
	return "", err.Error()
}

func position(b []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off && i < int64(len(b)); i++ {
		if b[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
