package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
	"github.com/spf13/pflag"

	"github.com/duewise/duewise/internal/yamlfile"
)

// configFlag is the flag that names a command's YAML config file.
const configFlag = "config"

// A config file holds one YAML mapping whose keys are the command's flag
// names (its own and the global ones: store, clickhouse, log-level, ...)
// and whose values are what the flag takes on the command line, a list
// for a list flag:
//
//	addr: 127.0.0.1:8080
//	audit-sync-every: 100ms
//	log-format: json
//
// It is applied over the command's parsed flag set, so that a flag added
// to the command later is a key at once. A flag given on the command line
// wins over the file; the file wins over the environment (DUEWISE_STORE,
// ...) and the defaults.

// applyConfig sets every flag of fs that the command line did not set
// from the config file at path. It reports every problem of the file
// (unknown keys, keys given twice, values a flag refuses, anything but a
// mapping of values), each with its file:line:column.
func applyConfig(fs *pflag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--%s: %w", configFlag, err)
	}
	f, err := parser.ParseBytes(b, 0)
	if err != nil {
		return yamlfile.Syntax(path, err)
	}
	var body ast.Node
	switch {
	case len(f.Docs) > 1:
		return &yamlfile.Error{File: path, Msg: "want one YAML document"}
	case len(f.Docs) == 1:
		body = f.Docs[0].Body
	}
	var pairs []*ast.MappingValueNode
	switch n := unwrap(body).(type) {
	case nil: // empty, or only comments
	case *ast.MappingNode:
		pairs = n.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{n}
	default:
		return yamlfile.At(path, n.GetToken(), "", "want a mapping of flag names to values, e.g. addr: 127.0.0.1:8080")
	}
	var errs []error
	seen := map[string]bool{}
	for _, kv := range pairs {
		key, at := kv.Key.GetToken().Value, kv.Key.GetToken()
		if seen[key] {
			errs = append(errs, yamlfile.At(path, at, key, "given twice"))
			continue
		}
		seen[key] = true
		fl := fs.Lookup(key)
		if fl == nil || key == configFlag || key == "help" {
			errs = append(errs, yamlfile.At(path, at, key, "unknown key: not a flag of this command (see --help)"))
			continue
		}
		vat := tokenOf(kv.Value, at)
		values, list, err := scalars(kv.Value)
		if err != nil {
			errs = append(errs, yamlfile.At(path, vat, key, err.Error()))
			continue
		}
		sv, isList := fl.Value.(pflag.SliceValue)
		switch {
		case list && !isList:
			errs = append(errs, yamlfile.At(path, vat, key, "want one value, not a list"))
		case fl.Changed: // the command line wins
		case isList:
			if err := sv.Replace(values); err != nil {
				errs = append(errs, yamlfile.At(path, vat, key, err.Error()))
			}
			fl.Changed = true
		default:
			if err := fs.Set(key, values[0]); err != nil {
				errs = append(errs, yamlfile.At(path, vat, key, fmt.Sprintf("invalid value %q for a %s flag: %v", values[0], fl.Value.Type(), unwrapParse(err))))
			}
		}
	}
	// On an error the command stops: what was set meanwhile is not used.
	return errors.Join(errs...)
}

// unwrapParse shortens strconv's "strconv.ParseInt: parsing "x": invalid
// syntax" to its reason.
func unwrapParse(err error) error {
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return ne.Err
	}
	return err
}

// scalars returns the text of a value node: one value, or the values of a
// list.
func scalars(n ast.Node) (values []string, list bool, err error) {
	switch n := unwrap(n).(type) {
	case *ast.SequenceNode:
		for _, v := range n.Values {
			s, err := scalar(v)
			if err != nil {
				return nil, true, err
			}
			values = append(values, s)
		}
		return values, true, nil
	default:
		s, err := scalar(n)
		return []string{s}, false, err
	}
}

func scalar(n ast.Node) (string, error) {
	switch n := unwrap(n).(type) {
	case nil, *ast.NullNode:
		return "", errors.New("no value (write \"\" for an empty one)")
	case *ast.StringNode:
		return n.Value, nil
	case *ast.LiteralNode:
		return strings.TrimSuffix(n.Value.Value, "\n"), nil
	case *ast.MappingNode, *ast.MappingValueNode:
		return "", errors.New("want a value, not a mapping")
	case *ast.SequenceNode:
		return "", errors.New("want a value, not a list")
	case *ast.AliasNode:
		return "", errors.New("aliases are not supported")
	case ast.ScalarNode:
		return n.GetToken().Value, nil
	default:
		return "", fmt.Errorf("want a value, not %s", n.Type())
	}
}

// unwrap returns the node under tags and anchors.
func unwrap(n ast.Node) ast.Node {
	for {
		switch t := n.(type) {
		case *ast.TagNode:
			n = t.Value
		case *ast.AnchorNode:
			n = t.Value
		default:
			return n
		}
	}
}

// tokenOf returns n's token, or def when n has none (a missing value).
func tokenOf(n ast.Node, def *token.Token) *token.Token {
	if n = unwrap(n); n != nil {
		if _, null := n.(*ast.NullNode); !null && n.GetToken() != nil {
			return n.GetToken()
		}
	}
	return def
}
