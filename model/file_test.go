package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fileArtifact is testArtifact with everything a trainer records.
func fileArtifact() *Artifact {
	a := testArtifact()
	a.Tenant = "acme"
	a.CreatedAt = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	a.CodeVersion = "v1.2.3"
	a.DataFingerprint = "sha256:0123"
	a.Seed = 42
	a.Params = map[string]any{"hidden": []any{3.0}, "learn_rate": 0.002}
	a.Metrics = map[string]any{"validation": map[string]any{"rows": 10.0}}
	return a
}

func TestArtifactRoundTrip(t *testing.T) {
	a := fileArtifact()
	path := filepath.Join(t.TempDir(), "m", "behaviour.model")
	if err := Write(path, a); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.Version, "behaviour-20260304050607-") || a.FormatVersion != FormatVersion {
		t.Fatalf("version %q, format %d", a.Version, a.FormatVersion)
	}
	b, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip changed the artifact:\nwrote %+v\nread  %+v", a, b)
	}
	// The read artifact scores exactly like the written one.
	sa, err := NewScorer(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := NewScorer(b)
	if err != nil {
		t.Fatal(err)
	}
	var pa, pb Prediction
	sa.Predict([]float64{0.7, 90, 0}, []string{"", "", "offline"}, &pa)
	sb.Predict([]float64{0.7, 90, 0}, []string{"", "", "offline"}, &pb)
	if !reflect.DeepEqual(pa, pb) {
		t.Fatalf("predictions differ: %+v vs %+v", pa, pb)
	}
	// Marshal is deterministic: the same artifact gives the same bytes.
	m1, err := Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m1, m2) {
		t.Fatal("marshalling the read artifact gave different bytes")
	}
}

// TestArtifactRefused corrupts and replaces a valid file in every way a
// file can go wrong; each must be refused with ErrInvalid and a message
// that says what is wrong.
func TestArtifactRefused(t *testing.T) {
	good, err := Marshal(fileArtifact())
	if err != nil {
		t.Fatal(err)
	}
	header, body, _ := bytes.Cut(good, []byte("\n"))
	sumLine, json, _ := bytes.Cut(body, []byte("\n"))
	rehash := func(j []byte) []byte { // a body edited, with a matching checksum
		return append(append(bytes.Clone(header), '\n'), withSum(j)...)
	}
	flip := func(b []byte, at int) []byte {
		c := bytes.Clone(b)
		c[at] ^= 0x20
		return c
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "not a duewise model file"},
		{"foreign file (a CSV)", []byte("customer_id,p_90d\nC1,0.2\n"), "not a duewise model file"},
		{"foreign file (JSON)", json, "not a duewise model file"},
		{"newer format version", append([]byte("duewise-model 99\n"), body...), "format version 99; this build reads version 1"},
		{"format version not a number", append([]byte("duewise-model x\n"), body...), `format version "x" is not a number`},
		{"no checksum line", append(append(bytes.Clone(header), '\n'), json...), "missing or malformed checksum line"},
		{"truncated", good[:len(good)-10], "checksum mismatch"},
		{"one bit flipped in the weights", flip(good, len(good)-len(json)/2), "checksum mismatch"},
		{"checksum edited", append(append(append(bytes.Clone(header), '\n'), flip(sumLine, 10)...), append([]byte("\n"), json...)...), "checksum mismatch"},
		{"trailing garbage", append(bytes.Clone(good), "\nextra"...), "checksum mismatch"},
		{"valid checksum, unknown field", rehash(bytes.Replace(json, []byte(`"kind":`), []byte(`"colour":"red","kind":`), 1)), `unknown field "colour"`},
		{"valid checksum, truncated JSON", rehash(json[:len(json)-5]), "decode: unexpected EOF"},
		{"valid checksum, wrong layer width", rehash(bytes.Replace(json, []byte(`"in":5`), []byte(`"in":4`), 1)), "layers[0].in = 4: want 5"},
		{"valid checksum, bad grid", rehash(bytes.Replace(json, []byte(`"grid":[0,30`), []byte(`"grid":[0,31`), 1)), "horizon 30 is not a boundary"},
		{"valid checksum, format_version mismatch", rehash(bytes.Replace(json, []byte(`"format_version":1`), []byte(`"format_version":2`), 1)), "body format_version 2, header 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.model")
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			a, err := Read(path)
			if err == nil {
				t.Fatalf("accepted: %+v", a)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q: want it to name %s and contain %q", err, path, tt.want)
			}
		})
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing.model")); err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want a not-exist error", err)
	}
}

// withSum prefixes a JSON body with its checksum line.
func withSum(body []byte) []byte {
	sum := sha256.Sum256(body)
	return append([]byte("sha256 "+hex.EncodeToString(sum[:])+"\n"), body...)
}

func TestWriteRefusesInvalid(t *testing.T) {
	a := fileArtifact()
	a.Layers[0].B = a.Layers[0].B[:1]
	path := filepath.Join(t.TempDir(), "bad.model")
	err := Write(path, a)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "layers[0].b has 1 biases: want out = 3") {
		t.Fatalf("Write of an invalid artifact: %v", err)
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
		t.Fatal("an invalid artifact was written")
	}
}
