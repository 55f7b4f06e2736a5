// Package yamlfile places the problems of a YAML file a person wrote at
// file:line:column and field path: the one form in which duewise's YAML
// loaders (the action policy, serve's config file) report them.
package yamlfile

import (
	"errors"
	"strconv"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/token"
)

// Error is one problem of a YAML file, at File:Line:Column (Line 0: the
// file as a whole) and field Path (e.g. rules[2].when.all[0].signal, or a
// key). A plain value.
type Error struct {
	File         string
	Line, Column int
	Path         string
	Msg          string
}

// Error formats the problem as file:line:column: path: message.
func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Column)
	}
	if e.Path != "" {
		return loc + ": " + e.Path + ": " + e.Msg
	}
	return loc + ": " + e.Msg
}

// At returns the problem msg of path at the position of tk (of the file
// as a whole when tk has none).
func At(file string, tk *token.Token, path, msg string) *Error {
	e := &Error{File: file, Path: path, Msg: msg}
	if tk != nil && tk.Position != nil {
		e.Line, e.Column = tk.Position.Line, tk.Position.Column
	}
	return e
}

// Syntax places a go-yaml parse error at its line and column.
func Syntax(file string, err error) *Error {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		return At(file, ye.GetToken(), "", ye.GetMessage())
	}
	return &Error{File: file, Msg: err.Error()}
}
