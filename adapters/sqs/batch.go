package sqs

import (
	"cmp"
	"context"
	"sync"
	"time"
)

// batcher merges the items of concurrent calls into batches. A call queues its items
// and waits for their results. When no batch is being sent, the call starts a sender
// at once, so an item alone goes out without delay; while one is in flight, the items
// that arrive queue up and go out together in the next batch. Under load, when a whole
// batch is waiting, more senders start, up to maxInFlight.
//
// It is the idea of adapters/dynamodb's pruneQueue, with a result per item (a batch
// call can fail some of its entries and not others), a size bound besides the count,
// and several batches in flight.
type batcher[T any] struct {
	maxItems    int
	maxBytes    int
	maxInFlight int
	timeout     time.Duration
	// life, when set, ends every batch's call when it ends.
	life context.Context
	// send sends one batch and returns one result per item, in order.
	send func(ctx context.Context, items []T) []error

	mu      sync.Mutex
	queue   []*batchItem[T]
	queued  int // bytes in queue
	senders int
	wg      sync.WaitGroup
}

type batchItem[T any] struct {
	value T
	size  int
	done  chan error
}

// do queues values, whose sizes are given by sizes, and returns their results once
// every one of them was sent. A value larger than maxBytes goes in a batch of its own.
func (b *batcher[T]) do(values []T, sizes []int) []error {
	if len(values) == 0 {
		return nil
	}
	items := make([]*batchItem[T], len(values))
	b.mu.Lock()
	for i, v := range values {
		items[i] = &batchItem[T]{value: v, size: sizes[i], done: make(chan error, 1)}
		b.queue = append(b.queue, items[i])
		b.queued += sizes[i]
	}
	for b.senders < b.maxInFlight && (b.senders == 0 || b.fullBatchWaiting()) {
		b.senders++
		b.wg.Add(1)
		go b.drain()
	}
	b.mu.Unlock()
	errs := make([]error, len(items))
	for i, it := range items {
		errs[i] = <-it.done
	}
	return errs
}

// fullBatchWaiting tells whether the queue holds a full batch for each sender running:
// then one more sends a full batch at once, rather than let it wait.
func (b *batcher[T]) fullBatchWaiting() bool {
	return len(b.queue) >= b.senders*b.maxItems || b.queued >= b.senders*b.maxBytes
}

// drain sends what is queued, a batch at a time, until nothing is.
func (b *batcher[T]) drain() {
	defer b.wg.Done()
	for {
		batch := b.next()
		if len(batch) == 0 {
			return
		}
		values := make([]T, len(batch))
		for i, it := range batch {
			values[i] = it.value
		}
		// One batch serves several callers, so it runs on no caller's context.
		ctx, cancel := context.WithTimeout(cmp.Or(b.life, context.Background()), b.timeout)
		errs := b.send(ctx, values)
		cancel()
		for i, it := range batch {
			it.done <- errs[i]
		}
	}
}

// next takes the next batch off the queue, oldest first: up to maxItems whose sizes add
// up to at most maxBytes, or the first item alone. With none left, the sender stops.
func (b *batcher[T]) next() []*batchItem[T] {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, bytes := 0, 0
	for n < len(b.queue) && n < b.maxItems && (n == 0 || bytes+b.queue[n].size <= b.maxBytes) {
		bytes += b.queue[n].size
		n++
	}
	if n == 0 {
		b.senders--
		return nil
	}
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.queued -= bytes
	return batch
}

// wait waits for the batches in flight and those queued to be sent.
func (b *batcher[T]) wait() { b.wg.Wait() }
