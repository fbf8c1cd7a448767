package pipeline

import (
	"math"
	"testing"
	"time"
)

func TestPacerAdapts(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	// step is what the gateway answered posts from at (after t0) on: n posts, one every
	// every apart, throttled or passed.
	type step struct {
		at        time.Duration
		throttled bool
		n         int // 1 if 0
		every     time.Duration
	}
	cut := func(at time.Duration) step { return step{at: at, throttled: true} }
	tests := []struct {
		name  string
		steps []step
		want  float64
	}{
		{name: "a 429 cuts the rate by 0.7", steps: []step{cut(0)}, want: 700},
		{name: "429s within the cooldown cut once", steps: []step{cut(0), cut(100 * time.Millisecond), cut(499 * time.Millisecond)}, want: 700},
		{name: "a 429 after the cooldown cuts again", steps: []step{cut(0), cut(500 * time.Millisecond)}, want: 490},
		{name: "never under a fiftieth of the setting", steps: []step{
			cut(0), cut(time.Second), cut(2 * time.Second), cut(3 * time.Second), cut(4 * time.Second), cut(5 * time.Second),
			cut(6 * time.Second), cut(7 * time.Second), cut(8 * time.Second), cut(9 * time.Second), cut(10 * time.Second),
			cut(11 * time.Second),
		}, want: 20},
		// A second of posts at the rate adds about a twentieth of the setting: 19 rises
		// of 35 posts each (the 20th is due at the next post).
		{name: "posts that pass raise it back slowly", steps: []step{
			cut(0), {at: time.Second, n: 700, every: time.Second / 700},
		}, want: 747},
		{name: "posts at one instant raise it once", steps: []step{
			cut(0), {at: time.Second, n: 700},
		}, want: 700 + 50.0/700},
		{name: "passes before a cut raise it no more", steps: []step{
			cut(0), {at: time.Second, n: 20, every: time.Millisecond}, cut(2 * time.Second), {at: 2100 * time.Millisecond},
		}, want: 490 + 50.0/490},
		{name: "never above the setting", steps: []step{
			cut(0), {at: time.Second, n: 20_000, every: time.Millisecond},
		}, want: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var told []float64
			p := newPacer(PaceConfig{Rate: 1000}, func(r float64) { told = append(told, r) })
			for _, s := range tt.steps {
				for i := range max(s.n, 1) {
					p.now = func() time.Time { return t0.Add(s.at + time.Duration(i)*s.every) }
					if s.throttled {
						p.throttled()
					} else {
						p.passed()
					}
				}
			}
			if got := p.current(); math.Abs(got-tt.want) > 1 {
				t.Errorf("rate = %.1f, want %.1f", got, tt.want)
			}
			if got := float64(p.limit.Limit()); got != p.current() {
				t.Errorf("the bucket's rate is %.1f, the pacer's %.1f", got, p.current())
			}
			if len(told) == 0 || told[len(told)-1] != p.current() {
				t.Errorf("the observer was last told %v, the rate is %.1f", told, p.current())
			}
		})
	}
}

func TestPacerBurst(t *testing.T) {
	tests := []struct {
		c    PaceConfig
		want int
	}{
		{PaceConfig{Rate: 2000}, 100},
		{PaceConfig{Rate: 10}, 1},
		{PaceConfig{Rate: 0.5}, 1},
		{PaceConfig{Rate: 2000, Burst: 7}, 7},
	}
	for _, tt := range tests {
		if got := newPacer(tt.c, nil).limit.Burst(); got != tt.want {
			t.Errorf("burst of %+v = %d, want %d", tt.c, got, tt.want)
		}
	}
	if newPacer(PaceConfig{}, nil) != nil {
		t.Error("a pacer without a rate, want none: posts unpaced")
	}
}
