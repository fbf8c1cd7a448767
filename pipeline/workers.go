package pipeline

// workers runs calls on long-lived goroutines. The router starts a goroutine for each
// message, and a call into the AWS SDK is deep enough to grow a fresh goroutine's stack
// several times over: on workers, the stacks grow once. BenchmarkPostWorkers measures
// about 7% less of the process's CPU per frame with them.
type workers struct {
	calls chan func()
	stop  chan struct{}
	// inline runs each call on its caller's goroutine instead, for the benchmark that
	// measures what the workers save.
	inline bool
}

func newWorkers() *workers {
	return &workers{calls: make(chan func()), stop: make(chan struct{})}
}

// start starts n workers; stop them with close.
func (w *workers) start(n int) {
	if w.inline {
		return
	}
	for range n {
		go func() {
			for {
				select {
				case call := <-w.calls:
					call()
				case <-w.stop:
					return
				}
			}
		}()
	}
}

// do runs call on a worker and returns when it has returned. Once the workers are
// stopped, it runs call itself.
func (w *workers) do(call func()) {
	if w.inline {
		call()
		return
	}
	done := make(chan struct{})
	select {
	case w.calls <- func() {
		defer close(done)
		call()
	}:
		<-done
	case <-w.stop:
		call()
	}
}

// close stops the workers once their calls return.
func (w *workers) close() { close(w.stop) }
