package model

import "math"

// EncodedWidth returns the number of network inputs that fs encode to: one
// per numeric feature plus one more for each of its NULL and zero
// indicators, and one per category of each categorical feature. It is safe
// for concurrent use.
func EncodedWidth(fs []Feature) int {
	w := 0
	for i := range fs {
		w += fs[i].width()
	}
	return w
}

// width is the number of encoded inputs of f.
func (f *Feature) width() int {
	switch f.Type {
	case Categorical:
		return len(f.Categories)
	default:
		w := 1
		if f.NullIndicator {
			w++
		}
		if f.ZeroIndicator {
			w++
		}
		return w
	}
}

// Encode writes the network input of one row into dst, which must have
// EncodedWidth(fs) entries. num and cat are indexed by feature position:
// num[i] is the value of numeric feature i (NaN = NULL; ±Inf is treated
// as NULL too) and cat[i] the value
// of categorical feature i; entries at the other positions are ignored, and
// either slice may be nil when no feature is of its type. A numeric value
// becomes (x-Mean)/Std (Std <= 0 counts as 1; x first raised to Floor
// or lowered to Ceiling when it lies beyond them), or 0 when NULL (or zero with ZeroAsNull), followed by
// 1/0 for NULL/present when the feature has a NULL indicator and 1/0 for
// zero/not zero when it has a zero indicator; a categorical
// value becomes a one-hot block over Categories, all zeros when the value is
// unknown or empty. Encode does not allocate and is safe for concurrent use.
func Encode(fs []Feature, num []float64, cat []string, dst []float32) {
	off := 0
	for i := range fs {
		f := &fs[i]
		if f.Type == Categorical {
			block := dst[off : off+len(f.Categories)]
			clear(block)
			if v := cat[i]; v != "" {
				for j, c := range f.Categories {
					if c == v {
						block[j] = 1
						break
					}
				}
			}
			off += len(block)
			continue
		}
		off += EncodeNumeric(f, num[i], dst[off:])
	}
	if off != len(dst) {
		panic("model: Encode: dst has the wrong width")
	}
}

// EncodeNumeric writes numeric feature f's encoding of v (NaN = NULL) at
// dst[0:], as Encode does (a NULL of a feature with NullAs encodes as its
// Ceiling or Floor), and returns the number of inputs written. Safe for
// concurrent use.
func EncodeNumeric(f *Feature, v float64, dst []float32) int {
	null := math.IsNaN(v) || math.IsInf(v, 0) || (f.ZeroAsNull && v == 0)
	if null && f.NullAs != "" {
		// NULL means never: the safe end of the order (validated present).
		switch {
		case f.NullAs == NullAsCeiling:
			v = *f.Ceiling
		case f.ZeroIndicator:
			v = 0 // the lowest value
		default:
			v = *f.Floor
		}
		null = false
	}
	zero := !null && v == 0
	if null {
		dst[0] = 0
	} else {
		std := f.Std
		if !(std > 0) {
			std = 1
		}
		if f.Floor != nil && v < *f.Floor {
			v = *f.Floor
		}
		if f.Ceiling != nil && v > *f.Ceiling {
			v = *f.Ceiling
		}
		if f.Log {
			v = math.Copysign(math.Log1p(math.Abs(v)), v)
		}
		dst[0] = float32((v - f.Mean) / std)
	}
	n := 1
	if f.NullIndicator {
		dst[n] = flag(null)
		n++
	}
	if f.ZeroIndicator {
		dst[n] = flag(zero)
		n++
	}
	return n
}

// flag is 1 for true and 0 for false.
func flag(b bool) float32 {
	if b {
		return 1
	}
	return 0
}
