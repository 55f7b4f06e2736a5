package yamlfile

import (
	"testing"

	"github.com/goccy/go-yaml/parser"
)

func TestError(t *testing.T) {
	for _, tc := range []struct {
		e    *Error
		want string
	}{
		{&Error{File: "a.yaml", Line: 3, Column: 7, Path: "rate", Msg: "bad"}, "a.yaml:3:7: rate: bad"},
		{&Error{File: "a.yaml", Line: 1, Column: 1, Msg: "want a mapping"}, "a.yaml:1:1: want a mapping"},
		{&Error{File: "a.yaml", Msg: "empty"}, "a.yaml: empty"},
		{At("a.yaml", nil, "k", "no position"), "a.yaml: k: no position"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
	_, err := parser.ParseBytes([]byte("a: 1\nb: [\n"), 0)
	if err == nil {
		t.Fatal("no syntax error")
	}
	if e := Syntax("x.yaml", err); e.File != "x.yaml" || e.Line != 2 || e.Msg == "" {
		t.Errorf("syntax error %+v", e)
	}
}
