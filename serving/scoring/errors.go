package scoring

import (
	"errors"
	"fmt"
)

// The kinds of error the scoring core returns; the API answers each with
// its status (ErrInvalid 400, ErrNotFound 404, ErrRefused 422,
// ErrUnavailable 503). Test with errors.Is; an *Error also names the
// request field it concerns.
var (
	ErrInvalid     = errors.New("invalid input")
	ErrNotFound    = errors.New("not found")
	ErrRefused     = errors.New("refused")
	ErrUnavailable = errors.New("unavailable")
)

// Error is an error of one of the kinds above about one field of a
// request, named by its JSON path (e.g. records[3].signals.tenure_days;
// empty when it concerns none). A plain value.
type Error struct {
	Kind  error
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Is reports whether target is e's kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Invalid returns an ErrInvalid error about field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: ErrInvalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func notFound(field, format string, args ...any) *Error {
	return &Error{Kind: ErrNotFound, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func refused(field, format string, args ...any) *Error {
	return &Error{Kind: ErrRefused, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func unavailable(format string, args ...any) *Error {
	return &Error{Kind: ErrUnavailable, Msg: fmt.Sprintf(format, args...)}
}
