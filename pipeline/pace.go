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
// the rate never goes under paceFloor of Rate. The rises are applied once per paceStep,
// for all the posts that passed since: setting the bucket's rate on every post would
// contend on its lock, and each setting moves its clock, which a stale time sets back.
const (
	paceDecrease = 0.7
	paceCooldown = 500 * time.Millisecond
	paceIncrease = 0.05
	paceFloor    = 0.02
	paceStep     = 50 * time.Millisecond
)

// pacer is the adaptive post rate of a process: a token bucket of
// golang.org/x/time/rate whose rate a throttled post lowers and passing posts raise back
// (see PaceConfig). It is safe for concurrent use.
type pacer struct {
	limit   *rate.Limiter
	max     float64
	changed func(rate float64)
	now     func() time.Time

	mu       sync.Mutex
	rate     float64
	lastCut  time.Time
	lastRise time.Time
	// passes counts the posts that passed since the last rise.
	passes int
}

// newPacer returns the pacer of c, nil when c sets no rate; changed learns each new rate.
func newPacer(c PaceConfig, changed func(rate float64)) *pacer {
	if c.Rate == 0 {
		return nil
	}
	burst := cmp.Or(c.Burst, burstOf(c.Rate))
	return &pacer{limit: rate.NewLimiter(rate.Limit(c.Rate), burst), max: c.Rate, rate: c.Rate, changed: changed, now: time.Now}
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
func (p *pacer) wait(ctx context.Context) error { return waitFor(ctx, p.limit) }

// waitFor waits for a token of lim, or for ctx to be done. Unlike lim.Wait, it does not
// give up at once when the token comes after ctx's deadline: the work waits as long as
// its request may, and ends with it.
func waitFor(ctx context.Context, lim *rate.Limiter) error {
	r := lim.Reserve()
	d := r.Delay()
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

// throttled lowers the rate for a post the gateway throttled, unless it was lowered
// less than paceCooldown ago. The posts that passed since the last rise, at the rate
// before, raise it no more.
func (p *pacer) throttled() {
	p.mu.Lock()
	// The time is read under the lock: the bucket takes the time of a new rate for
	// its clock, which an earlier time would set back, letting tokens out twice.
	now := p.now()
	if now.Sub(p.lastCut) < paceCooldown {
		p.mu.Unlock()
		return
	}
	p.lastCut, p.passes = now, 0
	r := p.setLocked(now, max(p.rate*paceDecrease, p.max*paceFloor))
	p.mu.Unlock()
	p.tell(r)
}

// passed raises the rate back for a post the gateway took: by its share of
// paceIncrease of the setting a second at the current rate, applied with the others'
// once per paceStep.
func (p *pacer) passed() {
	p.mu.Lock()
	if p.rate >= p.max {
		p.mu.Unlock()
		return
	}
	p.passes++
	now := p.now() // under the lock, as in throttled
	if now.Sub(p.lastRise) < paceStep {
		p.mu.Unlock()
		return
	}
	p.lastRise = now
	r := p.setLocked(now, min(p.max, p.rate+float64(p.passes)*p.max*paceIncrease/p.rate))
	p.passes = 0
	p.mu.Unlock()
	p.tell(r)
}

// setLocked makes r the rate from now on, and returns it. Call it with p.mu held.
func (p *pacer) setLocked(now time.Time, r float64) float64 {
	p.rate = r
	p.limit.SetLimitAt(now, rate.Limit(r))
	return r
}

// tell tells changed of the rate r, outside p.mu: it learns the rates in order only as
// far as it locks itself.
func (p *pacer) tell(r float64) {
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
