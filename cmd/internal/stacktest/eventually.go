package stacktest

import (
	"testing"
	"time"
)

// Eventually polls cond until it holds, failing the test after 15s.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, 15*time.Second, what, cond)
}

// EventuallyWithin polls cond until it holds, failing the test after limit.
func EventuallyWithin(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
