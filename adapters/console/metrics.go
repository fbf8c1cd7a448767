package console

import (
	"sync"
	"time"
)

// Sample is what the pipeline did in one second, the `metrics` event.
type Sample struct {
	// T is the start of the second, in Unix milliseconds.
	T int64 `json:"t"`
	// Requests is how many requests settled.
	Requests  int `json:"requests"`
	Delivered int `json:"delivered"`
	Pruned    int `json:"pruned"`
	// Parked is how many messages the pipeline parked.
	Parked int `json:"parked"`
	// Posts is how many post attempts ended, and PostMsAvg and PostMsMax how long they
	// took; both 0 without posts.
	Posts     int     `json:"posts"`
	PostMsAvg float64 `json:"post_ms_avg"`
	PostMsMax float64 `json:"post_ms_max"`
	// Throttled is how many of the post attempts the gateway answered 429
	// (handlers.ErrThrottled): API Gateway's account throttle, or the local gateway's
	// --throttle-rps.
	Throttled int `json:"throttled"`
	// Waits is how many deliveries got their turn to be posted, and WaitMsAvg how long
	// they waited for it on average: for a post slot and, paced, for the rate; 0
	// without.
	Waits     int     `json:"waits"`
	WaitMsAvg float64 `json:"wait_ms_avg"`
	// PostRate is the rate posts were paced to at the second's end, in posts a second,
	// as the pipeline last reported it (lowered on 429s, raised back as posts pass); 0
	// while it has reported none: posts unpaced.
	PostRate float64 `json:"post_rate"`
	// InFlight is how many requests were admitted and not settled at the second's end.
	InFlight int `json:"in_flight"`
}

// meter counts what the pipeline does second by second. It has no goroutine of its
// own: each call first closes the seconds that have passed since the one it counts,
// so that a quiet pipeline still yields a sample a second to whoever asks.
type meter struct {
	mu       sync.Mutex
	now      func() time.Time
	keep     int
	sec      int64 // the Unix second being counted
	cur      Sample
	postSum  time.Duration
	postMax  time.Duration
	waitSum  time.Duration
	inFlight int
	postRate float64
	// history holds the last keep samples, oldest first.
	history []Sample
}

func newMeter(keep int, now func() time.Time) *meter {
	return &meter{now: now, keep: keep, sec: now().Unix(), history: make([]Sample, 0, keep)}
}

// roll closes the seconds before now's. Call it with mu held.
func (m *meter) roll() {
	sec := m.now().Unix()
	if sec <= m.sec {
		return
	}
	m.cur.T = m.sec * 1000
	m.cur.InFlight = m.inFlight
	m.cur.PostRate = m.postRate
	if m.cur.Posts > 0 {
		m.cur.PostMsAvg = ms(m.postSum) / float64(m.cur.Posts)
		m.cur.PostMsMax = ms(m.postMax)
	}
	if m.cur.Waits > 0 {
		m.cur.WaitMsAvg = ms(m.waitSum) / float64(m.cur.Waits)
	}
	m.push(m.cur)
	// The seconds without a call were quiet; more than keep of them leave only quiet ones.
	for s := max(m.sec+1, sec-int64(m.keep)); s < sec; s++ {
		m.push(Sample{T: s * 1000, InFlight: m.inFlight, PostRate: m.postRate})
	}
	m.sec, m.cur, m.postSum, m.postMax, m.waitSum = sec, Sample{}, 0, 0, 0
}

func (m *meter) push(s Sample) {
	if m.keep == 0 {
		return
	}
	if len(m.history) == m.keep {
		m.history = append(m.history[:0], m.history[1:]...)
	}
	m.history = append(m.history, s)
}

// count applies f to the current second's counts.
func (m *meter) count(f func(m *meter)) {
	m.mu.Lock()
	m.roll()
	f(m)
	m.mu.Unlock()
}

// since returns the samples of the seconds past whose T is after t, oldest first.
func (m *meter) since(t int64) []Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roll()
	var out []Sample
	for _, s := range m.history {
		if s.T > t {
			out = append(out, s)
		}
	}
	return out
}

// last returns the samples kept, oldest first, and the T of the last second past.
func (m *meter) last() (samples []Sample, lastT int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roll()
	return append([]Sample(nil), m.history...), (m.sec - 1) * 1000
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
