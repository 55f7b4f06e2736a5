package audit

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// TestFrames round-trips spool frames with and without a shadow score; a
// frame of the first format (no shadow) reads as before, and a frame cut
// anywhere is torn.
func TestFrames(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for name, rec := range map[string]Record{
		"plain":  {Tenant: "t", Kind: "behaviour", Customer: "C1", ModelVersion: "behaviour-1", Risk: 0.25, Band: "C", At: at},
		"shadow": {Tenant: "t", Kind: "behaviour", Customer: "C/2", ModelVersion: "behaviour-1", Risk: 0.5, Band: "D", At: at, ShadowVersion: "behaviour-2", ShadowRisk: 0.125},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRow(&rec, time.Now())
			r.id = "id-1"
			b := appendFrame(nil, &r)
			got, rest, err := readFrame(b)
			if err != nil || len(rest) != 0 || got != r {
				t.Fatalf("read %+v, %d left, %v; wrote %+v", got, len(rest), err, r)
			}
			if rec.ShadowVersion == "" {
				// The first format: strings, risk and time, nothing after.
				if string(b[len(b)-16-len(r.rules):len(b)-16]) != r.rules {
					t.Errorf("a frame without a shadow score is not of the first format")
				}
			}
			for cut := 1; cut < len(b); cut++ {
				if _, _, err := readFrame(b[:cut]); err == nil {
					t.Fatalf("a frame cut at %d of %d reads", cut, len(b))
				}
			}
		})
	}
}

func TestRecordIDMatchesFormat(t *testing.T) {
	for _, seq := range []uint64{0, 1, 15, 16, 0xabcdef, 1<<48 - 1, 1 << 48, math.MaxUint64} {
		if got, want := recordID("boot", seq), fmt.Sprintf("%s-%012x", "boot", seq); got != want {
			t.Errorf("recordID(boot, %d) = %q, want %q", seq, got, want)
		}
	}
}
