package pipeline

import (
	"math"
	"testing"
	"time"
)

func TestPacerAdapts(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	type step struct {
		at        time.Duration // after t0
		throttled bool          // else passed
		n         int           // posts of the step; 1 if 0
	}
	tests := []struct {
		name  string
		steps []step
		want  float64
	}{
		{name: "a 429 cuts the rate by 0.7", steps: []step{{throttled: true}}, want: 700},
		{name: "429s within the cooldown cut once", steps: []step{
			{throttled: true}, {at: 100 * time.Millisecond, throttled: true}, {at: 499 * time.Millisecond, throttled: true},
		}, want: 700},
		{name: "a 429 after the cooldown cuts again", steps: []step{
			{throttled: true}, {at: 500 * time.Millisecond, throttled: true},
		}, want: 490},
		{name: "never under a fiftieth of the setting", steps: []step{
			{throttled: true}, {at: 1 * time.Second, throttled: true}, {at: 2 * time.Second, throttled: true},
			{at: 3 * time.Second, throttled: true}, {at: 4 * time.Second, throttled: true}, {at: 5 * time.Second, throttled: true},
			{at: 6 * time.Second, throttled: true}, {at: 7 * time.Second, throttled: true}, {at: 8 * time.Second, throttled: true},
			{at: 9 * time.Second, throttled: true}, {at: 10 * time.Second, throttled: true}, {at: 11 * time.Second, throttled: true},
		}, want: 20},
		// A second of posts at the rate adds about a twentieth of the setting (a
		// little less, as each post adds less once the rate has grown).
		{name: "posts that pass raise it back slowly", steps: []step{
			{throttled: true}, {at: time.Second, n: 700},
		}, want: 748.3},
		{name: "never above the setting", steps: []step{{n: 5000}}, want: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var told []float64
			p := newPacer(PaceConfig{Rate: 1000}, func(r float64) { told = append(told, r) })
			for _, s := range tt.steps {
				for range max(s.n, 1) {
					if s.throttled {
						p.throttled(t0.Add(s.at))
					} else {
						p.passed(t0.Add(s.at))
					}
				}
			}
			if got := p.current(); math.Abs(got-tt.want) > 1 {
				t.Errorf("rate = %.1f, want %.1f", got, tt.want)
			}
			if got := float64(p.limit.Limit()); got != p.current() {
				t.Errorf("the bucket's rate is %.1f, the pacer's %.1f", got, p.current())
			}
			if len(told) > 0 && told[len(told)-1] != p.current() {
				t.Errorf("the observer was last told %.1f, the rate is %.1f", told[len(told)-1], p.current())
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
