package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a token bucket per key (golang.org/x/time/rate): each key may
// make Rate requests per second on average with bursts of Burst. Keys are
// API key ids, or client addresses for failed authentications; the buckets
// of idle keys are dropped when there are many, so that a stream of new
// addresses cannot grow it without bound. Safe for concurrent use.
type Limiter struct {
	rate  rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// maxIdleBuckets is how many buckets a Limiter keeps before it drops the
// full (idle) ones.
const maxIdleBuckets = 4096

// NewLimiter returns a limiter of rate requests per second and burst;
// rate <= 0 disables limiting. now is the clock (nil = time.Now).
func NewLimiter(perSecond float64, burst int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: rate.Limit(perSecond), burst: max(1, burst), now: now, buckets: map[string]*rate.Limiter{}}
}

// Allow takes a token for key; when none is left it returns false and how
// long until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	r := l.bucket(key, now).ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Blocked reports whether key has no token left, without taking one, and
// how long until it has.
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	if l.rate <= 0 {
		return false, 0
	}
	now := l.now()
	l.mu.Lock()
	b := l.buckets[key]
	l.mu.Unlock()
	if b == nil {
		return false, 0
	}
	if t := b.TokensAt(now); t < 1 {
		return true, time.Duration((1 - t) / float64(l.rate) * float64(time.Second))
	}
	return false, 0
}

func (l *Limiter) bucket(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxIdleBuckets {
			for k, o := range l.buckets {
				if o.TokensAt(now) >= float64(l.burst) {
					delete(l.buckets, k)
				}
			}
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[key] = b
	}
	return b
}
