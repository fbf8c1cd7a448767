package pipeline

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// middleware returns the chain every stage runs behind, outermost first:
//
//   - ack at once: an in-process hand-over means nothing once the tracker holds the work;
//   - forward: the messages the stage emits are published to the next one, as the flow
//     of each topic allows, and the tracker learns what was emitted and that the message
//     is settled; then the message's credit on its own topic is given back;
//   - poison: what still fails is parked, with its reason, stage and attempts;
//   - annotate: the error's class and failure times go into the metadata;
//   - retry: transient errors are retried with exponential backoff and jitter;
//   - count: each run is one attempt;
//   - recover: a panic is a permanent error, not a crash.
func (p *Pipeline) middleware(s stage, in, next string) ([]message.HandlerMiddleware, error) {
	poison, err := middleware.PoisonQueueWithFilter(p.poison, p.cfg.PoisonTopic, func(error) bool {
		// Work cut short by a hard stop is not the message's fault: leave it unsettled
		// so its source redelivers it.
		return p.work.Err() == nil
	})
	if err != nil {
		return nil, err
	}
	r := p.cfg.Retry
	retry := middleware.Retry{
		MaxRetries:          r.MaxAttempts - 1,
		InitialInterval:     r.InitialInterval,
		MaxInterval:         r.MaxInterval,
		Multiplier:          r.Multiplier,
		RandomizationFactor: r.Jitter,
		ResetContextOnRetry: true,
		ShouldRetry: func(params middleware.RetryParams) bool {
			return Classify(params.Err) == Transient && p.work.Err() == nil
		},
	}
	return []message.HandlerMiddleware{
		middleware.InstantAck,
		p.forward(s, in, next),
		poison,
		annotate,
		retry.Middleware,
		countAttempts,
		middleware.Recoverer,
	}, nil
}

// forward publishes what the stage emitted to the next stage's topic and reports to the
// tracker what became of the message. It runs outside the poison middleware, so a parked
// message is settled; only work that could neither be done nor parked fails the request.
func (p *Pipeline) forward(s stage, in, next string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			defer p.flow.release(in)
			id := msg.Metadata.Get(RequestIDKey)
			out, err := h(msg)
			if err == nil && len(out) > 0 {
				for _, m := range out {
					carry(msg, m)
				}
				p.tracker.add(id, len(out))
				if sent, perr := p.flow.publish(p.work, next, out...); perr != nil {
					p.tracker.add(id, sent-len(out)) // those sent are in flight and settle themselves
					err = fmt.Errorf("%s: forward: %w", s.name, perr)
				}
			}
			// The poison middleware sets the reason before it publishes: parked only if
			// the publish went through.
			parked := err == nil && msg.Metadata.Get(middleware.ReasonForPoisonedKey) != ""
			p.tracker.settle(id, func(st *Stats) {
				switch {
				case parked:
					st.Failed++
				case err == nil && s.note != nil:
					s.note(st, msg, out)
				}
			}, err)
			if parked {
				p.observers.Parked(s.name, Class(msg.Metadata.Get(ErrorClassKey)))
				p.logger.Warn("message parked", "request_id", id, "stage", s.name,
					"connection_id", msg.Metadata.Get(ConnectionIDKey), "attempts", attempts(msg),
					"error_class", msg.Metadata.Get(ErrorClassKey), "reason", msg.Metadata.Get(middleware.ReasonForPoisonedKey))
			}
			return nil, err
		}
	}
}

// annotate records the class of a failure and when it happened.
func annotate(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err != nil {
			now := time.Now().UTC().Format(time.RFC3339Nano)
			msg.Metadata.Set(ErrorClassKey, string(Classify(err)))
			if msg.Metadata.Get(FirstFailedAtKey) == "" {
				msg.Metadata.Set(FirstFailedAtKey, now)
			}
			msg.Metadata.Set(LastFailedAtKey, now)
		}
		return out, err
	}
}

// countAttempts counts each run of the handler, carrying on the count of a replayed message.
func countAttempts(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		msg.Metadata.Set(AttemptsKey, strconv.Itoa(attempts(msg)+1))
		return h(msg)
	}
}
