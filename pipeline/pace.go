package pipeline

import (
	"cmp"
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The adaptive rate's steps (see PaceConfig): a throttled post cuts the rate by
// paceDecrease, the factor of aws-sdk-go-v2's adaptive retry mode (aws/retry:
// adaptive_ratelimit.go, beta 0.7), at most once per paceCooldown, which lets the posts
// already in flight at the old rate come back before their 429s count again; posts that
// pass add paceIncrease of Rate a second, so a cut of 0.7 is made good in about 6s, and
// the rate never goes under paceFloor of Rate.
const (
	paceDecrease = 0.7
	paceCooldown = 500 * time.Millisecond
	paceIncrease = 0.05
	paceFloor    = 0.02
)

// pacer is the adaptive post rate of a process: a token bucket of
// golang.org/x/time/rate whose rate a throttled post lowers and passing posts raise back
// (see PaceConfig). It is safe for concurrent use.
type pacer struct {
	limit   *rate.Limiter
	max     float64
	changed func(rate float64)

	mu      sync.Mutex
	rate    float64
	lastCut time.Time
}

// newPacer returns the pacer of c, nil when c sets no rate; changed learns each new rate.
func newPacer(c PaceConfig, changed func(rate float64)) *pacer {
	if c.Rate == 0 {
		return nil
	}
	burst := cmp.Or(c.Burst, burstOf(c.Rate))
	return &pacer{limit: rate.NewLimiter(rate.Limit(c.Rate), burst), max: c.Rate, rate: c.Rate, changed: changed}
}

// burstOf returns the default burst of a rate r: a twentieth of it (50ms of posts), at
// least 1.
func burstOf(r float64) int { return max(1, int(math.Ceil(r/20))) }

// take takes a post's token at now and reports whether there was one; if not, it
// returns how long until there is.
func (p *pacer) take(now time.Time) (bool, time.Duration) {
	if p.limit.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - p.limit.TokensAt(now)
	return false, time.Duration(missing / float64(p.limit.Limit()) * float64(time.Second))
}

// wait waits for a post's token, or for ctx to be done.
func (p *pacer) wait(ctx context.Context) error { return p.limit.Wait(ctx) }

// throttled lowers the rate for a post the gateway throttled at now, unless it was
// lowered less than paceCooldown ago.
func (p *pacer) throttled(now time.Time) {
	p.mu.Lock()
	if now.Sub(p.lastCut) < paceCooldown {
		p.mu.Unlock()
		return
	}
	p.lastCut = now
	p.set(now, max(p.rate*paceDecrease, p.max*paceFloor))
}

// passed raises the rate back for a post the gateway took at now.
func (p *pacer) passed(now time.Time) {
	p.mu.Lock()
	if p.rate >= p.max {
		p.mu.Unlock()
		return
	}
	// A post's share of paceIncrease of the setting a second, at the current rate.
	p.set(now, min(p.max, p.rate+p.max*paceIncrease/p.rate))
}

// set makes r the rate from now on, and unlocks p.mu before telling changed, which
// learns the rates in order only as far as it locks itself.
func (p *pacer) set(now time.Time, r float64) {
	p.rate = r
	p.limit.SetLimitAt(now, rate.Limit(r))
	p.mu.Unlock()
	if p.changed != nil {
		p.changed(r)
	}
}

// current returns the rate in use.
func (p *pacer) current() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rate
}
