package pipeline

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// forward publishes what the stage emitted to the next stage's topic and reports to the
// tracker what became of the message. It runs outside the poison middleware, so a parked
// message is settled; only work that could neither be done nor parked fails the request.
//
// A run: drop the work of a request that has ended; run the chain below; publish what
// it emitted (publishEmitted); report whether it was parked, failed or done (report);
// and, whatever happened, panics too, give back its credit and settle it (afterRun).
func (p *Pipeline) forward(s routerStage, in, next string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) (_ []*message.Message, err error) {
			id := msg.Metadata.Get(RequestIDKey)
			var delta Stats
			defer func() { err = p.afterRun(s.name, in, id, delta, err, recover()) }()
			if p.ended(msg) {
				return nil, nil
			}
			out, err := h(msg)
			if err == nil && len(out) > 0 {
				err = p.publishEmitted(s.name, id, msg, next, out)
			}
			if p.ended(msg) {
				return nil, nil
			}
			p.report(s, id, msg, out, err, &delta)
			return nil, err
		}
	}
}

// ended reports whether msg's request has ended (its deadline passed, its caller gave up,
// the pipeline stopped) and, if so, makes sure the tracker reports it unsettled: what its
// messages do from then on counts for nothing, and its source redelivers it.
func (p *Pipeline) ended(msg *message.Message) bool {
	ctx := msg.Context()
	if ctx.Err() == nil {
		return false
	}
	p.tracker.expire(msg.Metadata.Get(RequestIDKey), context.Cause(ctx))
	return true
}

// publishEmitted publishes out, what the stage emitted from msg, to next. The tracker
// counts them in flight before msg settles, so that request id's count cannot reach
// zero while work is left; those the flow could not publish are taken off again.
func (p *Pipeline) publishEmitted(stage, id string, msg *message.Message, next string, out []*message.Message) error {
	followOn(msg, out)
	p.tracker.add(id, len(out))
	sent, err := p.flow.publish(msg.Context(), next, out...)
	if err != nil {
		p.tracker.add(id, sent-len(out)) // those sent are in flight and settle themselves
		return fmt.Errorf("%s: forward: %w", stage, err)
	}
	return nil
}

// followOn readies out, what a stage emitted from msg, for the next stage: each carries
// msg's request and correlation ids (see carry), and msg itself, passed on as it came,
// is replaced by a copy, since the bus hands messages over and msg is still read here.
func followOn(msg *message.Message, out []*message.Message) {
	for i, m := range out {
		if m == msg {
			m = msg.Copy()
			m.SetContext(msg.Context())
			out[i] = m
		}
		carry(msg, m)
	}
}

// report tells the observers and the log what became of msg once the chain below
// returned err: parked by the poison middleware (a failure of the request's Stats),
// neither done nor parked, or done, which the stage's note counts in delta.
func (p *Pipeline) report(s routerStage, id string, msg *message.Message, out []*message.Message, err error, delta *Stats) {
	reason := msg.Metadata.Get(middleware.ReasonForPoisonedKey)
	switch {
	case err == nil && reason != "":
		delta.Failed++
		p.observers.Parked(s.name, Class(msg.Metadata.Get(ErrorClassKey)))
		p.logger.Warn("message parked", "request_id", id, "stage", s.name,
			"connection_id", msg.Metadata.Get(ConnectionIDKey), "attempts", attempts(msg),
			"error_class", msg.Metadata.Get(ErrorClassKey), "reason", reason)
	case err != nil && reason != "":
		p.observers.ParkFailed(s.name, err)
		p.logger.Error("message neither done nor parked", "request_id", id, "stage", s.name,
			"connection_id", msg.Metadata.Get(ConnectionIDKey), "attempts", attempts(msg), "error", err)
	case err == nil && s.note != nil:
		s.note(delta, msg, out)
	}
}

// afterRun ends forward's run of a message of request id, whatever became of it, and
// returns the run's error: a panic anywhere in the chain (panicked, what recover
// returned) is logged and becomes the error, so the message is settled rather than
// lost. It gives back the credit the message took on in, and observes its progress
// before it settles it with the tracker, so that an observer of a settled request has
// seen all of it.
func (p *Pipeline) afterRun(stage, in, id string, delta Stats, err error, panicked any) error {
	if panicked != nil {
		p.logger.Error("panic in a stage's chain", "request_id", id, "stage", stage,
			"panic", fmt.Sprint(panicked), "stack", string(debug.Stack()))
		err = fmt.Errorf("%s: panic outside the stage: %v", stage, panicked)
	}
	if !p.flow.release(in, id) {
		// A stage that changed the message's request id: the credit is lost, and the
		// stage has one fewer from now on.
		p.logger.Error("a settled message gave back no credit: did a stage change its request id?", "request_id", id, "stage", stage)
	}
	p.observers.Progressed(delta)
	p.tracker.settle(id, delta, err)
	return err
}
