package app

import (
	"context"
	"sync"
	"time"
)

// MemoryCounter is a Counter in memory, for one process: cmd/counter beside `pusher dev`.
// Its value starts at zero and is lost when the process ends; its Epoch, the time it
// started, tells the pages that its Seq counts from zero again.
type MemoryCounter struct {
	mu    sync.Mutex
	state State
}

// NewMemoryCounter returns a counter at zero, of the epoch now in Unix milliseconds.
func NewMemoryCounter() *MemoryCounter {
	return &MemoryCounter{state: State{Epoch: time.Now().UnixMilli()}}
}

// Add moves the value by delta and bumps Seq under one lock, so that concurrent clicks
// neither lose an increment nor share a Seq.
func (c *MemoryCounter) Add(_ context.Context, delta int64) (State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state.Value += delta
	c.state.Seq++
	return c.state, nil
}

// Get returns the current state.
func (c *MemoryCounter) Get(context.Context) (State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state, nil
}
