package app_test

import (
	"sync"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
)

// TestMemoryCounterConcurrent: clicks from many goroutines at once, + and -, lose no
// increment, and each change gets a Seq of its own, 1 to N with no gap.
func TestMemoryCounterConcurrent(t *testing.T) {
	const workers, clicks = 50, 200
	c := app.NewMemoryCounter()
	start, err := c.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	seqs := make([][]int64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			delta := int64(1)
			if w%5 == 0 { // one worker in five clicks -
				delta = -1
			}
			for range clicks {
				s, err := c.Add(t.Context(), delta)
				if err != nil {
					t.Error(err)
					return
				}
				seqs[w] = append(seqs[w], s.Seq)
			}
		})
	}
	wg.Wait()

	plus, minus := int64(workers-workers/5)*clicks, int64(workers/5)*clicks
	want := app.State{Value: plus - minus, Seq: workers * clicks, Epoch: start.Epoch}
	if got, err := c.Get(t.Context()); err != nil || got != want {
		t.Fatalf("Get() = %+v, %v; want %+v", got, err, want)
	}
	seen := make([]bool, workers*clicks+1)
	for w, ss := range seqs {
		for i, s := range ss {
			if s < 1 || s > workers*clicks || seen[s] {
				t.Fatalf("worker %d got seq %d, out of range or given twice", w, s)
			}
			if i > 0 && s <= ss[i-1] {
				t.Fatalf("worker %d got seq %d after %d", w, s, ss[i-1])
			}
			seen[s] = true
		}
	}
}

// TestMemoryCounterEpoch: a counter's epoch is the time it started, in Unix
// milliseconds, and stays with it; a counter started later, as a restarted cmd/counter
// makes, has another, so that the open pages take its states although its seq counts
// from zero again.
func TestMemoryCounterEpoch(t *testing.T) {
	before := time.Now().UnixMilli()
	first := app.NewMemoryCounter()
	after := time.Now().UnixMilli()
	s, err := first.Add(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Epoch < before || s.Epoch > after {
		t.Errorf("epoch %d, want the counter's start, %d to %d", s.Epoch, before, after)
	}
	if got, _ := first.Get(t.Context()); got.Epoch != s.Epoch {
		t.Errorf("Get's epoch %d, Add's %d: want one epoch per counter", got.Epoch, s.Epoch)
	}
	time.Sleep(2 * time.Millisecond) // a restart takes longer than that
	restarted, err := app.NewMemoryCounter().Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if restarted.Seq != 0 || restarted.Epoch <= s.Epoch {
		t.Errorf("a counter started later is at %+v, want seq 0 of an epoch after %d", restarted, s.Epoch)
	}
}
