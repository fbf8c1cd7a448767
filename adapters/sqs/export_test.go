package sqs

// Queued returns how many parks wait for a batch to be sent, for tests that need parks
// in one batch.
func (q *PoisonQueue) Queued() int {
	q.batches.mu.Lock()
	defer q.batches.mu.Unlock()
	return len(q.batches.queue)
}
