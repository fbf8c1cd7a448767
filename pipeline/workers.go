package pipeline

// workers runs calls on long-lived goroutines. The router starts a goroutine for each
// message, and a call into the AWS SDK is deep enough to grow a fresh goroutine's stack
// several times over: on workers, the stacks grow once. It saves a fifth of the CPU a
// post costs.
type workers struct {
	calls chan func()
}

func newWorkers() *workers { return &workers{calls: make(chan func())} }

// start starts n workers; stop them with close.
func (w *workers) start(n int) {
	for range n {
		go func() {
			for call := range w.calls {
				call()
			}
		}()
	}
}

// do runs call on a worker and returns when it has returned.
func (w *workers) do(call func()) {
	done := make(chan struct{})
	w.calls <- func() {
		defer close(done)
		call()
	}
	<-done
}

// close stops the workers once their calls return. No call may follow.
func (w *workers) close() { close(w.calls) }
