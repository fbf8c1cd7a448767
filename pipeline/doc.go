// Package pipeline runs the stages of package handlers as a Watermill pipeline.
//
// # Routers and stages
//
// Two routers carry the work. The source router admits notification requests from
// pluggable subscribers (the dev intake, SQS, SNS), or Process admits them directly (the
// Lambda function), and acknowledges each only once every message derived from it is
// settled: delivered, pruned, or parked in the poison queue. The stage router chains the
// stages over in-process topics:
//
//	requests → decode → dedupe → resolve → fanout → post → prune
//
// Users insert their own stages between two built-in ones with Pipeline.Insert.
//
// # Middleware
//
// Every stage runs behind the same chain, outermost first: an instant ack (the tracker
// holds the work); forward, which publishes what the stage emitted, reports to the
// tracker, drops the work of a request that has ended and turns a panic anywhere below
// into a settled message; Watermill's poison queue, whose parks are retried until the
// request ends; the error's class and times in the metadata; a retry with exponential
// backoff and jitter for transient errors (the pipeline's own: Watermill's read each
// wait twice); on the post stage, a circuit breaker on sony/gobreaker that makes posts
// wait while it is open; the attempt count; Watermill's recoverer.
//
// # Settlement
//
// The tracker counts, per request, the messages in flight: a stage adds what it emits
// before it settles what it took, so the count cannot reach zero while work is left.
// A request is settled when it does; it is unsettled, and its source redelivers it,
// when some message could neither be done nor parked. Its error is an UnsettledError:
// counts by class and a few examples.
//
// # Flow
//
// Each topic has a bounded number of credits (PostConcurrency posts, StageConcurrency
// elsewhere): publishing takes one, settling gives it back. A slow stage holds back the
// ones before it, hand-overs stay asynchronous, and a broadcast streams the store page
// by page, so memory stays flat however many connections there are.
//
// The credits go round the requests in turn, one message each, a request that has had
// none first: a multicast sent during a broadcast waits for the next credit, not behind
// the broadcast's backlog, and two broadcasts share the posts. Resolve and fan-out, whose
// messages hold a credit for a whole broadcast or page, keep a quarter of theirs from
// bulk requests (all but a multicast to a page of users or fewer), and fan-out that
// quarter from any one request.
//
// # Pacing
//
// With Config.Pace, the post stage's credits are handed out at a rate (a token bucket of
// golang.org/x/time/rate), so posts wait for it in their turn. A 429 lowers the rate and
// posts that pass raise it back, never above the setting. A segment task carries its
// share of the fleet's rate (Pace.FleetRate over the tasks of the split) and posts no
// faster, so that a fleet stays under one account's budget.
//
// # Splitting
//
// With SplitTo, the resolve stage splits a broadcast or an exclusion over a store whose
// estimate (handlers.ConnectionCounter) is over Config.Split.Above into segment tasks:
// one request per segment of the store ("segment":{"index":i,"total":n}), put on the
// task queue, the queue the pipeline's sources read, so that every instance or
// invocation reading it takes a share. The request settles once they are all on the
// queue (its Result says Split = n), and each task is a request of its own, with the
// request's correlation id, settled, retried and parked alone; its resolution scans
// its segment (handlers.SegmentScanner). The resolve cursor records the split
// (handlers.SplitState), so a retry enqueues no task twice. Tasks the queue refuses for good are resolved here:
// all of them, by resolving the request as a whole; the rest of a split some of whose
// tasks are on the queue, segment by segment, as is a split replayed on a pipeline with
// no task queue.
//
// # Deadlines
//
// A request's messages carry its context, which ends at RequestTimeout, when the
// caller of Process gives up (the Lambda function's deadline margin) or when the
// pipeline stops. Then its work is cut: not retried, not parked (it is redelivered;
// only a park already being sent then can leave a delivery both parked and
// redelivered), its admission freed at once, and nothing it does later counts.
//
// # Failures
//
// Classify sorts errors once. Permanent ones (a malformed request, a post the gateway
// refuses, a panic) are parked at once; transient ones (throttling, 5xx, timeouts,
// store errors) are retried, then parked. While the breaker is open, after a run of
// posts the gateway failed (5xx, 408, 401/403, no answer), posts wait for it to
// half-open, within their request's deadline, and are not parked for it; the probes it
// then lets through decide whether they go on. The resolve stage counts only the runs
// in a row that got no further: a long broadcast on a throttled table goes on while it
// gets on. A gone connection is no error but a prune, unless it is younger than
// PruneGrace (still in $connect).
package pipeline
