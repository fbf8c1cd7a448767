package replay

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Outcome is what became of one message a send took: it says whether the message left
// the poison queue, and why.
type Outcome string

// The outcomes of a send, in the order its summary lists them.
const (
	// Delivered: the gateway took the frame (a request: at least one of its frames);
	// the message is removed from the poison queue.
	Delivered Outcome = "delivered"
	// Pruned: the connection is gone (the gateway answered 410 for a connection older
	// than PRUNE_GRACE); its row was deleted and the message removed.
	Pruned Outcome = "pruned"
	// Connecting: the gateway answered 410 for a connection stored less than
	// PRUNE_GRACE ago, still in $connect; the message stays parked, to be replayed
	// again once the client is connected.
	Connecting Outcome = "connecting"
	// ParkedAgain: it failed again and is back in the poison queue as a new message,
	// with its attempts counted on and its new reason; the old copy is removed.
	ParkedAgain Outcome = "parked again"
	// Failed: it could not be replayed, or re-parked, or removed once replayed; it is
	// still in the poison queue, and the log says why.
	Failed Outcome = "failed"
	// NoConnection: a request that reached no connection (none of its users or
	// topics' subscribers is connected); settled, and removed, as the live pipeline
	// would have.
	NoConnection Outcome = "no connection"
	// Requeued: handed back to a queue whose reader delivers it (--to queue, or a
	// broadcast split into tasks for the fleet); removed.
	Requeued Outcome = "requeued"
)

// meanings says what each outcome means, one line each, in summary order.
var meanings = []struct {
	o       Outcome
	meaning string
	always  bool // listed even at 0: the five an operator checks after every send
}{
	{Delivered, "the gateway took it: removed from the poison queue", true},
	{Pruned, "the connection is gone (410): its row deleted, the message removed", true},
	{Connecting, "the connection is still in $connect (410 within PRUNE_GRACE): kept parked, replay it again in a minute", true},
	{ParkedAgain, "failed again: back in the poison queue as a new message with its new reason", true},
	{Failed, "could not be replayed, re-parked or removed: still in the poison queue, the log says why", true},
	{NoConnection, "a request none of whose users or subscribers is connected: settled, removed", false},
	{Requeued, "sent back to the notifications queue (or split into tasks): removed", false},
}

// Classify tells the outcome of a message whose replay settled with stats. Something
// parked again wins (the new copy holds what failed), then a delivery; a message of
// which nothing was delivered but some connection is still connecting stays parked
// whole, so that it reaches that connection once connected.
func Classify(stats pipeline.Stats) Outcome {
	switch {
	case stats.Failed > 0:
		return ParkedAgain
	case stats.Delivered > 0:
		return Delivered
	case stats.Split > 0:
		return Requeued
	case stats.Connecting > 0:
		return Connecting
	case stats.Pruned > 0:
		return Pruned
	}
	return NoConnection
}

// Leaves tells whether a message of outcome o left the poison queue (or, parked
// again, was replaced there by its new copy).
func (o Outcome) Leaves() bool { return o != Connecting && o != Failed }

// WriteSummary writes what a send did as an operator reads it: how many were
// selected, then one line per outcome with what it means, and the messages skipped or
// left by a cancel, if any.
func WriteSummary(w io.Writer, rep Report) error {
	fmt.Fprintf(w, "selected %d\n", rep.Selected)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, m := range meanings {
		if n := rep.Count(m.o); n > 0 || m.always {
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", m.o, n, m.meaning)
		}
	}
	if rep.Skipped > 0 {
		fmt.Fprintf(tw, "  skipped\t%d\t%s\n", rep.Skipped, "not sent: a delivery with --to queue, or a payload truncated to fit the poison queue; still parked")
	}
	if rep.Left > 0 {
		fmt.Fprintf(tw, "  left\t%d\t%s\n", rep.Left, "not reached: the send was stopped; still parked")
	}
	return tw.Flush()
}
