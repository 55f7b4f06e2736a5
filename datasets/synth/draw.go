package synth

import "math"

// key is a position in the world's random space. Every draw is a hash of
// a key and a slot, not the next number of a stream: a customer's key
// gives its keys per purpose and month, an invoice's key its draws per
// slot. A draw therefore never depends on how many draws came before it,
// so that one policy's actions (a reminder sent, a plan agreed) shift no
// other draw, and every policy meets the same customers, life events and
// draws (common random numbers). SplitMix64's finaliser mixes the keys;
// it passes BigCrush as a hash of consecutive integers.
type key uint64

const golden = 0x9E3779B97F4A7C15

// mix is SplitMix64's finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	return x ^ x>>31
}

// at returns the key of a sub-space (a purpose, a month, an invoice).
func (k key) at(salt uint64) key { return key(mix(uint64(k) ^ mix(salt+golden))) }

// bits returns the 64 random bits of slot.
func (k key) bits(slot uint64) uint64 { return mix(uint64(k) + (slot+1)*golden) }

// u returns a uniform draw in [0, 1) for slot.
func (k key) u(slot uint64) float64 { return float64(k.bits(slot)>>11) / (1 << 53) }

// chance reports a draw below p.
func (k key) chance(slot uint64, p float64) bool { return k.u(slot) < p }

// n returns a uniform integer in [lo, hi].
func (k key) n(slot uint64, lo, hi int) int { return lo + int(k.u(slot)*float64(hi-lo+1)) }

// pick returns index i with probability weights[i] (weights sum to 1).
func (k key) pick(slot uint64, weights []float64) int {
	u := k.u(slot)
	for i, w := range weights {
		if u < w {
			return i
		}
		u -= w
	}
	return len(weights) - 1
}

// norm returns a standard normal draw (Box-Muller on slots slot and
// slot+1).
func (k key) norm(slot uint64) float64 {
	u1 := 1 - k.u(slot) // (0, 1]
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*k.u(slot+1))
}

// Purposes of a customer's keys.
const (
	purposeProfile = iota + 1
	purposeState
	purposeNoise
	purposeLeave
	purposeInvoice
	purposeClock
	purposeDecision
	purposeLife
)
