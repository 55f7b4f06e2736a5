package audit

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"math"
	"strconv"
	"time"
)

// row is a Record as stored: reasons and rules as JSON text.
type row struct {
	id, tenant, key, request, kind, customer, version, band, reasons, rules string
	risk                                                                    float64
	at                                                                      int64 // Unix seconds
	shadow                                                                  string
	shadowRisk                                                              float64
}

func newRow(r *Record, now time.Time) row {
	at := r.At
	if at.IsZero() {
		at = now
	}
	return row{tenant: r.Tenant, key: r.KeyID, request: r.RequestID, kind: r.Kind, customer: r.Customer, version: r.ModelVersion,
		band: r.Band, reasons: reasonsJSON(r.Reasons), rules: rulesJSON(r.RulesFired), risk: r.Risk, at: at.Unix(),
		shadow: r.ShadowVersion, shadowRisk: r.ShadowRisk}
}

// reasonsJSON encodes reasons compactly as [{"code":..,"weight":..}].
func reasonsJSON(rs []Reason) string {
	b := make([]byte, 0, 48*len(rs)+2)
	b = append(b, '[')
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(append(b, `{"code":`...), r.Code)
		b = append(b, `,"weight":`...)
		b = strconv.AppendFloat(b, r.Weight, 'g', -1, 64)
		b = append(b, '}')
	}
	return string(append(b, ']'))
}

// rulesJSON encodes rule names as a JSON array ([] rather than null).
func rulesJSON(rs []string) string {
	b := []byte{'['}
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, r)
	}
	return string(append(b, ']'))
}

// appendJSONString appends s as a JSON string: codes and rule names are
// plain ASCII, copied as they are; anything else goes through
// encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

// A spool frame is the length of the payload (uint32, little endian), its
// CRC-32C, and the payload: the row's strings, each with its uvarint
// length, then the risk (float64 bits) and the time (int64); a score with
// a shadow model adds its version (uvarint length and bytes) and its risk
// (float64 bits), so that frames without one keep the first format.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

func (r *row) strings() [10]*string {
	return [10]*string{&r.id, &r.tenant, &r.key, &r.request, &r.kind, &r.customer, &r.version, &r.band, &r.reasons, &r.rules}
}

func appendFrame(b []byte, r *row) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	for _, s := range r.strings() {
		b = binary.AppendUvarint(b, uint64(len(*s)))
		b = append(b, *s...)
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.risk))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.at))
	if r.shadow != "" {
		b = binary.AppendUvarint(b, uint64(len(r.shadow)))
		b = append(b, r.shadow...)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.shadowRisk))
	}
	payload := b[start+8:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(payload, crcTable))
	return b
}

var errTorn = errors.New("torn or corrupt frame")

// readFrame decodes the frame at the start of b and returns the bytes
// after it.
func readFrame(b []byte) (row, []byte, error) {
	var r row
	if len(b) < 8 {
		return r, nil, errTorn
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n > len(b)-8 || crc32.Checksum(b[8:8+n], crcTable) != binary.LittleEndian.Uint32(b[4:]) {
		return r, nil, errTorn
	}
	p, rest := b[8:8+n], b[8+n:]
	for _, s := range r.strings() {
		l, k := binary.Uvarint(p)
		if k <= 0 || l > uint64(len(p)-k) {
			return r, nil, errTorn
		}
		*s, p = string(p[k:k+int(l)]), p[k+int(l):]
	}
	if len(p) < 16 {
		return r, nil, errTorn
	}
	r.risk = math.Float64frombits(binary.LittleEndian.Uint64(p))
	r.at = int64(binary.LittleEndian.Uint64(p[8:]))
	if p = p[16:]; len(p) > 0 {
		l, k := binary.Uvarint(p)
		if k <= 0 || l == 0 || uint64(len(p)-k) != l+8 {
			return r, nil, errTorn
		}
		r.shadow, p = string(p[k:k+int(l)]), p[k+int(l):]
		r.shadowRisk = math.Float64frombits(binary.LittleEndian.Uint64(p))
	}
	return r, rest, nil
}
