// Package pipeline runs the stages of package handlers as a Watermill pipeline.
//
// Two routers carry the work. The source router admits notification requests from
// pluggable subscribers (the dev intake, SQS, SNS) and acknowledges each one only once
// every message derived from it is settled: delivered, pruned, or parked in the poison
// queue. The stage router chains the stages over in-process topics:
//
//	requests → decode → dedupe → resolve → fanout → post → prune
//
// Every stage runs behind the same middleware: a concurrency bound, settlement
// tracking, the poison queue, retries with exponential backoff and jitter for the
// errors that can pass, and panic recovery. Users insert their own stages between
// two built-in ones with Pipeline.Insert.
package pipeline
