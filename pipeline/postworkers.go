package pipeline

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// workers run a stage's middleware chain on goroutines that live as long as the
// pipeline. Watermill's router runs each message on a goroutine of its own, which starts
// with a small stack, and the chain is deep: growing the stack copied it once or twice a
// message, 8% of a broadcast's CPU in BenchmarkBroadcast's profile. A worker grows its
// stack once. The post stage, one message a delivery, runs on them; there are at most
// as many as its messages in flight, started as needed.
type workers struct {
	// jobs hands a message to an idle worker; a worker stops once stop is done.
	jobs chan *job
	stop context.Context
	// slots bounds the workers started.
	slots chan struct{}
	pool  sync.Pool
}

// job is one message to run through a chain, and what the chain returned.
type job struct {
	h    message.HandlerFunc
	msg  *message.Message
	out  []*message.Message
	err  error
	done chan struct{}
}

func newWorkers(max int, stop context.Context) *workers {
	w := &workers{jobs: make(chan *job), stop: stop, slots: make(chan struct{}, max)}
	w.pool.New = func() any { return &job{done: make(chan struct{}, 1)} }
	return w
}

// middleware runs the chain below it on a worker, and waits for it.
func (w *workers) middleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		j := w.pool.Get().(*job)
		j.h, j.msg = h, msg
		select {
		case w.jobs <- j: // an idle worker took it
		default:
			select {
			case w.slots <- struct{}{}:
				go w.work(j)
			case w.jobs <- j:
			case <-w.stop.Done(): // the workers stopped with the pipeline: run it here
				w.run(j)
			}
		}
		<-j.done
		out, err := j.out, j.err
		*j = job{done: j.done}
		w.pool.Put(j)
		return out, err
	}
}

// work runs first, then the jobs handed to it until the pipeline stops.
func (w *workers) work(first *job) {
	for j := first; ; {
		w.run(j)
		select {
		case j = <-w.jobs:
		case <-w.stop.Done():
			return
		}
	}
}

// run runs j's chain. The chain recovers its own panics (forward, Recoverer); one that
// escapes it is returned as Watermill's Recoverer would, rather than end the process.
func (w *workers) run(j *job) {
	defer func() {
		if r := recover(); r != nil {
			j.out, j.err = nil, fmt.Errorf("worker: %w", middleware.RecoveredPanicError{V: r, Stacktrace: string(debug.Stack())})
		}
		j.done <- struct{}{}
	}()
	j.out, j.err = j.h(j.msg)
}
