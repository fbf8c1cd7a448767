package pipeline

import (
	"cmp"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// middleware returns the chain every stage runs behind, outermost first (see the
// package documentation). Each middleware has a file of its own: postworkers.go,
// forward.go, poison.go, annotate.go, retry.go, stalls.go, breaker.go, attempts.go,
// ended.go. The post stage's chain runs on long-lived workers (see workers).
//
// The order is the reliability design: forward runs outside the poison queue, so that a
// parked message is settled; the poison queue outside the retries, so that it parks
// only what they gave up on; the middleware of Use innermost, around the stage's
// handler alone, so that each attempt runs through it and the recoverer catches a
// panic in it.
func (p *Pipeline) middleware(s routerStage, in, next string) ([]message.HandlerMiddleware, error) {
	poison, err := p.poisonQueue()
	if err != nil {
		return nil, err
	}
	var chain []message.HandlerMiddleware
	if s.name == StagePost {
		chain = append(chain, newWorkers(cmp.Or(s.concurrency, p.cfg.StageConcurrency), p.work).middleware)
	}
	chain = append(chain,
		middleware.InstantAck,
		p.forward(s, in, next),
		poison,
		annotate,
		p.retry(s),
	)
	if s.resumable {
		chain = append(chain, countStalls)
	}
	if s.name == StagePost && !p.cfg.Breaker.Disabled {
		chain = append(chain, p.breaker())
	}
	chain = append(chain, countAttempts, markEnded, middleware.Recoverer)
	return append(chain, p.extra...), nil
}
